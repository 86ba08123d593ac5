//! Starting a database client (or any program) logged in to a profile: the program, its
//! arguments and its environment, built here as a [`Launch`] that the command line then runs
//! in iamdb's place. The token never goes on a command line: libpq gets it in `PGPASSWORD`,
//! MySQL's clients in a private option file they read through `/dev/fd`.

use std::ffi::OsString;
use std::fs::File;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::Command;

use zeroize::Zeroizing;

use crate::ca;
use crate::clients::mysql::{self, Flavour};
use crate::clients::postgres;
use crate::clients::valkey;
use crate::config::{Config, Profile, Settings};
use crate::diag;
use crate::engine::Family;
use crate::error::{Error, Result};
use crate::provider::{self, CacheMode};

/// A program to run in iamdb's place, logged in.
#[derive(Debug)]
pub struct Launch {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub set_env: Vec<(String, String)>,
    pub remove_env: Vec<String>,
    /// An option file the program reads through `/dev/fd`: it must stay open (and inherited)
    /// until the program has replaced iamdb.
    pub keep_open: Option<File>,
}

impl Launch {
    fn new(program: impl Into<OsString>) -> Launch {
        Launch {
            program: program.into(),
            args: Vec::new(),
            set_env: Vec::new(),
            remove_env: Vec::new(),
            keep_open: None,
        }
    }

    /// A [`Command`] for the launch (the caller execs or spawns it).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for name in &self.remove_env {
            cmd.env_remove(name);
        }
        cmd.envs(self.set_env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// The profile, checked to be of the family a command needs.
pub fn profile_of(config: &Config, name: &str, family: Family, what: &str) -> Result<Profile> {
    let profile = crate::alias::resolve(&config.resolve(Some(name), Settings::default())?)?;
    match (profile.family(), profile.engine) {
        (Some(f), _) if f == family => Ok(profile),
        (Some(_), Some(other)) => Err(Error::usage(format!(
            "profile '{name}' is a {other} profile; {what} needs a {} one",
            family.describe()
        ))),
        _ => Err(Error::usage(format!(
            "profile '{name}' sets no engine; {what} needs a {} profile (set `engine`)",
            family.describe()
        ))),
    }
}

/// The numeric address libpq must dial for a tunnel (`hostaddr` takes no names).
pub fn hostaddr(p: &Profile) -> Result<Option<String>> {
    let Some(host) = &p.set.connect_host else {
        return Ok(None);
    };
    if let Some(addr) = p.dial_addr {
        return Ok(Some(addr.to_string()));
    }
    let port = p.dial_port();
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            Error::config(format!(
                "connect_host {host} of profile '{}' does not resolve",
                p.label()
            ))
        })?;
    Ok(Some(addr.ip().to_string()))
}

/// Gives `launch` the environment that logs a libpq program in to `p`, and takes out every
/// inherited libpq variable that could send the token elsewhere (`PGSERVICE`, whose file's
/// values outrank the `PG*` variables iamdb sets, `PGHOSTADDR`, ...); `-v` names them.
fn libpq(launch: &mut Launch, p: &Profile) -> Result<()> {
    let ca = ca::for_profile(p.set.ssl_ca.as_deref())?;
    let addr = hostaddr(p)?;
    let issued = provider::token_for(p, CacheMode::Use)?;
    let present: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    launch.remove_env = postgres::libpq_env_removed(present.iter().map(String::as_str));
    if !launch.remove_env.is_empty() {
        tracing::debug!(
            removed = %launch.remove_env.join(", "),
            "removed from the client's environment: they would override the profile's connection"
        );
    }
    launch.set_env = postgres::libpq_env(p, &issued.token, &ca, addr)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok(())
}

/// `psql` with `args`, logged in to `p`.
pub fn psql(p: &Profile, args: &[String]) -> Result<Launch> {
    let mut launch = Launch::new("psql");
    launch.args = args.iter().map(OsString::from).collect();
    libpq(&mut launch, p)?;
    Ok(launch)
}

/// valkey-cli or redis-cli (the profile's `client`, else whichever is installed) with `args`,
/// logged in to `p`: TLS, the endpoint (or its tunnel, with SNI), the user, and the token in
/// the client's password variable.
pub fn valkey(p: &Profile, args: &[String]) -> Result<Launch> {
    let ca = ca::for_profile(p.set.ssl_ca.as_deref())?;
    let issued = provider::token_for(p, CacheMode::Use)?;
    let mut launch = Launch::new(valkey::client(p).program());
    launch.args = valkey::args(p, &ca)
        .into_iter()
        .chain(args.iter().cloned())
        .map(OsString::from)
        .collect();
    launch.set_env = valkey::env(p, &issued.token, &ca);
    Ok(launch)
}

