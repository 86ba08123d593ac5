//! `iamdb pgpass sync`: fresh tokens in the user's `.pgpass`, inside iamdb's own block.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cli::PgpassCommand;
use crate::clients::postgres;
use crate::config::{Config, Engine, Settings};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::provider::{self, CacheMode};

pub fn run(config_path: Option<&Path>, cmd: PgpassCommand) -> Result<()> {
    match cmd {
        PgpassCommand::Sync { profiles, remove } => sync(config_path, &profiles, remove),
    }
}

/// `PGPASSFILE`, else `~/.pgpass`, as libpq looks for it.
pub fn pgpass_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    dirs::home_dir()
        .map(|h| h.join(".pgpass"))
        .ok_or_else(|| Error::config("cannot find the home directory (HOME is not set)"))
}

fn sync(config_path: Option<&Path>, names: &[String], remove: bool) -> Result<()> {
    let config = Config::load(config_path)?;
    let names: Vec<String> = if names.is_empty() {
        config
            .profiles
            .iter()
            .filter(|(_, s)| s.engine.or(config.defaults.engine) == Some(Engine::Postgres))
            .map(|(n, _)| n.clone())
            .collect()
    } else {
        for n in names {
            config.profile(n)?;
        }
        names.to_vec()
    };
    let mut updates = BTreeMap::new();
    for name in &names {
        if remove {
            updates.insert(name.clone(), None);
            continue;
        }
        let profile = config.resolve(Some(name), Settings::default())?;
        let issued = provider::token_for(&profile, CacheMode::Use)?;
        updates.insert(
            name.clone(),
            Some(postgres::pgpass_line(&profile, &issued.token)),
        );
    }
    let path = pgpass_path()?;
    let target = fsutil::write_target(&path)
        .map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::config(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _lock = fsutil::lock_parent(&target)
        .map_err(|e| Error::config(format!("cannot lock {}: {e}", target.display())))?;
    let text = match std::fs::read(&target) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            Error::config(format!(
                "{} is not UTF-8 text; iamdb leaves it alone",
                target.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Error::config(format!(
                "cannot read {}: {e}",
                target.display()
            )));
        }
    };
    if let Ok(meta) = std::fs::metadata(&target)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "iamdb: warning: {} was readable by others (mode {:o}); it is 0600 now (libpq ignores a looser file)",
            target.display(),
            meta.permissions().mode() & 0o777
        );
    }
    let new_text = postgres::update_pgpass(&text, &updates);
    fsutil::write_atomic_with_mode(&target, new_text.as_bytes(), 0o600)
        .map_err(|e| Error::config(format!("cannot write {}: {e}", target.display())))?;
    let verb = if remove { "removed" } else { "wrote" };
    super::print(&format!(
        "{verb} {} profile{} in {}\n",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        path.display()
    ))
}
