use std::time::SystemTime;

use crate::cli::{CacheCommand, Format};
use iamdb_core::cache;
use iamdb_core::error::{Error, Result};

pub fn run(cmd: CacheCommand) -> Result<()> {
    match cmd {
        CacheCommand::List { format } => list(format),
        CacheCommand::Clear { profile } => clear(profile.as_deref()),
    }
}

fn human(seconds: i64) -> String {
    if seconds <= 0 {
        return "expired".into();
    }
    let (m, s) = (seconds / 60, seconds % 60);
    if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn list(format: Format) -> Result<()> {
    let (entries, notes) = cache::list(SystemTime::now());
    for note in &notes {
        tracing::debug!(%note, "cache store skipped");
        if note.contains("unreadable entry") {
            eprintln!("iamdb: warning: {note}");
        }
    }
    match format {
        Format::Json => {
            let text =
                serde_json::to_string(&entries).map_err(|e| Error::internal(e.to_string()))?;
            super::print(&format!("{text}\n"))
        }
        Format::Text => {
            if entries.is_empty() {
                eprintln!("iamdb: no cached tokens");
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
            super::print(&out)
        }
    }
}

fn clear(profile: Option<&str>) -> Result<()> {
    let (removed, notes) = cache::clear(profile)?;
    for note in notes {
        tracing::debug!(%note, "cache store skipped");
    }
    let what = match profile {
        Some(p) => format!(" for profile '{p}'"),
        None => String::new(),
    };
    super::print(&format!(
        "removed {removed} cached token{}{what}\n",
        if removed == 1 { "" } else { "s" }
    ))
}