/// What a client program says of itself in `--help`: its flavour and the option files it reads
/// by default. MariaDB's flavour and file list when no client answers (the `mysql` of Debian
/// and Ubuntu is MariaDB's).
pub fn client_info(client: &str) -> (Flavour, Vec<PathBuf>) {
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

/// A complete option file for `--defaults-file` that logs the client in to `p`: the client's
/// default files included first, iamdb's `[client]` group last (it wins).
pub fn option_file(
    p: &Profile,
    flavour: Flavour,
    defaults: &[PathBuf],
) -> Result<Zeroizing<String>> {
    let ca = ca::for_profile(p.set.ssl_ca.as_deref())?;
    let issued = provider::token_for(p, CacheMode::Use)?;
    if let Some(note) = mysql::verification(p, flavour) {
        diag::note(note);
    }
    let existing: Vec<PathBuf> = defaults.iter().filter(|f| f.is_file()).cloned().collect();
    mysql::option_file(&existing, p, &issued.token, &ca, flavour)
        .map(Zeroizing::new)
        .map_err(|m| Error::config(format!("cannot write the option file: {m}")))
}

/// `text` as a private option file a child reads through `/dev/fd` (see
/// [`crate::sys::private_fd_file`]), in the `mysql` directory of iamdb's runtime directory.
fn fd_file(text: &str) -> Result<(File, String)> {
    let dir = crate::fsutil::runtime_dir()
        .map_err(|e| Error::config(e.to_string()))?
        .join("mysql");
    crate::fsutil::private_dir(&dir).map_err(|e| Error::config(e.to_string()))?;
    crate::sys::private_fd_file(&dir, text)
}

/// `program` (mysql or mariadb) with `args`, logged in to `p`: the option file as
/// `--defaults-file`, and the connection settings on its command line, where they outrank
/// every option file.
pub fn mysql(p: &Profile, program: &str, args: &[String]) -> Result<Launch> {
    let (flavour, defaults) = client_info(program);
    let text = option_file(p, flavour, &defaults)?;
    let (file, path) = fd_file(&text)?;
    let ca = ca::for_profile(p.set.ssl_ca.as_deref())?;
    let mut launch = Launch::new(program);
    // --defaults-file must come before every other option.
    launch.args.push(format!("--defaults-file={path}").into());
    launch.args.extend(
        mysql::connection_args(p, &ca, flavour)
            .into_iter()
            .map(OsString::from),
    );
    launch.args.extend(args.iter().map(OsString::from));
    launch.keep_open = Some(file);
    Ok(launch)
}

/// `command` with `p`'s connection in its environment: libpq's for a PostgreSQL profile; for
/// a MySQL/MariaDB one `MYSQL_HOST`, `MYSQL_TCP_PORT` and `IAMDB_MYSQL_DEFAULTS_FILE`, the
/// `/dev/fd` path of an option file for `--defaults-file`; for a Valkey/Redis one the token in
/// `VALKEYCLI_AUTH` and `REDISCLI_AUTH`, and `IAMDB_HOST`, `IAMDB_PORT`, `IAMDB_USER`,
/// `IAMDB_TLS_SERVER_NAME` and `IAMDB_CA_FILE` for drivers.
pub fn exec(p: &Profile, command: &[OsString]) -> Result<Launch> {
    let (program, rest) = command
        .split_first()
        .ok_or_else(|| Error::usage("iamdb exec needs a command after --"))?;
    let mut launch = Launch::new(program.clone());
    launch.args = rest.to_vec();
    match p.family() {
        Some(Family::Postgres) => libpq(&mut launch, p)?,
        Some(Family::Redis) => {
            let ca = ca::for_profile(p.set.ssl_ca.as_deref())?;
            let issued = provider::token_for(p, CacheMode::Use)?;
            launch.set_env = valkey::env(p, &issued.token, &ca);
        }
        Some(Family::Mysql) => {
            let (flavour, defaults) = client_info("mysql");
            let text = option_file(p, flavour, &defaults)?;
            let (file, path) = fd_file(&text)?;
            launch.keep_open = Some(file);
            launch.set_env = vec![
                ("MYSQL_HOST".to_string(), p.dial_host().to_string()),
                ("MYSQL_TCP_PORT".to_string(), p.dial_port().to_string()),
                ("IAMDB_MYSQL_DEFAULTS_FILE".to_string(), path),
            ];
        }
        None => {
            return Err(Error::usage(format!(
                "profile '{}' sets no engine; iamdb exec needs one (set `engine`)",
                p.label()
            )));
        }
    }
    Ok(launch)
}
