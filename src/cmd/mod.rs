//! One module per command: parse what clap gave, call the library, print.

mod ca;
mod cache;
mod doctor;
mod exec;
mod inspect;
mod lock;
mod man;
mod mysql;
mod pgpass;
mod profile;
mod refresh;
mod setup;
mod shell;
mod token;

use std::io::Write;

use crate::cli::{Cli, Command};
use iamdb_core::error::{Error, Result};

pub fn run(cli: Cli) -> Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Token(args) => token::run(config, args),
        Command::Profile(cmd) => profile::run(config, cmd),
        Command::Cache(cmd) => cache::run(cmd),
        Command::Psql(args) => exec::psql(config, args),
        Command::Exec(args) => exec::run(config, args),
        Command::Mysql(args) => mysql::client(config, args, "mysql"),
        Command::Mariadb(args) => mysql::client(config, args, "mariadb"),
        Command::Mycnf(args) => mysql::mycnf(config, args),
        Command::Pgpass(cmd) => pgpass::run(config, cmd),
        Command::Pgservice(cmd) => pgpass::run_service(config, cmd),
        Command::ShellInit { shell } => shell::init(config, shell),
        Command::Refresh { watch } => refresh::run(config, watch),
        Command::Man { dir } => man::write(&dir),
        Command::Inspect { token, format } => inspect::run(token, format),
        Command::Ca(cmd) => ca::run(cmd),
        Command::Completions { shell } => print(&crate::complete::script(shell)?),
        Command::Doctor(args) => doctor::run(config, args),
        Command::Setup(args) => setup::run(config, args),
        Command::Lock(args) => lock::run(args),
    }
}

/// Writes to stdout; a closed pipe (`iamdb ... | head -1`) is not an error.
pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::internal(format!("cannot write to stdout: {e}"))),
    }
}

pub(crate) fn rfc3339(unix: u64) -> String {
    iamdb_core::inspect::rfc3339(i64::try_from(unix).unwrap_or(i64::MAX))
}
