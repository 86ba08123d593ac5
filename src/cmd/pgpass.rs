//! `iamdb pgpass sync` and `iamdb pgservice sync`: libpq's own files, kept fresh, with iamdb
//! touching only what it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::{PgpassCommand, PgserviceCommand, SyncArgs};
use iamdb_core::ca;
use iamdb_core::clients::postgres;
use iamdb_core::config::{Config, Engine, Settings};
use iamdb_core::edit::edit_file;
use iamdb_core::error::{Error, Result};
use iamdb_core::provider::{self, CacheMode};

pub fn run(config_path: Option<&Path>, cmd: PgpassCommand) -> Result<()> {
    let PgpassCommand::Sync(SyncArgs { profiles, remove }) = cmd;
    let config = Config::load(config_path)?;
    let names = selected(&config, &profiles, &[Engine::Postgres])?;
    sync_pgpass(&config, &names, remove)?;
    report(remove, &names, &pgpass_path()?)
}

/// Writes (or removes) the `.pgpass` lines of `names`; returns when the first written token
/// is due for refresh (its expiry less the profile's refresh margin), in Unix seconds.
pub(crate) fn sync_pgpass(config: &Config, names: &[String], remove: bool) -> Result<Option<u64>> {
    let mut updates = BTreeMap::new();
    let mut due: Option<u64> = None;
    for name in names {
        let line = if remove {
            None
        } else {
            let profile = config.resolve(Some(name), Settings::default())?;
            let issued = provider::token_for(&profile, CacheMode::Use)?;
            let at = issued
                .expires_at
                .saturating_sub(u64::from(profile.refresh_margin));
            due = Some(due.map_or(at, |d| d.min(at)));
            let line = postgres::pgpass_line(&profile, &issued.token).map_err(|m| {
                Error::config(format!(
                    "profile '{name}' cannot be written to .pgpass: {m}"
                ))
            })?;
            Some(line)
        };
        updates.insert(name.clone(), line);
    }
    let path = pgpass_path()?;
    let mut warnings = Vec::new();
    edit_file(&path, Some(0o600), |text| {
        let (new_text, w) = postgres::update_pgpass(text, &updates);
        warnings = w;
        Ok(new_text)
    })?;
    for w in warnings {
        eprintln!("iamdb: warning: {}: {w}", path.display());
    }
    Ok(due)
}

pub fn run_service(config_path: Option<&Path>, cmd: PgserviceCommand) -> Result<()> {
    let PgserviceCommand::Sync(SyncArgs { profiles, remove }) = cmd;
    let config = Config::load(config_path)?;
    let names = selected(&config, &profiles, &[Engine::Postgres])?;
    let passfile =
        std::path::absolute(pgpass_path()?).map_err(|e| Error::internal(e.to_string()))?;
    let mut updates = BTreeMap::new();
    for name in &names {
        let section = if remove {
            None
        } else {
            let profile = config.resolve(Some(name), Settings::default())?;
            let ca = ca::for_profile(profile.ssl_ca.as_deref())?;
            let addr = super::exec::hostaddr(&profile)?;
            let section =
                postgres::service_section(&profile, name, &ca, addr.as_deref(), &passfile)
                    .map_err(|m| {
                        Error::config(format!(
                            "profile '{name}' cannot be written to pg_service.conf: {m}"
                        ))
                    })?;
            Some(section)
        };
        updates.insert(name.clone(), section);
    }
    let path = service_path()?;
    edit_file(&path, None, |text| {
        postgres::update_service_file(text, &updates)
            .map_err(|m| Error::config(format!("{}: {m}", path.display())))
    })?;
    report(remove, &names, &path)
}

pub(crate) fn report(remove: bool, names: &[String], path: &Path) -> Result<()> {
    let verb = if remove { "removed" } else { "wrote" };
    let s = if names.len() == 1 { "" } else { "s" };
    super::print(&format!(
        "{verb} {} profile{s} in {}\n",
        names.len(),
        path.display()
    ))
}

/// The profiles named (each checked to exist), or every profile of one of `engines`.
pub(crate) fn selected(
    config: &Config,
    names: &[String],
    engines: &[Engine],
) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(config
            .profiles
            .iter()
            .filter(|(_, s)| {
                s.engine
                    .or(config.defaults.engine)
                    .is_some_and(|e| engines.contains(&e))
            })
            .map(|(n, _)| n.clone())
            .collect());
    }
    for n in names {
        config.profile(n)?;
    }
    Ok(names.to_vec())
}

/// `PGPASSFILE`, else `~/.pgpass`, as libpq looks for it.
pub fn pgpass_path() -> Result<PathBuf> {
    env_or_home("PGPASSFILE", ".pgpass")
}

/// `PGSERVICEFILE`, else `~/.pg_service.conf`, as libpq looks for it.
pub fn service_path() -> Result<PathBuf> {
    env_or_home("PGSERVICEFILE", ".pg_service.conf")
}

fn env_or_home(var: &str, name: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    dirs::home_dir()
        .map(|h| h.join(name))
        .ok_or_else(|| Error::config("cannot find the home directory (HOME is not set)"))
}
