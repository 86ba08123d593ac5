//! One error type for the whole program. Every error carries the kind of failure, which becomes
//! the process exit code a script can test, and a message written for the person at the
//! terminal: what failed and why on the first line, what to do on an optional second.

use std::fmt;

/// Exit codes, documented in the README. Scripts depend on them: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Something iamdb did not expect (a bug or an OS failure outside the other kinds).
    Internal = 1,
    /// Bad flags or arguments (clap uses the same code for its own usage errors).
    Usage = 2,
    /// The config file or a profile is missing, unreadable or invalid, or no region is known.
    Config = 3,
    /// AWS credentials could not be resolved, or they have expired.
    Credentials = 4,
    /// The token cache could not be read, written or cleared.
    Cache = 5,
    /// A check found a problem: `inspect` a token that cannot log in (the report says why).
    Check = 6,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    message: String,
    hint: Option<String>,
    /// Set when another process (the credentials helper) already told the user; carries the
    /// exit code it chose.
    reported: Option<i32>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            reported: None,
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

    /// Exit with `code` and print nothing more: the command has said what happened, or the
    /// code is a child program's own (`iamdb lock`).
    pub fn exit(code: i32) -> Self {
        Self::reported(code)
    }

    /// An error the helper has already printed; iamdb exits with its code and says nothing.
    pub fn reported(code: i32) -> Self {
        let kind = match code {
            2 => Kind::Usage,
            3 => Kind::Config,
            4 => Kind::Credentials,
            5 => Kind::Cache,
            6 => Kind::Check,
            _ => Kind::Internal,
        };
        Error {
            kind,
            message: String::new(),
            hint: None,
            reported: Some(code),
        }
    }

    pub fn is_reported(&self) -> bool {
        self.reported.is_some()
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
        self.reported.unwrap_or(self.kind as i32)
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
