use std::path::Path;

use serde_json::json;

use crate::cli::{Format, ProfileAddArgs, ProfileCommand};
use iamdb_core::config::{self, Config, Profile, Settings};
use iamdb_core::error::{Error, Result};
use iamdb_core::fsutil;
use iamdb_core::provider;

pub fn run(config_path: Option<&Path>, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::List { format } => list(&Config::load(config_path)?, format),
        ProfileCommand::Show { name, format } => show(&Config::load(config_path)?, &name, format),
        ProfileCommand::Add(args) => add(config_path, args),
        ProfileCommand::Remove { name } => remove(config_path, &name),
    }
}

fn list(config: &Config, format: Format) -> Result<()> {
    let mut rows = Vec::new();
    for name in config.profiles.keys() {
        // A profile that lacks something (say, a user given only by flag) is still listed.
        let s = config.profiles[name].clone().or(&config.defaults);
        rows.push((name.clone(), s));
    }
    match format {
        Format::Json => {
            let items: Vec<_> = rows
                .iter()
                .map(|(name, s)| {
                    json!({
                        "name": name,
                        "engine": s.engine,
                        "host": s.host,
                        "port": s.port.or(s.engine.map(|e| e.default_port())),
                        "user": s.user,
                        "database": s.database,
                    })
                })
                .collect();
            super::print(&format!("{}\n", serde_json::Value::Array(items)))
        }
        Format::Text => {
            if rows.is_empty() {
                eprintln!("iamdb: no profiles in {}", config.path.display());
                return Ok(());
            }
            let mut out = String::new();
            let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(7);
            out.push_str(&format!(
                "{:width$}  {:8}  {:50}  USER\n",
                "PROFILE", "ENGINE", "ENDPOINT"
            ));
            for (name, s) in rows {
                let port = s.port.or(s.engine.map(|e| e.default_port()));
                let endpoint = match (&s.host, port) {
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
            super::print(&out)
        }
    }
}

fn show(config: &Config, name: &str, format: Format) -> Result<()> {
    let profile = config.resolve(Some(name), Settings::default())?;
    let region = provider::static_region(&profile);
    let cache = provider::cache_choice(&profile, provider::CacheMode::Use)?;
    match format {
        Format::Json => {
            let mut doc =
                serde_json::to_value(&profile).map_err(|e| Error::internal(e.to_string()))?;
            doc["region"] = json!(region.as_ref().map(|r| &r.name));
            doc["region_source"] = json!(
                region
                    .as_ref()
                    .map_or("AWS config or environment, when a token is made", |r| r
                        .source
                        .as_str())
            );
            doc["cache"] = json!(cache.as_str());
            doc["config"] = json!(config.path);
            super::print(&format!("{doc}\n"))
        }
        Format::Text => super::print(&describe(
            &profile,
            region.as_ref(),
            cache.as_str(),
            &config.path,
        )),
    }
}

fn describe(
    p: &Profile,
    region: Option<&iamdb_core::credentials::Region>,
    cache: &str,
    path: &Path,
) -> String {
    let mut lines = vec![("profile", p.name.clone().unwrap_or_default())];
    lines.push(("engine", p.engine.map_or("-".into(), |e| e.to_string())));
    lines.push(("host", p.host.clone()));
    lines.push(("port", p.port.to_string()));
    lines.push(("user", p.user.clone()));
    lines.push(("database", p.database.clone().unwrap_or_else(|| "-".into())));
    lines.push((
        "region",
        region.map_or(
            "from AWS config or the environment, when a token is made".into(),
            |r| format!("{} (from {})", r.name, r.source),
        ),
    ));
    lines.push((
        "aws_profile",
        p.aws_profile
            .clone()
            .unwrap_or_else(|| "- (default credential chain)".into()),
    ));
    lines.push((
        "ssl_ca",
        p.ssl_ca
            .as_ref()
            .map_or("- (the Amazon RDS CA bundle)".into(), |c| {
                c.display().to_string()
            }),
    ));
    if p.connect_host.is_some() || p.connect_port.is_some() {
        lines.push((
            "connect",
            format!(
                "{}:{} (tunnel; the token is signed for {}:{})",
                p.connect_host.as_deref().unwrap_or(&p.host),
                p.connect_port.unwrap_or(p.port),
                p.host,
                p.port
            ),
        ));
    }
    lines.push(("refresh_margin", format!("{} s", p.refresh_margin)));
    lines.push(("cache", cache.to_string()));
    lines.push(("config", path.display().to_string()));
    lines.iter().map(|(k, v)| format!("{k:15} {v}\n")).collect()
}

/// Reads the config text for editing: empty when the file does not exist yet.
fn read_for_edit(path: &Path) -> Result<String> {
    match config::read_config(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::config(format!("{}: not UTF-8 text", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(config::read_error(path, &e)),
    }
}

/// Applies `edit` to the config file under a lock and writes the result atomically, after
/// checking that the new text is a valid config.
fn edit_config(
    config_path: Option<&Path>,
    edit: impl FnOnce(&str, &Path) -> Result<String>,
) -> Result<std::path::PathBuf> {
    let (path, _) = config::path(config_path)?;
    fsutil::check_home_owner(&path).map_err(|e| Error::config(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dirs(dir)
            .map_err(|e| Error::config(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _lock = fsutil::edit_lock(&path)
        .map_err(|e| Error::config(format!("cannot lock {}: {e}", path.display())))?;
    let text = read_for_edit(&path)?;
    // Refuse to edit a file that does not load: the edit would hide the problem.
    Config::parse(path.clone(), &text)?;
    let new_text = edit(&text, &path)?;
    Config::parse(path.clone(), &new_text)?;
    fsutil::write_atomic(&path, new_text.as_bytes(), 0o644)
        .map_err(|e| Error::config(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

fn add(config_path: Option<&Path>, args: ProfileAddArgs) -> Result<()> {
    config::check_profile_name(&args.name).map_err(Error::usage)?;
    let mut settings = super::token::flags(&args.endpoint);
    settings.database = args.database;
    settings.ssl_ca = args.ssl_ca.map(|p| std::path::absolute(&p).unwrap_or(p));
    settings.connect_host = args.connect_host;
    settings.connect_port = args.connect_port;
    settings.refresh_margin = args.refresh_margin;
    settings.cache = args.cache;
    config::check_flags(&settings)?;
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
    super::print(&format!(
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
    super::print(&format!(
        "removed profile '{name}' from {}\n",
        path.display()
    ))
}
