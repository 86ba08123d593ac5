//! `iamdb pgpass sync` and `iamdb pgservice sync`: libpq's own files, kept fresh, with iamdb
//! touching only what it wrote.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::ca;
use crate::cli::{PgpassCommand, PgserviceCommand, SyncArgs};
use crate::clients::postgres;
use crate::config::{Config, Engine, Settings};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::provider::{self, CacheMode};

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
            Some(postgres::pgpass_line(&profile, &issued.token))
        };
        updates.insert(name.clone(), line);
    }
    edit_file(&pgpass_path()?, Some(0o600), |text| {
        Ok(postgres::update_pgpass(text, &updates))
    })?;
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
            Some(postgres::service_section(
                &profile,
                name,
                &ca,
                addr.as_deref(),
                &passfile,
            ))
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

/// Reads, edits and atomically replaces a user's file under a lock, following a symlink to
/// its target. With `private`, the file always ends up with that mode, and a looser one is
/// reported; otherwise it keeps its mode (0644 when new). A program that changes the file
/// while iamdb edits it without taking iamdb's lock (an `echo >> ~/.pgpass`) does not lose
/// its change: iamdb notices before its rename, and reads and edits the file again.
pub(crate) fn edit_file(
    path: &Path,
    private: Option<u32>,
    mut edit: impl FnMut(&str) -> Result<String>,
) -> Result<()> {
    let target = fsutil::write_target(path)
        .map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::config(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _lock = fsutil::lock_parent(&target)
        .map_err(|e| Error::config(format!("cannot lock {}: {e}", target.display())))?;
    for round in 0..50 {
        let (text, read) = read_text(&target, private.is_some())?;
        let new_text = edit(&text)?;
        if let Some(mode) = private
            && round == 0
            && let Ok(meta) = std::fs::metadata(&target)
            && meta.permissions().mode() & 0o777 & !mode != 0
        {
            eprintln!(
                "iamdb: warning: {} was readable by others (mode {:o}); it is {mode:04o} now (libpq ignores a looser file)",
                target.display(),
                meta.permissions().mode() & 0o777
            );
        }
        let written = fsutil::replace_if_unchanged(&target, new_text.as_bytes(), private, &read)
            .map_err(|e| Error::config(format!("cannot write {}: {e}", target.display())))?;
        if written {
            return Ok(());
        }
        tracing::debug!(path = %target.display(), "changed by another program while editing; again");
    }
    Err(Error::config(format!(
        "{} keeps changing under iamdb; not written",
        target.display()
    )))
}

/// The file's text and the fingerprint of the version read. A file that will hold a secret
/// must be a regular file of this user's: iamdb will not write a token into a file someone
/// else owns (and could read), nor through a device or a pipe.
fn read_text(target: &Path, secret: bool) -> Result<(String, fsutil::Fingerprint)> {
    use std::io::Read;
    let file = match std::fs::File::open(target) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((String::new(), fsutil::Fingerprint::of(None)));
        }
        Err(e) => {
            return Err(Error::config(format!(
                "cannot read {}: {e}",
                target.display()
            )));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::config(format!("cannot read {}: {e}", target.display())))?;
    if !meta.is_file() {
        return Err(Error::config(format!(
            "{} is not a regular file; iamdb leaves it alone",
            target.display()
        )));
    }
    if secret {
        use std::os::unix::fs::MetadataExt;
        let uid = fsutil::euid();
        if meta.uid() != uid {
            return Err(Error::config(format!(
                "{} belongs to uid {}, not to this user (uid {uid}); iamdb will not write a token into it",
                target.display(),
                meta.uid()
            )));
        }
    }
    if meta.len() > 16 << 20 {
        return Err(Error::config(format!(
            "{} is {} bytes; iamdb leaves files over 16 MiB alone",
            target.display(),
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&file)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::config(format!("cannot read {}: {e}", target.display())))?;
    // The fingerprint from before the read: a change made while reading shows up at the
    // rename as well, and sends iamdb round again.
    let read = fsutil::Fingerprint::of(Some(&meta));
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::config(format!(
            "{} is not UTF-8 text; iamdb leaves it alone",
            target.display()
        ))
    })?;
    Ok((text, read))
}
