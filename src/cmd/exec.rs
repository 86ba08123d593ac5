//! `iamdb exec PROFILE -- COMMAND`: any program with the profile's connection in its
//! environment.

use std::path::Path;

use iamdb_core::config::{Config, Settings};
use iamdb_core::error::Result;
use iamdb_core::launch;

use crate::cli::ExecArgs;
use crate::output;

pub fn run(config: Option<&Path>, args: ExecArgs) -> Result<()> {
    let config = Config::load(config)?;
    let profile =
        iamdb_core::alias::resolve(&config.resolve(Some(&args.profile), Settings::default())?)?;
    output::launch(launch::exec(&profile, &args.command)?)
}
