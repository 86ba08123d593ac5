//! `iamdb pgadmin [PROFILE...] [--output FILE]`: pgAdmin 4's servers.json.

use std::path::Path;

use iamdb_core::config::Config;
use iamdb_core::engine::Family;
use iamdb_core::error::{Error, Result};
use iamdb_core::sync;

use crate::cli::PgadminArgs;
use crate::output;

pub fn run(config: Option<&Path>, args: PgadminArgs) -> Result<()> {
    let absolute = |p: &Path| {
        std::path::absolute(p).map_err(|e| Error::config(format!("{}: {e}", p.display())))
    };
    let iamdb = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Error::install(format!("cannot tell where this iamdb is: {e}")))?;
    let named_config = config.map(absolute).transpose()?;
    let config = Config::load(config)?;
    let names = sync::select(&config, &args.profiles, Family::Postgres, "iamdb pgadmin")?;
    if names.is_empty() {
        return Err(Error::usage(format!(
            "{} has no PostgreSQL or DSQL profiles for pgAdmin",
            config.path.display()
        ))
        .hint("add one with `iamdb profile add`"));
    }
    let output = args.output.as_deref().map(absolute).transpose()?;
    let text = sync::pgadmin(
        &config,
        &names,
        &iamdb,
        named_config.as_deref(),
        output.as_deref(),
    )?;
    match output {
        None => output::print(&text),
        Some(path) => {
            let n = names.len();
            let s = if n == 1 { "" } else { "s" };
            output::say(&format!(
                "wrote {n} server{s} ({}) in group \"iamdb\" of {}; import it in pgAdmin with Tools > Import/Export Servers",
                names.join(", "),
                path.display()
            ));
            Ok(())
        }
    }
}
