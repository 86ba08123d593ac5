//! The token cache: a chain of stores tried in order. On Linux the kernel keyring (the user
//! keyring, so it works in cron, ssh and CI sessions), then the Secret Service, then a 0600
//! file; Keychain on macOS and Credential Manager on Windows. A store that is unusable is
//! skipped with one warning; a corrupt or unreadable entry is a miss and gets replaced.
//!
//! This module is on the cache-hit path: it must not start an async runtime, read AWS config
//! or touch the network.

mod file;
#[cfg(any(target_os = "linux", target_os = "macos", windows))]
mod keyring;
#[cfg(target_os = "linux")]
mod keyutils;
mod session;

pub use session::{SESSION_MARGIN, SESSION_PREFIX, Session, SessionKey, is_session};

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Prefix of every entry name iamdb stores, in every backend.
pub const PREFIX: &str = "iamdb:";

pub use crate::settings::Choice;

/// A concrete store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Keyutils,
    SecretService,
    Keychain,
    CredentialManager,
    File,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Keyutils => "keyutils",
            Backend::SecretService => "secret-service",
            Backend::Keychain => "keychain",
            Backend::CredentialManager => "credential-manager",
            Backend::File => "file",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Backend::Keyutils => "the kernel keyring",
            Backend::SecretService => "the Secret Service",
            Backend::Keychain => "the macOS Keychain",
            Backend::CredentialManager => "the Windows Credential Manager",
            Backend::File => "the file cache",
        }
    }

    /// The stores tried, in order, for a choice.
    pub fn chain(choice: Choice) -> Vec<Backend> {
        let auto = Self::platform_chain();
        match choice {
            Choice::None => vec![],
            Choice::Auto => auto,
            Choice::Keyutils => from(&auto, Backend::Keyutils),
            Choice::SecretService => from(&auto, Backend::SecretService),
            Choice::File => vec![Backend::File],
        }
    }

    fn platform_chain() -> Vec<Backend> {
        if cfg!(target_os = "linux") {
            vec![Backend::Keyutils, Backend::SecretService, Backend::File]
        } else if cfg!(target_os = "macos") {
            vec![Backend::Keychain, Backend::File]
        } else if cfg!(windows) {
            vec![Backend::CredentialManager, Backend::File]
        } else {
            vec![Backend::File]
        }
    }
}

