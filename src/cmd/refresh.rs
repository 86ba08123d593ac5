//! `iamdb refresh [--watch]`: renews the tokens in every synced file, once or (`--watch`) each
//! time the first of them is due, until SIGTERM, SIGINT or SIGHUP. A failed refresh (network
//! down, credentials expired) is reported and tried again after 30 s.

use std::path::Path;
use std::time::{Duration, SystemTime};

use iamdb_core::config::Config;
use iamdb_core::error::Result;
use iamdb_core::sync::{self, Refreshed};
use iamdb_core::sys::StopSignals;
use iamdb_core::when;

use crate::output;

/// Shortest and longest sleep between refreshes.
const MIN_SLEEP: Duration = Duration::from_secs(2);
const MAX_SLEEP: Duration = Duration::from_secs(600);
/// After a failed refresh, try again this soon.
const RETRY: Duration = Duration::from_secs(30);

fn once(config: Option<&Path>) -> Result<Refreshed> {
    sync::refresh(&Config::load(config)?)
}

pub fn run(config: Option<&Path>, watch: bool) -> Result<()> {
    if !watch {
        return report(&once(config)?);
    }
    let signals = StopSignals::block()?;
    loop {
        let sleep = match once(config) {
            Ok(done) => {
                report(&done)?;
                let now = when::unix(SystemTime::now());
                done.due
                    .map_or(MAX_SLEEP, |d| {
                        let d = i64::try_from(d).unwrap_or(i64::MAX);
                        Duration::from_secs(u64::try_from(d - now).unwrap_or(0) + 1)
                    })
                    .clamp(MIN_SLEEP, MAX_SLEEP)
            }
            Err(err) => {
                output::error(&err);
                RETRY
            }
        };
        if let Some(signal) = signals.wait(sleep) {
            output::say(&format!("refresh stopped (signal {signal})"));
            return Ok(());
        }
    }
}

fn report(done: &Refreshed) -> Result<()> {
    let next = done.due.map_or(String::new(), |d| {
        format!(
            "; next refresh due at {}",
            when::rfc3339(i64::try_from(d).unwrap_or(i64::MAX))
        )
    });
    let s = if done.count == 1 { "" } else { "s" };
    output::print(&format!("refreshed {} profile{s}{next}\n", done.count))
}
