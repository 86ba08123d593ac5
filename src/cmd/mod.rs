//! One file per command: clap's values turned into iamdb-core's input, iamdb-core called, the
//! result printed through `output`. No command file calls another.

mod ca;
mod cache;
mod completions;
mod doctor;
mod exec;
mod inspect;
mod lock;
mod login;
mod man;
mod mycnf;
mod mysql;
mod pgadmin;
mod pgpass;
mod pgservice;
mod profile;
mod psql;
mod refresh;
mod setup;
mod shell_init;
mod token;
mod valkey;

use iamdb_core::error::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    // --config, else IAMDB_CONFIG (read with every other IAMDB_* variable, in iamdb-core).
    let from_env = iamdb_core::env::get().config;
    let config = cli.config.as_deref().or(from_env.as_deref());
    match cli.command {
        Command::Token(args) => token::run(config, args),
        Command::Profile(cmd) => profile::run(config, cmd),
        Command::Cache(cmd) => cache::run(config, cmd),
        Command::Psql(args) => psql::run(config, args),
        Command::Exec(args) => exec::run(config, args),
        Command::Mysql(args) => mysql::run(config, args, "mysql"),
        Command::Mariadb(args) => mysql::run(config, args, "mariadb"),
        Command::Valkey(args) => valkey::run(config, args),
        Command::Mycnf(args) => mycnf::run(config, args),
        Command::Pgpass(cmd) => pgpass::run(config, cmd),
        Command::Pgservice(cmd) => pgservice::run(config, cmd),
        Command::Pgadmin(args) => pgadmin::run(config, args),
        Command::ShellInit { shell } => shell_init::run(config, shell),
        Command::Refresh { watch } => refresh::run(config, watch),
        Command::Man { dir } => man::run(&dir),
        Command::Inspect { token, format } => inspect::run(token, format),
        Command::Ca(cmd) => ca::run(cmd),
        Command::Completions { shell } => completions::run(shell),
        Command::Doctor(args) => doctor::run(config, args),
        Command::Setup(args) => setup::run(config, args),
        Command::Login(args) => login::run(config, args),
        Command::Lock(args) => lock::run(args),
    }
}