/// The chain starting at `first`; a backend this platform lacks is kept so that it reports
/// itself unusable with a clear message.
fn from(auto: &[Backend], first: Backend) -> Vec<Backend> {
    match auto.iter().position(|b| *b == first) {
        Some(i) => auto[i..].to_vec(),
        None => std::iter::once(first).chain(auto.iter().copied()).collect(),
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// The store cannot be used at all here (no D-Bus session, keyctl forbidden, quota full,
    /// timed out): try the next one.
    Unusable(String),
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// One place tokens can live. Names always start with [`PREFIX`].
pub trait Store {
    fn backend(&self) -> Backend;
    fn get(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `value`; `ttl` is how long it is worth keeping (stores that can expire entries
    /// themselves do).
    fn put(&self, name: &str, value: &[u8], ttl: Duration) -> StoreResult<()>;
    fn delete(&self, name: &str) -> StoreResult<bool>;
    /// Every iamdb entry: its name and value.
    fn list(&self) -> StoreResult<Vec<(String, Vec<u8>)>>;
}

/// Opens the store `backend`; `deadline` bounds each call to an OS keyring
/// (`IAMDB_KEYRING_TIMEOUT_MS`).
fn open(backend: Backend, deadline: Duration) -> StoreResult<Box<dyn Store>> {
    match backend {
        #[cfg(target_os = "linux")]
        Backend::Keyutils => keyutils::KeyutilsStore::open().map(|s| Box::new(s) as Box<dyn Store>),
        #[cfg(target_os = "linux")]
        Backend::SecretService => {
            keyring::KeyringStore::open(backend, deadline).map(|s| Box::new(s) as Box<dyn Store>)
        }
        #[cfg(target_os = "macos")]
        Backend::Keychain => {
            keyring::KeyringStore::open(backend, deadline).map(|s| Box::new(s) as Box<dyn Store>)
        }
        #[cfg(windows)]
        Backend::CredentialManager => {
            keyring::KeyringStore::open(backend, deadline).map(|s| Box::new(s) as Box<dyn Store>)
        }
        Backend::File => file::FileStore::open().map(|s| Box::new(s) as Box<dyn Store>),
        #[allow(unreachable_patterns)]
        other => Err(StoreError::Unusable(format!(
            "{} is not available on this platform",
            other.describe()
        ))),
    }
}

/// What a looked-up entry must have been made for.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub kind: crate::engine::TokenKind,
    /// The token's lifetime (`X-Amz-Expires`).
    pub expires_in: u64,
    /// What the token is signed for: the endpoint, or an ElastiCache/MemoryDB cache's name.
    /// None while a DNS alias has not been looked up: the name the entry was signed for is
    /// taken (and its token checked against it).
    pub signed_host: Option<&'a str>,
    /// The host as configured (an alias, for a profile that has one).
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    /// The region, when it is known before credentials are resolved.
    pub region: Option<&'a str>,
}

/// A cached token and what it was made for. Stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub token: String,
    /// Unix seconds.
    pub signed_at: u64,
    /// Unix seconds: the earlier of signing time + 900 s and the credentials' expiry.
    pub expires_at: u64,
    pub profile: Option<String>,
    /// The host as configured.
    pub host: String,
    /// What the token is signed for, when the entry says (entries from before iamdb read DNS
    /// aliases do not; they are signed for `host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_host: Option<String>,
    pub port: u16,
    pub user: String,
    pub region: String,
}

impl Drop for Entry {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

impl Entry {
    /// The entry as stored: JSON, wiped from memory when dropped.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(serde_json::to_vec(self).unwrap_or_default())
    }

    /// None for anything that is not a well-formed entry: such an entry is a miss.
    pub fn from_bytes(bytes: &[u8]) -> Option<Entry> {
        serde_json::from_slice::<Entry>(bytes)
            .ok()
            .filter(|e| !e.token.is_empty() && e.expires_at > e.signed_at)
    }

    /// Seconds left before the token stops working (0 once expired).
    pub fn remaining(&self, now: SystemTime) -> u64 {
        self.expires_at.saturating_sub(unix(now))
    }

    /// Why this entry is not a token for `expect`, if it is not: another endpoint, user or
    /// region, a token that is not exactly what iamdb signs, or a lifetime longer than a
    /// token's.
    pub fn check(&self, expect: &Expect<'_>) -> std::result::Result<(), String> {
        if self.host != expect.host || self.port != expect.port || self.user != expect.user {
            return Err("the entry is for another endpoint or user".into());
        }
        if expect.region.is_some_and(|r| r != self.region) {
            return Err("the entry is for another region".into());
        }
        if self.expires_at <= self.signed_at || self.expires_at - self.signed_at > expect.expires_in
        {
            return Err(
                "the entry's expiry is not within a token's lifetime of its signing".into(),
            );
        }
        let signed_host = match (expect.signed_host, &self.signed_host) {
            (Some(want), Some(have)) if !want.eq_ignore_ascii_case(have) => {
                return Err(format!(
                    "the entry is signed for {have}, the profile now signs for {want}"
                ));
            }
            (Some(want), _) => want,
            (None, Some(have)) => have.as_str(),
            (None, None) => return Err("the entry does not say what it was signed for".into()),
        };
        crate::token::check_shape(
            &self.token,
            crate::token::Target {
                kind: expect.kind,
                host: signed_host,
                port: expect.port,
                user: expect.user,
                region: &self.region,
                expires_in: expect.expires_in,
            },
            self.signed_at,
        )
    }

    /// Worth serving: more than `margin` seconds left, and not signed in the future (a clock
    /// that jumped back would otherwise keep a token alive too long).
    pub fn is_fresh(&self, now: SystemTime, margin: u32) -> bool {
        let now = unix(now);
        self.signed_at <= now + 60 && self.expires_at > now + u64::from(margin)
    }
}

pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The chain of stores, opened lazily: a store is only connected to when it is needed, and a
/// store found unusable is not tried again in this process.
pub struct Cache {
    chain: Vec<Backend>,
    next: usize,
    open: Option<Box<dyn Store>>,
    /// Stores skipped since the last warning, with the reason.
    skipped: Vec<String>,
    deadline: Duration,
}

impl Cache {
    /// The stores `choice` names, in order; `deadline` bounds each call to an OS keyring.
    pub fn new(choice: Choice, deadline: Duration) -> Cache {
        Cache {
            chain: Backend::chain(choice),
            next: 0,
            open: None,
            skipped: Vec::new(),
            deadline,
        }
    }

    /// The store in use, opening the next usable one when needed.
    fn store(&mut self) -> Option<&dyn Store> {
        while self.open.is_none() && self.next < self.chain.len() {
            let backend = self.chain[self.next];
            self.next += 1;
            match open(backend, self.deadline) {
                Ok(store) => {
                    tracing::debug!(backend = backend.as_str(), "cache backend opened");
                    self.open = Some(store);
                }
                Err(StoreError::Unusable(why)) => self.skip(backend, &why),
            }
        }
        if !self.skipped.is_empty() {
            // One warning for all the stores passed over, naming the one in use.
            let using = self.open.as_ref().map_or("no cache".to_string(), |s| {
                s.backend().describe().to_string()
            });
            crate::diag::warn(format!(
                "{}; using {using} (set `cache` in the config or IAMDB_CACHE to choose a store)",
                self.skipped.join(", ")
            ));
            self.skipped.clear();
        }
        self.open.as_deref()
    }

    fn skip(&mut self, backend: Backend, why: &str) {
        self.skipped
            .push(format!("{} is unusable ({why})", backend.describe()));
        self.open = None;
    }

    /// Runs `op` on the first usable store, falling through on failure.
    fn with_store<T>(
        &mut self,
        mut op: impl FnMut(&dyn Store) -> StoreResult<T>,
    ) -> Option<(Backend, T)> {
        loop {
            let store = self.store()?;
            let backend = store.backend();
            match op(store) {
                Ok(v) => return Some((backend, v)),
                Err(StoreError::Unusable(why)) => self.skip(backend, &why),
            }
        }
    }

    /// The fresh entry stored under `name`, if any. An entry that is not a token iamdb made
    /// for `expect` is removed and is a miss.
    pub fn get(
        &mut self,
        name: &str,
        expect: &Expect<'_>,
        now: SystemTime,
        margin: u32,
    ) -> Option<(Backend, Entry)> {
        let (backend, bytes) = self.with_store(|s| s.get(name))?;
        let Some(bytes) = bytes.map(zeroize::Zeroizing::new) else {
            tracing::debug!(backend = backend.as_str(), "cache miss: no entry");
            return None;
        };
        let entry = Entry::from_bytes(&bytes);
        if let Some(Err(why)) = entry.as_ref().map(|e| e.check(expect)) {
            tracing::debug!(backend = backend.as_str(), why = %why, "cache miss: the entry is not a token for this profile; removed");
            let _ = self.with_store(|s| s.delete(name));
            return None;
        }
        match entry {
            Some(entry) if entry.is_fresh(now, margin) => Some((backend, entry)),
            Some(entry) => {
                tracing::debug!(
                    backend = backend.as_str(),
                    remaining = entry.remaining(now),
                    margin,
                    "cache miss: entry too close to expiry"
                );
                None
            }
            None => {
                tracing::debug!(
                    backend = backend.as_str(),
                    "cache miss: entry is corrupt and will be replaced"
                );
                None
            }
        }
    }

    pub fn put(&mut self, name: &str, entry: &Entry, now: SystemTime) -> Option<Backend> {
        let ttl = Duration::from_secs(entry.remaining(now).max(1));
        let bytes = entry.to_bytes();
        self.with_store(|s| s.put(name, &bytes, ttl))
            .map(|(b, ())| b)
    }
}

/// What `cache list` shows of an entry: never a secret.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Item {
    Token(Listed),
    Session(ListedSession),
}

/// What `cache list` shows of a role session.
#[derive(Debug, Serialize)]
pub struct ListedSession {
    pub aws_profile: String,
    pub role_arn: String,
    pub mfa_serial: Option<String>,
    pub backend: Backend,
    pub expires_at: u64,
    pub expires_in: i64,
}

/// What `cache list` shows of a token: never the token.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub profile: Option<String>,
    /// The host as configured.
    pub host: String,
    /// What the token is signed for, when it is not `host` (a DNS alias's AWS name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_host: Option<String>,
    pub port: u16,
    pub user: String,
    pub region: String,
    pub backend: Backend,
    pub expires_at: u64,
    pub expires_in: i64,
    #[serde(skip)]
    pub name: String,
}

