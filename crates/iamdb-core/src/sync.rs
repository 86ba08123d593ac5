//! Keeping tokens in the files clients read by themselves: libpq's `.pgpass` (and the
//! `pg_service.conf` sections that point at it), and iamdb's own MySQL option file that
//! `~/.my.cnf` includes. iamdb touches only what it wrote there, under the rules of
//! [`crate::edit`]. `refresh` renews what was synced before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ca;
use crate::clients::mysql::{self, Flavour};
use crate::clients::postgres;
use crate::config::{Config, Profile, Settings};
use crate::diag;
use crate::edit::{edit_file, edit_or_remove};
use crate::engine::Family;
use crate::error::{Error, Result};
use crate::launch;
use crate::provider::{self, CacheMode};

/// What a sync did: the file, the profiles written (or removed), when the first token
/// written is due for renewal (its expiry less its profile's refresh margin, Unix seconds),
/// and the files it removed because nothing but iamdb's own text had been in them.
#[derive(Debug)]
pub struct Synced {
    pub path: PathBuf,
    pub profiles: Vec<String>,
    pub removed: bool,
    pub due: Option<u64>,
    pub deleted: Vec<PathBuf>,
}

/// The profiles named (each checked to exist and not to be of another family), or every
/// profile of `family` (see [`Config::family_of`]).
pub fn select(
    config: &Config,
    names: &[String],
    family: Family,
    what: &str,
) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(config
            .profiles
            .keys()
            .filter(|n| config.family_of(n) == Some(family))
            .cloned()
            .collect());
    }
    for n in names {
        config.profile(n)?;
        if let Some(other) = config.family_of(n).filter(|f| *f != family) {
            return Err(Error::usage(format!(
                "profile '{n}' is a {} profile; {what} is for {} profiles",
                other.describe(),
                family.describe()
            )));
        }
    }
    Ok(names.to_vec())
}

fn earliest(due: &mut Option<u64>, at: u64) {
    *due = Some(due.map_or(at, |d| d.min(at)));
}

