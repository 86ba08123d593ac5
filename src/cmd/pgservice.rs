//! `iamdb pgservice sync [PROFILE...] [--remove]`.

use std::path::Path;

use iamdb_core::config::Config;
use iamdb_core::engine::Family;
use iamdb_core::error::Result;
use iamdb_core::sync;

use crate::cli::{PgserviceCommand, SyncArgs};
use crate::output;

pub fn run(config: Option<&Path>, cmd: PgserviceCommand) -> Result<()> {
    let PgserviceCommand::Sync(SyncArgs { profiles, remove }) = cmd;
    let config = Config::load(config)?;
    let names = sync::select(&config, &profiles, Family::Postgres, "pgservice sync")?;
    output::print(&output::synced(&sync::pgservice(&config, &names, remove)?))
}
