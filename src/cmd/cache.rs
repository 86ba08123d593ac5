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
            let mut tokens = String::new();
            let mut sessions = String::new();
            for item in entries {
                match item {
                    cache::Item::Token(e) => tokens.push_str(&format!(
                        "{:20}  {:50}  {:16}  {:14}  {}\n",
                        e.profile.as_deref().unwrap_or("-"),
                        format!("{}:{}", e.host, e.port),
                        e.user,
                        e.backend.as_str(),
                        human(e.expires_in)
                    )),
                    cache::Item::Session(s) => sessions.push_str(&format!(
                        "{:20}  {:67}  {:14}  {}\n",
                        s.aws_profile,
                        s.role_arn,
                        s.backend.as_str(),
                        human(s.expires_in)
                    )),
                }
            }
            let mut out = String::new();
            if !tokens.is_empty() {
                out.push_str(&format!(
                    "{:20}  {:50}  {:16}  {:14}  EXPIRES IN\n{tokens}",
                    "PROFILE", "ENDPOINT", "USER", "BACKEND"
                ));
            }
            if !sessions.is_empty() {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&format!(
                    "{:20}  {:67}  {:14}  EXPIRES IN\n{sessions}",
                    "AWS PROFILE (MFA)", "ROLE", "BACKEND"
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
