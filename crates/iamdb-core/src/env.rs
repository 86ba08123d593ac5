//! Every `IAMDB_*` environment variable, read here and nowhere else. The programs call
//! [`load`] first: a bad value is an error naming the variable (exit 2), never silently
//! ignored; everything after that reads the checked values through [`get`].

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::cache::Choice;
use crate::error::{Error, Result};
use crate::named::Named;

/// The config file to read instead of the default one (`--config` wins).
pub const CONFIG: &str = "IAMDB_CONFIG";
/// The cache store to start with; wins over the config file's `cache`.
pub const CACHE: &str = "IAMDB_CACHE";
/// The deadline of one Secret Service call, in milliseconds.
pub const KEYRING_TIMEOUT_MS: &str = "IAMDB_KEYRING_TIMEOUT_MS";
/// The longest iamdb waits for AWS credentials through the helper, in seconds.
pub const CREDENTIALS_TIMEOUT: &str = "IAMDB_CREDENTIALS_TIMEOUT";
/// Set by the completion scripts when they call iamdb back for candidates.
pub const COMPLETE: &str = "_IAMDB_COMPLETE";

/// Every variable this module reads, for help texts and tests.
pub const ALL: &[&str] = &[
    CONFIG,
    CACHE,
    KEYRING_TIMEOUT_MS,
    CREDENTIALS_TIMEOUT,
    COMPLETE,
];

pub const DEFAULT_KEYRING_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(30);

/// The checked values.
#[derive(Debug, Clone)]
pub struct Env {
    pub config: Option<PathBuf>,
    pub cache: Option<Choice>,
    pub keyring_timeout: Duration,
    pub credentials_timeout: Duration,
}

static ENV: OnceLock<Result<Env, (String, String)>> = OnceLock::new();

/// Reads and checks every variable, once per process.
pub fn load() -> Result<&'static Env> {
    ENV.get_or_init(read)
        .as_ref()
        .map_err(|(message, hint)| Error::usage(message.clone()).hint(hint.clone()))
}

/// The checked values; a variable whose value was refused reads as unset (the programs stop
/// at [`load`] before that can matter).
pub fn get() -> Env {
    match load() {
        Ok(env) => env.clone(),
        Err(_) => Env {
            config: None,
            cache: None,
            keyring_timeout: DEFAULT_KEYRING_TIMEOUT,
            credentials_timeout: DEFAULT_CREDENTIALS_TIMEOUT,
        },
    }
}

/// Whether a completion script is asking: one getenv, on every run.
pub fn completing() -> bool {
    std::env::var_os(COMPLETE).is_some()
}

fn var(name: &str) -> Option<String> {
    std::env::var_os(name)
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
}

fn read() -> Result<Env, (String, String)> {
    let cache = match var(CACHE) {
        None => None,
        Some(v) => Some(Choice::from_name(&v).ok_or_else(|| {
            (
                format!("{CACHE}={v:?} is not a cache store"),
                format!("use {}, or unset it", Choice::choices()),
            )
        })?),
    };
    let number = |name: &str, range: std::ops::RangeInclusive<u64>, unit: &str| match var(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                (
                    format!(
                        "{name}={v:?} is not a number of {unit} from {} to {}",
                        range.start(),
                        range.end()
                    ),
                    format!("set it to a number of {unit}, or unset it"),
                )
            }),
    };
    Ok(Env {
        config: std::env::var_os(CONFIG)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        cache,
        keyring_timeout: number(KEYRING_TIMEOUT_MS, 1..=600_000, "milliseconds")?
            .map_or(DEFAULT_KEYRING_TIMEOUT, Duration::from_millis),
        credentials_timeout: number(CREDENTIALS_TIMEOUT, 1..=3600, "seconds")?
            .map_or(DEFAULT_CREDENTIALS_TIMEOUT, Duration::from_secs),
    })
}
