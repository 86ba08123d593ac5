//! `iamdb psql` and `iamdb exec`: replace iamdb with the client, the connection in its
//! environment. The token goes into PGPASSWORD, which only this user (and root) can read from
//! /proc, never onto a command line, which anyone can read from `ps`.

use std::ffi::OsString;
use std::net::ToSocketAddrs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::ca;
use crate::cli::{ClientArgs, ExecArgs};
use crate::clients::postgres;
use crate::config::{Config, Engine, Profile, Settings};
use crate::error::{Error, Result};
use crate::provider::{self, CacheMode};

/// The profile, checked to be a PostgreSQL one (an unset engine with port 5432 counts).
pub(crate) fn postgres_profile(
    config_path: Option<&Path>,
    name: &str,
    what: &str,
) -> Result<Profile> {
    let config = Config::load(config_path)?;
    let profile = config.resolve(Some(name), Settings::default())?;
    match profile.engine {
        Some(Engine::Postgres) => Ok(profile),
        None if profile.port == 5432 => Ok(profile),
        Some(other) => Err(Error::usage(format!(
            "profile '{name}' is a {other} profile; {what} needs a PostgreSQL one"
        ))),
        None => Err(Error::usage(format!(
            "profile '{name}' sets no engine; {what} needs engine = \"postgres\""
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

/// The environment that logs a libpq program in to `p`.
pub(crate) fn libpq_env(p: &Profile) -> Result<Vec<(&'static str, String)>> {
    let ca = ca::for_profile(p.ssl_ca.as_deref())?;
    let addr = hostaddr(p)?;
    let issued = provider::token_for(p, CacheMode::Use)?;
    Ok(postgres::libpq_env(p, &issued.token, &ca, addr))
}

fn exec(mut cmd: Command, program: &str) -> Result<()> {
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
    let profile = postgres_profile(config_path, &args.profile, "iamdb psql")?;
    let env = libpq_env(&profile)?;
    let mut cmd = Command::new("psql");
    cmd.args(&args.args).envs(env);
    exec(cmd, "psql")
}

pub fn run(config_path: Option<&Path>, args: ExecArgs) -> Result<()> {
    let profile = postgres_profile(config_path, &args.profile, "iamdb exec")?;
    let env = libpq_env(&profile)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::usage("iamdb exec needs a command after --"))?;
    let mut cmd = Command::new(program);
    cmd.args(rest.iter().map(OsString::from)).envs(env);
    exec(cmd, program)
}
