//! `iamdb cache list | clear [PROFILE]`.

use std::path::Path;
use std::time::SystemTime;

use iamdb_core::cache;
use iamdb_core::diag;
use iamdb_core::error::Result;

use crate::cli::{CacheCommand, Format};
use crate::output;

pub fn run(config: Option<&Path>, cmd: CacheCommand) -> Result<()> {
    match cmd {
        CacheCommand::List { format } => list(format),
        CacheCommand::Clear { profile } => clear(config, profile.as_deref()),
    }
}

fn human(seconds: i64) -> String {
    if seconds <= 0 {
        "expired".into()
    } else {
        iamdb_core::when::duration(seconds)
    }
}

/// Rows under a header, each column as wide as its widest cell (a long user name or role ARN
/// widens its column instead of pushing the columns after it out of line), two spaces apart;
/// the last column is not padded. Widths count characters, as `{:width$}` pads.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:width$}  "));
            }
        }
        text.push('\n');
        text
    };
    let mut out = line(header);
    for row in rows {
        out.push_str(&line(&row.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out
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
                output::say("no cached tokens or role sessions");
                return Ok(());
            }
            let mut tokens = Vec::new();
            let mut sessions = Vec::new();
            for item in entries {
                match item {
                    cache::Item::Token(e) => tokens.push(vec![
                        e.profile.as_deref().unwrap_or("-").to_string(),
                        format!("{}:{}", e.host, e.port),
                        e.user,
                        e.backend.as_str().to_string(),
                        human(e.expires_in),
                    ]),
                    cache::Item::Session(s) => sessions.push(vec![
                        s.aws_profile,
                        s.role_arn,
                        s.backend.as_str().to_string(),
                        human(s.expires_in),
                    ]),
                }
            }
            let mut out = String::new();
            if !tokens.is_empty() {
                out.push_str(&table(
                    &["PROFILE", "ENDPOINT", "USER", "BACKEND", "EXPIRES IN"],
                    &tokens,
                ));
            }
            if !sessions.is_empty() {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&table(
                    &["AWS PROFILE (MFA)", "ROLE", "BACKEND", "EXPIRES IN"],
                    &sessions,
                ));
            }
            output::print(&out)
        }
    }
}

fn clear(config: Option<&Path>, profile: Option<&str>) -> Result<()> {
    // The role sessions of a profile are those made for its AWS profile; a profile no longer
    // in the config still has its tokens removed.
    let aws_profile = match profile {
        Some(name) => iamdb_core::config::Config::load(config)
            .ok()
            .and_then(|c| c.merged(name))
            .map(|s| iamdb_core::credentials::effective_profile(s.aws_profile.as_deref())),
        None => None,
    };
    let (removed, notes) = cache::clear(
        profile,
        aws_profile.as_deref(),
        iamdb_core::env::get().keyring_timeout,
    )?;
    for note in notes {
        tracing::debug!(%note, "cache store skipped");
    }
    let what = match profile {
        Some(p) => format!(" for profile '{p}'"),
        None => String::new(),
    };
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut text = format!(
        "removed {} cached token{}",
        removed.tokens,
        plural(removed.tokens)
    );
    if removed.sessions > 0 {
        text.push_str(&format!(
            " and {} role session{}",
            removed.sessions,
            plural(removed.sessions)
        ));
    }
    output::print(&format!("{text}{what}\n"))
}
