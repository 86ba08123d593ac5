//! `iamdb pgpass sync [PROFILE...] [--remove]`.

use std::path::Path;

use iamdb_core::config::Config;
use iamdb_core::engine::Family;
use iamdb_core::error::Result;
use iamdb_core::sync;

use crate::cli::{PgpassCommand, SyncArgs};
use crate::output;

pub fn run(config: Option<&Path>, cmd: PgpassCommand) -> Result<()> {
    let PgpassCommand::Sync(SyncArgs { profiles, remove }) = cmd;
    let config = Config::load(config)?;
    let names = sync::select(&config, &profiles, Family::Postgres, "pgpass sync")?;
    output::print(&output::synced(&sync::pgpass(&config, &names, remove)?))
}
