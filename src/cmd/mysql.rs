//! `iamdb mysql|mariadb PROFILE [-- ARGS]`: the client in iamdb's place, logged in.

use std::path::Path;

use iamdb_core::config::Config;
use iamdb_core::engine::Family;
use iamdb_core::error::Result;
use iamdb_core::launch;

use crate::cli::ClientArgs;
use crate::output;

pub fn run(config: Option<&Path>, args: ClientArgs, program: &str) -> Result<()> {
    let config = Config::load(config)?;
    let what = format!("iamdb {program}");
    let profile = launch::profile_of(&config, &args.profile, Family::Mysql, &what)?;
    output::launch(launch::mysql(&profile, program, &args.args)?)
}
