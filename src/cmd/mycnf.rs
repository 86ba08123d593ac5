//! `iamdb mycnf PROFILE` (an option file for `--defaults-file`) and `iamdb mycnf sync`.

use std::path::Path;

use iamdb_core::config::Config;
use iamdb_core::engine::Family;
use iamdb_core::error::{Error, Result};
use iamdb_core::{launch, sync};

use crate::cli::{MycnfArgs, MycnfCommand, SyncArgs};
use crate::output;

pub fn run(config: Option<&Path>, args: MycnfArgs) -> Result<()> {
    let config_file = Config::load(config)?;
    match (args.command, args.profile) {
        (Some(MycnfCommand::Sync(SyncArgs { profiles, remove })), _) => {
            let names = sync::select(&config_file, &profiles, Family::Mysql, "mycnf sync")?;
            let synced = sync::mycnf(&config_file, &names, remove, args.flavour)?;
            output::print(&output::synced(&synced))
        }
        (None, Some(name)) => {
            let profile = launch::profile_of(&config_file, &name, Family::Mysql, "iamdb mycnf")?;
            let (detected, defaults) = launch::client_info("mysql");
            let flavour = args.flavour.unwrap_or(detected);
            output::print(&launch::option_file(&profile, flavour, &defaults)?)
        }
        (None, None) => Err(Error::usage("iamdb mycnf needs a PROFILE, or `sync`")),
    }
}
