//! `iamdb mysql`, `iamdb mariadb` and `iamdb mycnf`: the token in an option file the client
//! reads, never on its command line.
//!
//! The private option file exists only as an open file descriptor: it is created 0600 in a
//! private directory, unlinked at once, and handed over as `/dev/fd/N`, so it lives exactly as
//! long as the client and leaves nothing on disk.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::{ClientArgs, MycnfArgs, MycnfCommand, SyncArgs};
use iamdb_core::ca;
use iamdb_core::clients::mysql::{self, Flavour};
use iamdb_core::config::{Config, Engine, Profile, Settings};
use iamdb_core::error::{Error, Result};
use iamdb_core::fsutil;
use iamdb_core::provider::{self, CacheMode};

/// What a client program says of itself in `--help`: its flavour and the option files it reads
/// by default. MariaDB's flavour and file list when no client answers (the `mysql` of Debian
/// and Ubuntu is MariaDB's).
pub(crate) fn client_info(client: &str) -> (Flavour, Vec<PathBuf>) {
    let home = dirs::home_dir();
    Command::new(client)
        .arg("--help")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| mysql::parse_help(&String::from_utf8_lossy(&o.stdout), home.as_deref()))
        .unwrap_or_else(|| (Flavour::Mariadb, mysql::default_files(home.as_deref())))
}

/// The client's flavour, from its `--help`.
pub(crate) fn detect(client: &str) -> Flavour {
    client_info(client).0
}

fn config_error(what: &str) -> impl Fn(String) -> Error + '_ {
    move |m| Error::config(format!("cannot write {what}: {m}"))
}

/// The group and when its token expires (Unix seconds).
fn group_with_expiry(name: &str, p: &Profile, flavour: Flavour) -> Result<(String, u64)> {
    let ca = ca::for_profile(p.ssl_ca.as_deref())?;
    let issued = provider::token_for(p, CacheMode::Use)?;
    if let Some(note) = mysql::verification(p, flavour) {
        eprintln!("iamdb: note: {note}");
    }
    let group = mysql::option_group(name, p, &issued.token, &ca, flavour)
        .map_err(config_error("the option file"))?;
    Ok((group, issued.expires_at))
}

/// A complete option file for `--defaults-file` that logs the client in to `p`: the client's
/// default files included first, iamdb's `[client]` group last (it wins).
fn full_option_file(p: &Profile, flavour: Flavour, defaults: &[PathBuf]) -> Result<String> {
    let ca = ca::for_profile(p.ssl_ca.as_deref())?;
    let issued = provider::token_for(p, CacheMode::Use)?;
    if let Some(note) = mysql::verification(p, flavour) {
        eprintln!("iamdb: note: {note}");
    }
    let existing: Vec<PathBuf> = defaults.iter().filter(|f| f.is_file()).cloned().collect();
    mysql::option_file(&existing, p, &issued.token, &ca, flavour)
        .map_err(config_error("the option file"))
}