/// Every store this platform has that can be opened now, with a note for each that cannot.
fn all_stores(deadline: Duration) -> (Vec<Box<dyn Store>>, Vec<String>) {
    let mut stores = Vec::new();
    let mut notes = Vec::new();
    for backend in Backend::platform_chain() {
        match open(backend, deadline) {
            Ok(s) => stores.push(s),
            Err(StoreError::Unusable(why)) => notes.push(format!("{}: {why}", backend.describe())),
        }
    }
    (stores, notes)
}

/// Every token and role session in every store, tokens first (by profile), then sessions.
pub fn list(now: SystemTime, deadline: Duration) -> (Vec<Item>, Vec<String>) {
    let (stores, mut notes) = all_stores(deadline);
    let mut tokens = Vec::new();
    let mut sessions = Vec::new();
    for store in stores {
        let items = match store.list() {
            Ok(items) => items,
            Err(StoreError::Unusable(why)) => {
                notes.push(format!("{}: {why}", store.backend().describe()));
                continue;
            }
        };
        for (name, bytes) in items {
            let bytes = zeroize::Zeroizing::new(bytes);
            if is_session(&name) {
                match Session::from_bytes(&bytes) {
                    Some(s) => sessions.push(ListedSession {
                        aws_profile: s.aws_profile.clone(),
                        role_arn: s.key.role_arn.clone(),
                        mfa_serial: s.key.mfa_serial.clone(),
                        backend: store.backend(),
                        expires_at: s.expires_at,
                        expires_in: s.expires_at as i64 - unix(now) as i64,
                    }),
                    None => notes.push(format!(
                        "{}: unreadable role session {name}; `iamdb cache clear` removes it",
                        store.backend().describe()
                    )),
                }
                continue;
            }
            let profile_part = name
                .strip_prefix(PREFIX)
                .and_then(|r| r.rsplit_once(':'))
                .map(|(p, _)| p.to_string());
            match Entry::from_bytes(&bytes) {
                Some(mut e) => tokens.push(Listed {
                    profile: e.profile.take(),
                    signed_host: e.signed_host.take().filter(|s| *s != e.host),
                    host: std::mem::take(&mut e.host),
                    port: e.port,
                    user: std::mem::take(&mut e.user),
                    region: std::mem::take(&mut e.region),
                    backend: store.backend(),
                    expires_at: e.expires_at,
                    expires_in: e.expires_at as i64 - unix(now) as i64,
                    name,
                }),
                None => notes.push(format!(
                    "{}: unreadable entry {name} (profile {}); `iamdb cache clear` removes it",
                    store.backend().describe(),
                    profile_part.unwrap_or_default()
                )),
            }
        }
    }
    tokens.sort_by(|a, b| {
        (&a.profile, &a.host, a.expires_at).cmp(&(&b.profile, &b.host, b.expires_at))
    });
    sessions.sort_by(|a, b| {
        (&a.aws_profile, &a.role_arn, a.expires_at).cmp(&(
            &b.aws_profile,
            &b.role_arn,
            b.expires_at,
        ))
    });
    let items = tokens
        .into_iter()
        .map(Item::Token)
        .chain(sessions.into_iter().map(Item::Session))
        .collect();
    (items, notes)
}

