//! `iamdb setup PROFILE (--resource-id ID | --lookup | --principal ARN)`: iamdb-core's plan,
//! as text or JSON.

use std::path::Path;

use iamdb_core::config::Config;
use iamdb_core::error::Result;
use iamdb_core::setup;

use crate::cli::{Format, SetupArgs};
use crate::output;

pub fn run(config: Option<&Path>, args: SetupArgs) -> Result<()> {
    let config = Config::load(config)?;
    let input = setup::Input {
        resource_id: args.resource_id,
        lookup: args.lookup,
        account: args.account,
        principal: args.principal,
    };
    let plan = setup::plan(&config, &args.profile, &input)?;
    match args.format {
        Format::Json => output::json(&plan),
        Format::Text => output::print(&plan.render()),
    }
}
