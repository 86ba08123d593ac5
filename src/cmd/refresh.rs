//! `iamdb refresh [--watch]`: keeps the tokens in synced files fresh, for clients that read
//! `.pgpass` or an option file on their own (GUI tools, long-running programs).
//!
//! It refreshes only what was synced before: the profiles in iamdb's `.pgpass` block and in
//! iamdb's option file. `--watch` sleeps until the first token is due and stops cleanly on
//! SIGTERM, SIGINT or SIGHUP: the signals are blocked and waited for with a timeout, so the
//! sleep itself is the signal handler, with no runtime and no handler code.

use std::path::Path;
use std::time::{Duration, SystemTime};

use iamdb_core::cache::unix;
use iamdb_core::clients::postgres;
use iamdb_core::config::Config;
use iamdb_core::error::{Error, Result};

/// Shortest and longest sleep between refreshes.
const MIN_SLEEP: Duration = Duration::from_secs(2);
const MAX_SLEEP: Duration = Duration::from_secs(600);
/// After a failed refresh (network down, credentials expired), try again this soon.
const RETRY: Duration = Duration::from_secs(30);

/// Refreshes every synced file once. Returns how many profiles were written and when the
/// first of their tokens is due, in Unix seconds.
fn refresh_once(config_path: Option<&Path>) -> Result<(usize, Option<u64>)> {
    let config = Config::load(config_path)?;
    let mut count = 0;
    let mut due: Option<u64> = None;
    let mut earliest = |d: Option<u64>| {
        if let Some(d) = d {
            due = Some(due.map_or(d, |e| e.min(d)));
        }
    };
    let pgpass_path = super::pgpass::pgpass_path()?;
    let pgpass = iamdb_core::fsutil::read_text(&pgpass_path, 16 << 20)
        .map_err(|e| Error::config(format!("cannot read {}: {e}", pgpass_path.display())))?
        .unwrap_or_default();
    let pg_names = postgres::pgpass_profiles(&pgpass);
    if !pg_names.is_empty() {
        earliest(super::pgpass::sync_pgpass(&config, &pg_names, false)?);
        count += pg_names.len();
    }
    let my_names = super::mysql::synced_profiles()?;
    if !my_names.is_empty() {
        earliest(super::mysql::sync_mycnf(&config, &my_names, false, None)?);
        count += my_names.len();
    }
    Ok((count, due))
}

pub fn run(config_path: Option<&Path>, watch: bool) -> Result<()> {
    if !watch {
        let (count, due) = refresh_once(config_path)?;
        return report(count, due);
    }
    let signals = Signals::block()?;
    loop {
        let sleep = match refresh_once(config_path) {
            Ok((count, due)) => {
                report(count, due)?;
                let now = unix(SystemTime::now());
                due.map_or(MAX_SLEEP, |d| {
                    Duration::from_secs(d.saturating_sub(now) + 1)
                })
                .clamp(MIN_SLEEP, MAX_SLEEP)
            }
            Err(err) => {
                eprintln!("iamdb: error: {err}");
                RETRY
            }
        };
        if let Some(signal) = signals.wait(sleep) {
            eprintln!("iamdb: refresh stopped (signal {signal})");
            return Ok(());
        }
    }
}

fn report(count: usize, due: Option<u64>) -> Result<()> {
    let next = due.map_or(String::new(), |d| {
        format!("; next refresh due at {}", super::rfc3339(d))
    });
    super::print(&format!(
        "refreshed {count} profile{}{next}\n",
        if count == 1 { "" } else { "s" }
    ))
}

/// SIGTERM, SIGINT and SIGHUP, blocked so that they can be waited for.
struct Signals {
    set: libc::sigset_t,
}

impl Signals {
    fn block() -> Result<Signals> {
        // SAFETY: plain libc signal-set calls on a set owned here; pthread_sigmask only changes
        // this thread's mask, before any other thread is started.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::sigaddset(&mut set, sig);
            }
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(Error::internal("cannot block signals"));
            }
            Ok(Signals { set })
        }
    }

    /// Waits for one of the signals, at most `timeout`; the signal's number if one came.
    fn wait(&self, timeout: Duration) -> Option<i32> {
        let ts = libc::timespec {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: 0,
        };
        loop {
            // SAFETY: sigtimedwait reads the set and the timeout, both valid for the call.
            let sig = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &ts) };
            if sig > 0 {
                return Some(sig);
            }
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return None;
            }
        }
    }
}
