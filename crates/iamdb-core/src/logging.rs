//! Logging for `-v`: set up only when asked for, so the common path pays nothing for it.

use std::sync::atomic::{AtomicU8, Ordering};

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

static VERBOSITY: AtomicU8 = AtomicU8::new(0);

/// How many `-v` were given, for passing on to the credentials helper.
pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// `-v`: iamdb's own decisions (and which SDK provider gave the credentials); `-vv`: the AWS
/// SDK's own logs too. Logs go to stderr and never contain tokens or secrets.
pub fn init(verbose: u8) {
    VERBOSITY.store(verbose, Ordering::Relaxed);
    if verbose == 0 {
        return;
    }
    let others = if verbose >= 2 {
        Level::DEBUG
    } else {
        Level::WARN
    };
    let filter = Targets::new()
        .with_target("iamdb", Level::DEBUG)
        .with_target("aws_config::meta::credentials::chain", Level::DEBUG)
        .with_target("aws_config::profile::credentials", Level::INFO)
        .with_default(others);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time(),
        )
        .with(filter)
        .init();
}
