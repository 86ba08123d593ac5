//! `iamdb cache list | clear [PROFILE]`.

use std::time::SystemTime;

use iamdb_core::cache;
use iamdb_core::diag;
use iamdb_core::error::Result;

use crate::cli::{CacheCommand, Format};
use crate::output;

pub fn run(cmd: CacheCommand) -> Result<()> {
    match cmd {
        CacheCommand::List { format } => list(format),
        CacheCommand::Clear { profile } => clear(profile.as_deref()),
    }
}

fn human(seconds: i64) -> String {
    if seconds <= 0 {
        "expired".into()
    } else {
        iamdb_core::when::duration(seconds)
    }
}

fn list(format: Format) -> Result<()> {
    let (entries, notes) = cache::list(SystemTime::now(), iamdb_core::env::get().keyring_timeout);
    for note in &notes {
        tracing::debug!(%note, "cache store skipped");
        if note.contains("unreadable entry") {
            diag::warn(note);
        }
    }
    match format {
        Format::Json => output::json(&entries),
        Format::Text => {
            if entries.is_empty() {
                output::say("no cached tokens");
                return Ok(());
            }
            let mut out = format!(
                "{:20}  {:50}  {:16}  {:14}  EXPIRES IN\n",
                "PROFILE", "ENDPOINT", "USER", "BACKEND"
            );
            for e in entries {
                out.push_str(&format!(
                    "{:20}  {:50}  {:16}  {:14}  {}\n",
                    e.profile.as_deref().unwrap_or("-"),
                    format!("{}:{}", e.host, e.port),
                    e.user,
                    e.backend.as_str(),
                    human(e.expires_in)
                ));
            }
            output::print(&out)
        }
    }
}

fn clear(profile: Option<&str>) -> Result<()> {
    let (removed, notes) = cache::clear(profile, iamdb_core::env::get().keyring_timeout)?;
    for note in notes {
        tracing::debug!(%note, "cache store skipped");
    }
    let what = match profile {
        Some(p) => format!(" for profile '{p}'"),
        None => String::new(),
    };
    let s = if removed == 1 { "" } else { "s" };
    output::print(&format!("removed {removed} cached token{s}{what}\n"))
}