/// What `cache clear` removed.
#[derive(Debug, Default)]
pub struct Cleared {
    pub tokens: usize,
    pub sessions: usize,
}

/// Removes every iamdb entry from every store, or those of one profile: its tokens, and the
/// role sessions made for `aws_profile` (the profile's AWS profile). Returns how many.
pub fn clear(
    profile: Option<&str>,
    aws_profile: Option<&str>,
    deadline: Duration,
) -> Result<(Cleared, Vec<String>)> {
    let (stores, notes) = all_stores(deadline);
    let mut removed = Cleared::default();
    let mut failures = Vec::new();
    for store in stores {
        let items = match store.list() {
            Ok(items) => items,
            Err(StoreError::Unusable(why)) => {
                failures.push(format!("{}: {why}", store.backend().describe()));
                continue;
            }
        };
        for (name, bytes) in items {
            let bytes = zeroize::Zeroizing::new(bytes);
            let session = is_session(&name);
            if profile.is_some() {
                let wanted = if session {
                    // A session that cannot be read is nobody's: only `cache clear` removes it.
                    let made_for = Session::from_bytes(&bytes).map(|s| s.aws_profile.clone());
                    aws_profile.is_some() && made_for.as_deref() == aws_profile
                } else {
                    let entry_profile = name
                        .strip_prefix(PREFIX)
                        .and_then(|r| r.rsplit_once(':'))
                        .map(|(p, _)| p);
                    entry_profile == profile
                };
                if !wanted {
                    continue;
                }
            }
            match store.delete(&name) {
                Ok(true) if session => removed.sessions += 1,
                Ok(true) => removed.tokens += 1,
                Ok(false) => {}
                Err(StoreError::Unusable(why)) => {
                    failures.push(format!("{}: {why}", store.backend().describe()))
                }
            }
        }
    }
    if !failures.is_empty() {
        return Err(Error::cache(format!(
            "could not clear the cache: {}",
            failures.join("; ")
        )));
    }
    Ok((removed, notes))
}

