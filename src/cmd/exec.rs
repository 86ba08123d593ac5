//! `iamdb psql` and `iamdb exec`: replace iamdb with the client, the connection in its
//! environment. The token goes into PGPASSWORD, which only this user (and root) can read from
//! /proc, never onto a command line, which anyone can read from `ps`.

use std::ffi::OsString;
use std::net::ToSocketAddrs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::cli::{ClientArgs, ExecArgs};
use iamdb_core::ca;
use iamdb_core::clients::postgres;
use iamdb_core::config::{Config, Profile, Settings};
use iamdb_core::error::{Error, Result};
use iamdb_core::provider::{self, CacheMode};

/// The profile, checked to be of the kind a command needs.
pub(crate) fn profile_of_kind(
    config_path: Option<&Path>,
    name: &str,
    postgres: bool,
    what: &str,
) -> Result<Profile> {
    let config = Config::load(config_path)?;
    let profile = config.resolve(Some(name), Settings::default())?;
    let kind = if postgres {
        "a PostgreSQL"
    } else {
        "a MySQL or MariaDB"
    };
    match (profile.is_postgres(), profile.engine) {
        (Some(k), _) if k == postgres => Ok(profile),
        (Some(_), Some(other)) => Err(Error::usage(format!(
            "profile '{name}' is a {other} profile; {what} needs {kind} one"
        ))),
        _ => Err(Error::usage(format!(
            "profile '{name}' sets no engine; {what} needs {kind} profile (set `engine`)"
        ))),
    }
}

/// The numeric address libpq must dial for a tunnel (`hostaddr` takes no names).
pub(crate) fn hostaddr(p: &Profile) -> Result<Option<String>> {
    let Some(host) = &p.connect_host else {
        return Ok(None);
    };
    let port = postgres::dial_port(p);
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            Error::config(format!(
                "connect_host {host} of profile '{}' does not resolve",
                p.name.as_deref().unwrap_or("-")
            ))
        })?;
    Ok(Some(addr.ip().to_string()))
}

/// Gives `cmd` the environment that logs a libpq program in to `p`, and takes out every
/// inherited libpq variable that could send the token elsewhere (`PGSERVICE`, whose file's
/// values outrank the `PG*` variables iamdb sets, `PGHOSTADDR`, ...); `-v` names them.
pub(crate) fn set_libpq_env(cmd: &mut Command, p: &Profile) -> Result<()> {
    let ca = ca::for_profile(p.ssl_ca.as_deref())?;
    let addr = hostaddr(p)?;
    let issued = provider::token_for(p, CacheMode::Use)?;
    let present: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    let removed = postgres::libpq_env_removed(present.iter().map(String::as_str));
    if !removed.is_empty() {
        tracing::debug!(
            removed = %removed.join(", "),
            "removed from the client's environment: they would override the profile's connection"
        );
    }
    for name in &removed {
        cmd.env_remove(name);
    }
    cmd.envs(postgres::libpq_env(p, &issued.token, &ca, addr));
    Ok(())
}

pub(crate) fn exec(mut cmd: Command, program: &str) -> Result<()> {
    // exec only returns on failure.
    let err = cmd.exec();
    let hint = if err.kind() == std::io::ErrorKind::NotFound {
        format!("install {program}, or put it on PATH")
    } else {
        "check the program and its permissions".to_string()
    };
    Err(Error::usage(format!("cannot run {program}: {err}")).hint(hint))
}

pub fn psql(config_path: Option<&Path>, args: ClientArgs) -> Result<()> {
    let profile = profile_of_kind(config_path, &args.profile, true, "iamdb psql")?;
    let mut cmd = Command::new("psql");
    cmd.args(&args.args);
    set_libpq_env(&mut cmd, &profile)?;
    exec(cmd, "psql")
}

pub fn run(config_path: Option<&Path>, args: ExecArgs) -> Result<()> {
    let config = Config::load(config_path)?;
    let profile = config.resolve(Some(&args.profile), Settings::default())?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::usage("iamdb exec needs a command after --"))?;
    let mut cmd = Command::new(program);
    cmd.args(rest.iter().map(OsString::from));
    // Kept open (and so readable through /dev/fd) until the program replaces iamdb.
    let _option_file;
    match profile.is_postgres() {
        Some(true) => set_libpq_env(&mut cmd, &profile)?,
        Some(false) => {
            let (flavour, defaults) = super::mysql::client_info("mysql");
            let (file, path) = super::mysql::private_option_file(&profile, flavour, &defaults)?;
            _option_file = file;
            let host = profile
                .connect_host
                .clone()
                .unwrap_or_else(|| profile.host.clone());
            cmd.env("MYSQL_HOST", host)
                .env(
                    "MYSQL_TCP_PORT",
                    profile.connect_port.unwrap_or(profile.port).to_string(),
                )
                .env("IAMDB_MYSQL_DEFAULTS_FILE", path);
        }
        None => {
            return Err(Error::usage(format!(
                "profile '{}' sets no engine; iamdb exec needs one (set `engine`)",
                args.profile
            )));
        }
    }
    exec(cmd, program)
}
