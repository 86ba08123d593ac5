//! Warnings and notes that core has for the person at the terminal (a keyring passed over, a
//! file's mode fixed, a tunnel's weaker TLS check). Core never writes to stderr itself: the
//! program installs a sink that shows them; without one they go to the `-v` log only.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something the user should fix or know went differently than asked.
    Warning,
    /// How something was done, when it matters (what a tunnel verifies).
    Note,
}

static SINK: OnceLock<fn(Level, &str)> = OnceLock::new();

/// Where warnings and notes go from now on (once per process).
pub fn set_sink(sink: fn(Level, &str)) {
    let _ = SINK.set(sink);
}

fn say(level: Level, message: &str) {
    match SINK.get() {
        Some(sink) => sink(level, message),
        None => tracing::debug!(?level, message),
    }
}

pub fn warn(message: impl AsRef<str>) {
    say(Level::Warning, message.as_ref());
}

pub fn note(message: impl AsRef<str>) {
    say(Level::Note, message.as_ref());
}
