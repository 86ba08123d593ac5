//! `iamdb valkey PROFILE [-- ARGS]`: valkey-cli or redis-cli in iamdb's place, logged in.

use std::path::Path;

use iamdb_core::config::Config;
use iamdb_core::engine::Family;
use iamdb_core::error::Result;
use iamdb_core::launch;

use crate::cli::ClientArgs;
use crate::output;

pub fn run(config: Option<&Path>, args: ClientArgs) -> Result<()> {
    let config = Config::load(config)?;
    let profile = launch::profile_of(&config, &args.profile, Family::Redis, "iamdb valkey")?;
    output::launch(launch::valkey(&profile, &args.args)?)
}
