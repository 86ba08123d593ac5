//! One error type for everything iamdb does. Every error carries the kind of failure, which is
//! the process exit code a script can test (the same failure has the same code in every
//! command), and a message written for the person at the terminal: what failed and why on the
//! first line, what to do on an optional second. Core returns errors; only the programs print
//! them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Exit codes, documented in the README. Scripts depend on them: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Something iamdb did not expect (a bug or an OS failure outside the other kinds).
    Internal = 1,
    /// Bad flags, arguments or `IAMDB_*` variables (clap uses the same code for its own).
    Usage = 2,
    /// The config file or a profile is missing, unreadable or invalid; a file iamdb reads or
    /// writes cannot be used safely; no region is known.
    Config = 3,
    /// AWS credentials could not be resolved, or they have expired.
    Credentials = 4,
    /// The token cache could not be read, written or cleared.
    Cache = 5,
    /// A check found a problem: `inspect`, `doctor`, `ca update` (the report says why).
    Check = 6,
    /// iamdb is not installed as it must be: `iamdb-credentials` is missing, or is from
    /// another release.
    Install = 7,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    message: String,
    hint: Option<String>,
    /// Exit with this code and print nothing more.
    silent: Option<i32>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            silent: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }

    pub fn credentials(message: impl Into<String>) -> Self {
        Self::new(Kind::Credentials, message)
    }

    pub fn cache(message: impl Into<String>) -> Self {
        Self::new(Kind::Cache, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, message)
    }

    pub fn install(message: impl Into<String>) -> Self {
        Self::new(Kind::Install, message)
    }

    /// Exit with `kind`'s code and print nothing more: the command has already said what
    /// happened (a `doctor` report with a failed check, an `inspect` report with problems).
    pub fn silent(kind: Kind) -> Self {
        Error {
            silent: Some(kind as i32),
            ..Self::new(kind, "")
        }
    }

    /// Ctrl-C at a prompt: exit 130 as a shell reports a command ended by SIGINT, printing
    /// nothing more.
    pub fn interrupted() -> Self {
        Error {
            silent: Some(130),
            ..Self::new(Kind::Internal, "interrupted")
        }
    }

    /// Exit with a child program's own exit code, printing nothing (`iamdb lock`).
    pub fn child_exit(code: i32) -> Self {
        Error {
            silent: Some(code),
            ..Self::new(Kind::Internal, "")
        }
    }

    /// Whether the message was already said, so that nothing is printed.
    pub fn is_silent(&self) -> bool {
        self.silent.is_some()
    }

    /// The second line: what the user can do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The second line, if any.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn exit_code(&self) -> i32 {
        self.silent.unwrap_or(self.kind as i32)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