/// An unlinked 0600 option file for `--defaults-file` (see [`full_option_file`]), open
/// without close-on-exec, and the `/dev/fd/N` path that reaches it.
pub(crate) fn private_option_file(
    p: &Profile,
    flavour: Flavour,
    defaults: &[PathBuf],
) -> Result<(File, String)> {
    let text = zeroize::Zeroizing::new(full_option_file(p, flavour, defaults)?);
    let dir = fsutil::runtime_dir()
        .map_err(|e| Error::config(e.to_string()))?
        .join("mysql");
    fsutil::private_dir(&dir).map_err(|e| Error::config(e.to_string()))?;
    let path = dir.join(format!("client-{}.cnf", std::process::id()));
    let _ = std::fs::remove_file(&path);
    // No signal may end iamdb between the file's creation and its unlinking.
    let signals = fsutil::SignalsHeld::new();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", path.display())))?;
    let _ = std::fs::remove_file(&path);
    drop(signals);
    let written = file.write_all(text.as_bytes());
    written.map_err(|e| Error::internal(format!("cannot write the option file: {e}")))?;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns; only the close-on-exec flag changes.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
        return Err(Error::internal(format!(
            "cannot pass the option file on: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok((file, format!("/dev/fd/{fd}")))
}

pub fn client(config_path: Option<&Path>, args: ClientArgs, program: &str) -> Result<()> {
    let profile = super::exec::profile_of_kind(
        config_path,
        &args.profile,
        false,
        &format!("iamdb {program}"),
    )?;
    let (flavour, defaults) = client_info(program);
    let (_file, path) = private_option_file(&profile, flavour, &defaults)?;
    let ca = ca::for_profile(profile.ssl_ca.as_deref())?;
    let mut cmd = Command::new(program);
    // --defaults-file must come before every other option; the connection options after it
    // outrank every option file the client reads.
    cmd.arg(format!("--defaults-file={path}"))
        .args(mysql::connection_args(&profile, &ca, flavour))
        .args(&args.args);
    super::exec::exec(cmd, program)
}

pub fn mycnf(config_path: Option<&Path>, args: MycnfArgs) -> Result<()> {
    match (args.command, args.profile) {
        (Some(MycnfCommand::Sync(SyncArgs { profiles, remove })), _) => {
            sync(config_path, &profiles, remove, args.flavour)
        }
        (None, Some(name)) => {
            let profile = super::exec::profile_of_kind(config_path, &name, false, "iamdb mycnf")?;
            let (detected, defaults) = client_info("mysql");
            let flavour = args.flavour.unwrap_or(detected);
            let text = zeroize::Zeroizing::new(full_option_file(&profile, flavour, &defaults)?);
            super::print(&text)
        }
        (None, None) => Err(Error::usage("iamdb mycnf needs a PROFILE, or `sync`")),
    }
}

/// iamdb's own option file: `<config dir>/iamdb/my.cnf`, 0600, all groups its own.
pub(crate) fn tokens_file() -> Result<PathBuf> {
    dirs::config_dir()
        .map(|d| d.join("iamdb").join("my.cnf"))
        .ok_or_else(|| Error::config("cannot find the config directory (HOME is not set)"))
}

fn user_mycnf() -> Result<PathBuf> {
    dirs::home_dir()
        .map(|h| h.join(".my.cnf"))
        .ok_or_else(|| Error::config("cannot find the home directory (HOME is not set)"))
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

fn sync(
    config_path: Option<&Path>,
    names: &[String],
    remove: bool,
    flavour: Option<Flavour>,
) -> Result<()> {
    let config = Config::load(config_path)?;
    let names = super::pgpass::selected(&config, names, &[Engine::Mysql, Engine::Mariadb])?;
    sync_mycnf(&config, &names, remove, flavour)?;
    super::pgpass::report(remove, &names, &tokens_file()?)
}

/// The profiles whose groups iamdb's option file holds now.
pub(crate) fn synced_profiles() -> Result<Vec<String>> {
    let file = tokens_file()?;
    let text = iamdb_core::fsutil::read_text(&file, 16 << 20)
        .map_err(|e| Error::config(format!("cannot read {}: {e}", file.display())))?
        .unwrap_or_default();
    Ok(groups(&text)
        .into_iter()
        .filter_map(|(g, _)| g.strip_prefix("client_").map(String::from))
        .collect())
}

/// Writes (or removes) the `[client_NAME]` groups of `names` in iamdb's option file, and the
/// `!include` line in ~/.my.cnf; returns when the first written token is due for refresh
/// (its expiry less the profile's refresh margin), in Unix seconds.
pub(crate) fn sync_mycnf(
    config: &Config,
    names: &[String],
    remove: bool,
    flavour: Option<Flavour>,
) -> Result<Option<u64>> {
    let flavour = flavour.unwrap_or_else(|| detect("mysql"));
    let mut fresh = Vec::new();
    let mut due: Option<u64> = None;
    if !remove {
        for name in names {
            let profile = config.resolve(Some(name), Settings::default())?;
            let (text, expires_at) =
                group_with_expiry(&format!("client_{name}"), &profile, flavour)?;
            let at = expires_at.saturating_sub(u64::from(profile.refresh_margin));
            due = Some(due.map_or(at, |d| d.min(at)));
            fresh.push((format!("client_{name}"), text));
        }
    }
    let file = tokens_file()?;
    let mut left = 0;
    iamdb_core::edit::edit_file(&file, Some(0o600), |text| {
        let mut kept: Vec<(String, String)> = groups(text)
            .into_iter()
            .filter(|(g, _)| !names.iter().any(|n| g == &format!("client_{n}")))
            .collect();
        kept.extend(fresh.iter().cloned());
        kept.sort();
        left = kept.len();
        Ok(kept.into_iter().map(|(_, t)| t).collect())
    })?;
    // One `!include` line in ~/.my.cnf, added once and removed when nothing is left to include.
    let include = mysql::include_line(&file).map_err(config_error("~/.my.cnf"))?;
    iamdb_core::edit::edit_file(&user_mycnf()?, Some(0o600), |text| {
        Ok(mysql::update_include(text, &include, left > 0))
    })?;
    Ok(due)
}