/// What `doctor` learns by using the cache as a token lookup would: the store that took a
/// probe entry (written, read back, deleted), and why each store before it was passed over.
pub fn probe(
    choice: Choice,
    deadline: Duration,
) -> (std::result::Result<Backend, String>, Vec<String>) {
    let name = format!("{PREFIX}doctor-probe:{}", std::process::id());
    let value = format!("iamdb doctor probe {}", unix(SystemTime::now()));
    let mut skipped = Vec::new();
    for backend in Backend::chain(choice) {
        let attempt = open(backend, deadline).and_then(|store| {
            store.put(&name, value.as_bytes(), Duration::from_secs(60))?;
            let back = store.get(&name);
            let deleted = store.delete(&name);
            match back? {
                Some(b) if b == value.as_bytes() => {}
                Some(_) => {
                    return Err(StoreError::Unusable(
                        "the probe read back different bytes".into(),
                    ));
                }
                None => {
                    return Err(StoreError::Unusable(
                        "the probe was not there when read back".into(),
                    ));
                }
            }
            if !deleted? {
                return Err(StoreError::Unusable(
                    "the probe could not be deleted".into(),
                ));
            }
            Ok(())
        });
        match attempt {
            Ok(()) => return (Ok(backend), skipped),
            Err(StoreError::Unusable(why)) => {
                skipped.push(format!("{}: {why}", backend.describe()))
            }
        }
    }
    (
        Err("no cache store works; every token is signed anew".into()),
        skipped,
    )
}

/// The entry name for a profile (or `-` for an ad-hoc endpoint) and a digest of everything
/// that changes the token or who signs it.
pub fn entry_name(profile: Option<&str>, digest: &str) -> String {
    format!("{PREFIX}{}:{digest}", profile.unwrap_or("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains() {
        if cfg!(target_os = "linux") {
            assert_eq!(
                Backend::chain(Choice::Auto),
                [Backend::Keyutils, Backend::SecretService, Backend::File]
            );
            assert_eq!(
                Backend::chain(Choice::SecretService),
                [Backend::SecretService, Backend::File]
            );
        }
        assert_eq!(Backend::chain(Choice::File), [Backend::File]);
        assert!(Backend::chain(Choice::None).is_empty());
    }

    #[test]
    fn entries_round_trip_and_reject_garbage() {
        let e = Entry {
            token: "h:1/?x".into(),
            signed_at: 1000,
            expires_at: 1900,
            profile: Some("p".into()),
            host: "h".into(),
            signed_host: None,
            port: 1,
            user: "u".into(),
            region: "us-east-1".into(),
        };
        assert_eq!(Entry::from_bytes(&e.to_bytes()), Some(e.clone()));
        assert_eq!(Entry::from_bytes(b"garbage"), None);
        assert_eq!(Entry::from_bytes(b""), None);
        let mut bytes = e.to_bytes();
        let half = bytes.len() / 2;
        bytes.truncate(half);
        assert_eq!(Entry::from_bytes(&bytes), None);

        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert!(e.is_fresh(at(1000), 120));
        assert!(e.is_fresh(at(1779), 120));
        assert!(!e.is_fresh(at(1780), 120));
        assert!(!e.is_fresh(at(900), 120), "signed in the future");
        assert_eq!(e.remaining(at(2000)), 0);
    }
}