/// The token for `profile` and when it is due for renewal.
fn token_due(profile: &Profile) -> Result<(zeroize::Zeroizing<String>, u64)> {
    let issued = provider::token_for(profile, CacheMode::Use)?;
    let due = issued
        .expires_at
        .saturating_sub(u64::from(profile.refresh_margin));
    Ok((zeroize::Zeroizing::new(issued.token.clone()), due))
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

/// iamdb's own option file: `<config dir>/iamdb/my.cnf`, 0600, all groups its own.
pub fn mycnf_path() -> Result<PathBuf> {
    dirs::config_dir()
        .map(|d| d.join("iamdb").join("my.cnf"))
        .ok_or_else(|| Error::config("cannot find the config directory (HOME is not set)"))
}

fn user_mycnf() -> Result<PathBuf> {
    dirs::home_dir()
        .map(|h| h.join(".my.cnf"))
        .ok_or_else(|| Error::config("cannot find the home directory (HOME is not set)"))
}

/// The text of a file iamdb reads to see what it synced ("" when there is none).
fn synced_text(path: &Path) -> Result<String> {
    Ok(crate::fsutil::read_text(path, 16 << 20)
        .map_err(|e| Error::config(format!("cannot read {}: {e}", path.display())))?
        .unwrap_or_default())
}

/// Writes (or removes) the `.pgpass` lines of `names`.
pub fn pgpass(config: &Config, names: &[String], remove: bool) -> Result<Synced> {
    let mut updates = BTreeMap::new();
    let mut due = None;
    for name in names {
        let line = if remove {
            None
        } else {
            let profile = crate::alias::resolve(&config.resolve(Some(name), Settings::default())?)?;
            let (token, at) = token_due(&profile)?;
            earliest(&mut due, at);
            let line = postgres::pgpass_line(&profile, &token).map_err(|m| {
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
    // A .pgpass that held only iamdb's block goes with its last line.
    let gone = edit_or_remove(&path, Some(0o600), |text| {
        let (new_text, w) = postgres::update_pgpass(text, &updates);
        warnings = w;
        Ok(new_text)
    })?;
    for w in warnings {
        diag::warn(format!("{}: {w}", path.display()));
    }
    Ok(Synced {
        deleted: gone.then(|| path.clone()).into_iter().collect(),
        path,
        profiles: names.to_vec(),
        removed: remove,
        due,
    })
}

/// Writes (or removes) the `pg_service.conf` sections of `names`.
pub fn pgservice(config: &Config, names: &[String], remove: bool) -> Result<Synced> {
    let passfile =
        std::path::absolute(pgpass_path()?).map_err(|e| Error::internal(e.to_string()))?;
    let mut updates = BTreeMap::new();
    for name in names {
        let section = if remove {
            None
        } else {
            let profile = crate::alias::resolve(&config.resolve(Some(name), Settings::default())?)?;
            let ca = ca::for_profile(profile.set.ssl_ca.as_deref())?;
            let addr = launch::hostaddr(&profile)?;
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
    let gone = edit_or_remove(&path, None, |text| {
        postgres::update_service_file(text, &updates)
            .map_err(|m| Error::config(format!("{}: {m}", path.display())))
    })?;
    Ok(Synced {
        deleted: gone.then(|| path.clone()).into_iter().collect(),
        path,
        profiles: names.to_vec(),
        removed: remove,
        due: None,
    })
}

/// pgAdmin's `servers.json` for `names` (see [`crate::clients::pgadmin`]): the text, or, with
/// `output`, merged into that file (servers iamdb did not write are kept). `iamdb` is the
/// program pgAdmin runs for passwords, `named_config` the config file to pass it, if any.
pub fn pgadmin(
    config: &Config,
    names: &[String],
    iamdb: &Path,
    named_config: Option<&Path>,
    output: Option<&Path>,
) -> Result<String> {
    use crate::clients::pgadmin;
    let mut servers = Vec::new();
    for name in names {
        let profile = crate::alias::resolve(&config.resolve(Some(name), Settings::default())?)?;
        let ca = ca::for_profile(profile.set.ssl_ca.as_deref())?;
        let addr = launch::hostaddr(&profile)?;
        let command = pgadmin::password_command(iamdb, named_config, name);
        servers.push((
            name.clone(),
            pgadmin::server(&profile, name, &ca, addr.as_deref(), &command),
        ));
    }
    let Some(path) = output else {
        return pgadmin::merge(None, servers).map_err(Error::internal);
    };
    edit_file(path, None, |text| {
        pgadmin::merge(Some(text), servers.clone())
            .map_err(|m| Error::config(format!("{}: {m}", path.display())))
    })?;
    Ok(String::new())
}

/// Splits an option file into its groups: header name and full text.
fn groups(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(name) = line
            .trim()
            .strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
        {
            out.push((name.to_string(), String::new()));
        }
        if let Some(last) = out.last_mut() {
            last.1.push_str(line);
        }
    }
    out
}

/// The profiles whose groups iamdb's option file holds now.
pub fn mycnf_profiles() -> Result<Vec<String>> {
    Ok(groups(&synced_text(&mycnf_path()?)?)
        .into_iter()
        .filter_map(|(g, _)| g.strip_prefix("client_").map(String::from))
        .collect())
}

/// The profiles that have a line in iamdb's `.pgpass` block now.
pub fn pgpass_profiles() -> Result<Vec<String>> {
    Ok(postgres::pgpass_profiles(&synced_text(&pgpass_path()?)?))
}

/// Writes (or removes) the `[client_NAME]` groups of `names` in iamdb's option file, and the
/// `!include` line for it in ~/.my.cnf (added once, removed when no group is left). The
/// option file goes with its last group, and ~/.my.cnf with the include line when nothing
/// else was in it (iamdb created it).
pub fn mycnf(
    config: &Config,
    names: &[String],
    remove: bool,
    flavour: Option<Flavour>,
) -> Result<Synced> {
    let flavour = flavour.unwrap_or_else(|| launch::client_info("mysql").0);
    let mut fresh = Vec::new();
    let mut due = None;
    if !remove {
        for name in names {
            let profile = crate::alias::resolve(&config.resolve(Some(name), Settings::default())?)?;
            let ca = ca::for_profile(profile.set.ssl_ca.as_deref())?;
            let (token, at) = token_due(&profile)?;
            earliest(&mut due, at);
            if let Some(note) = mysql::verification(&profile, flavour) {
                diag::note(note);
            }
            let group =
                mysql::option_group(&format!("client_{name}"), &profile, &token, &ca, flavour)
                    .map_err(|m| Error::config(format!("cannot write the option file: {m}")))?;
            fresh.push((format!("client_{name}"), group));
        }
    }
    let file = mycnf_path()?;
    let mut left = 0;
    let mut deleted = Vec::new();
    let gone = edit_or_remove(&file, Some(0o600), |text| {
        let mut kept: Vec<(String, String)> = groups(text)
            .into_iter()
            .filter(|(g, _)| !names.iter().any(|n| g == &format!("client_{n}")))
            .collect();
        kept.extend(fresh.iter().cloned());
        kept.sort();
        left = kept.len();
        Ok(kept.into_iter().map(|(_, t)| t).collect())
    })?;
    if gone {
        deleted.push(file.clone());
    }
    let include = mysql::include_line(&file)
        .map_err(|m| Error::config(format!("cannot write ~/.my.cnf: {m}")))?;
    let user_file = user_mycnf()?;
    if edit_or_remove(&user_file, Some(0o600), |text| {
        Ok(mysql::update_include(text, &include, left > 0))
    })? {
        deleted.push(user_file);
    }
    Ok(Synced {
        deleted,
        path: file,
        profiles: names.to_vec(),
        removed: remove,
        due,
    })
}

/// What a refresh did: how many profiles it renewed, and when the first is due again.
#[derive(Debug)]
pub struct Refreshed {
    pub count: usize,
    pub due: Option<u64>,
}

/// Renews every synced file once: the profiles in iamdb's `.pgpass` block and in its option
/// file (nothing new is added).
pub fn refresh(config: &Config) -> Result<Refreshed> {
    let mut count = 0;
    let mut due = None;
    let pg = pgpass_profiles()?;
    if !pg.is_empty() {
        if let Some(d) = pgpass(config, &pg, false)?.due {
            earliest(&mut due, d);
        }
        count += pg.len();
    }
    let my = mycnf_profiles()?;
    if !my.is_empty() {
        if let Some(d) = mycnf(config, &my, false, None)?.due {
            earliest(&mut due, d);
        }
        count += my.len();
    }
    Ok(Refreshed { count, due })
}
