//! `iamdb profile list | show | add | remove`.

use std::path::Path;

use serde_json::json;

use iamdb_core::config::{self, Config, Settings};
use iamdb_core::edit;
use iamdb_core::error::{Error, Result};
use iamdb_core::provider;

use crate::cli::{Format, ProfileAddArgs, ProfileCommand};
use crate::output;

pub fn run(config_path: Option<&Path>, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::List { format } => list(&Config::load(config_path)?, format),
        ProfileCommand::Show { name, format } => show(&Config::load(config_path)?, &name, format),
        ProfileCommand::Add(args) => add(config_path, args),
        ProfileCommand::Remove { name } => remove(config_path, &name),
    }
}

fn list(config: &Config, format: Format) -> Result<()> {
    // A profile that lacks something (say, a user given only by flag) is still listed.
    let rows: Vec<(&String, Settings)> = config
        .profiles
        .iter()
        .map(|(name, s)| (name, s.clone().or(&config.defaults)))
        .collect();
    let port = |s: &Settings| s.port.or(s.engine.map(|e| e.default_port()));
    match format {
        Format::Json => {
            let items: Vec<_> = rows
                .iter()
                .map(|(name, s)| {
                    json!({
                        "name": name,
                        "engine": s.engine,
                        "host": s.host,
                        "port": port(s),
                        "user": s.user,
                        "database": s.database,
                    })
                })
                .collect();
            output::json(&items)
        }
        Format::Text => {
            if rows.is_empty() {
                output::say(&format!("no profiles in {}", config.path.display()));
                return Ok(());
            }
            let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(7);
            let mut out = format!(
                "{:width$}  {:8}  {:50}  USER\n",
                "PROFILE", "ENGINE", "ENDPOINT"
            );
            for (name, s) in &rows {
                let endpoint = match (&s.host, port(s)) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.clone(),
                    _ => "-".into(),
                };
                let engine = s.engine.map_or("-".to_string(), |e| e.to_string());
                out.push_str(&format!(
                    "{name:width$}  {engine:8}  {endpoint:50}  {}\n",
                    s.user.as_deref().unwrap_or("-")
                ));
            }
            output::print(&out)
        }
    }
}

fn show(config: &Config, name: &str, format: Format) -> Result<()> {
    let profile = config.resolve(Some(name), Settings::default())?;
    let region = provider::static_region(&profile);
    let cache = provider::cache_choice(&profile, provider::CacheMode::Use)?;
    let region_source = region
        .as_ref()
        .map_or("AWS config or the environment, when a token is made", |r| {
            r.source.as_str()
        });
    match format {
        Format::Json => {
            let mut doc =
                serde_json::to_value(profile.doc()).map_err(|e| Error::internal(e.to_string()))?;
            doc["region"] = json!(region.as_ref().map(|r| &r.name));
            doc["region_source"] = json!(region_source);
            doc["cache"] = json!(cache.as_str());
            doc["config"] = json!(config.path);
            output::json(&doc)
        }
        Format::Text => {
            let mut rows = vec![("profile", name.to_string())];
            for (key, value) in config::describe(&profile) {
                let value = match key {
                    "region" => match &region {
                        Some(r) => format!("{} (from {})", r.name, r.source),
                        None => value,
                    },
                    "cache" => cache.as_str().to_string(),
                    _ => value,
                };
                rows.push((key, value));
            }
            rows.push(("config", config.path.display().to_string()));
            output::print(
                &rows
                    .iter()
                    .map(|(k, v)| format!("{k:15} {v}\n"))
                    .collect::<String>(),
            )
        }
    }
}

/// Applies `change` to the config file's text, checking that the file loads before and after.
fn edit_config(
    config_path: Option<&Path>,
    change: impl FnOnce(&str, &Path) -> Result<String>,
) -> Result<std::path::PathBuf> {
    let (path, _) = config::path(config_path)?;
    edit::edit_config(&path, |text| {
        // Refuse to edit a file that does not load: the edit would hide the problem.
        Config::parse(path.clone(), text)?;
        let new_text = change(text, &path)?;
        Config::parse(path.clone(), &new_text)?;
        Ok(new_text)
    })?;
    Ok(path)
}

fn add(config_path: Option<&Path>, args: ProfileAddArgs) -> Result<()> {
    config::check_profile_name(&args.name).map_err(Error::usage)?;
    let settings = args.settings.settings()?;
    if settings.host.is_none() {
        return Err(Error::usage("profile add needs --host"));
    }
    let name = args.name.clone();
    let path = edit_config(config_path, |text, path| {
        let new_text = config::add_profile(text, &name, &settings)
            .map_err(|m| Error::config(format!("{}: {m}", path.display())))?;
        // The profile must be usable on its own, with the file's [defaults].
        Config::parse(path.to_path_buf(), &new_text)?.resolve(Some(&name), Settings::default())?;
        Ok(new_text)
    })?;
    output::print(&format!(
        "added profile '{}' to {}\n",
        args.name,
        path.display()
    ))
}

fn remove(config_path: Option<&Path>, name: &str) -> Result<()> {
    let path = edit_config(config_path, |text, path| {
        config::remove_profile(text, name).map_err(|_| {
            Config::parse(path.to_path_buf(), text).map_or_else(|e| e, |c| c.unknown_profile(name))
        })
    })?;
    output::print(&format!(
        "removed profile '{name}' from {}\n",
        path.display()
    ))
}
