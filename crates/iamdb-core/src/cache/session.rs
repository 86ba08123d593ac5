//! Role sessions made with an MFA code, kept in the same stores as tokens so that one code
//! serves every database profile (and every process) that signs through the same role until
//! shortly before the session ends.
//!
//! A session is keyed by everything that changes what STS would answer: the credentials that
//! assumed the role (their access key id), the role, the MFA device, the external id, the
//! session name and the duration. A session is therefore never served to another identity:
//! new source keys, another role or another device make another key. The entry repeats those
//! fields, and one that does not match its key is removed and is a miss.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Backend, Cache, PREFIX, unix};

/// Prefix of the names of role sessions. `@` is never in a profile name, so these never
/// collide with tokens (`iamdb:PROFILE:...`).
pub const SESSION_PREFIX: &str = "iamdb:@session:";

/// How long before its end a session stops being served: a token signed from it then still
/// lives a few minutes, and a code is asked for while the old session still works.
pub const SESSION_MARGIN: u32 = 300;

/// What makes a role session the one asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionKey {
    /// The access key id of the credentials that assumed the role.
    pub source: String,
    pub role_arn: String,
    /// The MFA device, when the role was assumed with a code.
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    /// `role_session_name` as configured (None: iamdb chose one).
    pub session_name: Option<String>,
    pub duration_seconds: u32,
}

impl SessionKey {
    /// The hex digest that names the session in the stores (and its lock).
    pub fn digest(&self) -> String {
        let fields = [
            self.source.as_bytes(),
            self.role_arn.as_bytes(),
            self.mfa_serial.as_deref().unwrap_or("").as_bytes(),
            self.external_id.as_deref().unwrap_or("").as_bytes(),
            self.session_name.as_deref().unwrap_or("").as_bytes(),
            &self.duration_seconds.to_be_bytes(),
        ];
        crate::token::fingerprint(&fields)
    }

    pub fn entry_name(&self) -> String {
        format!("{SESSION_PREFIX}{}", self.digest())
    }
}

/// A cached role session: its key, the AWS profile it was made for, its credentials.
#[derive(Clone, Serialize, Deserialize)]
pub struct Session {
    #[serde(flatten)]
    pub key: SessionKey,
    /// The AWS profile whose role it is (for `cache list` and `cache clear PROFILE`).
    pub aws_profile: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Unix seconds.
    pub created_at: u64,
    pub expires_at: u64,
    /// When it was made, in Unix milliseconds (`iamdb login` serves only sessions it made).
    #[serde(default)]
    pub created_ms: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("key", &self.key)
            .field("aws_profile", &self.aws_profile)
            .field("access_key_id", &self.access_key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret_access_key.zeroize();
        self.session_token.zeroize();
    }
}

impl Session {
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(serde_json::to_vec(self).unwrap_or_default())
    }

    /// None for anything that is not a well-formed session.
    pub fn from_bytes(bytes: &[u8]) -> Option<Session> {
        serde_json::from_slice::<Session>(bytes).ok().filter(|s| {
            !s.access_key_id.is_empty()
                && !s.secret_access_key.is_empty()
                && s.expires_at > s.created_at
        })
    }

    /// Seconds left (0 once it has ended).
    pub fn remaining(&self, now: SystemTime) -> u64 {
        self.expires_at.saturating_sub(unix(now))
    }

    /// Worth serving: more than [`SESSION_MARGIN`] left, and not made in the future.
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        let now = unix(now);
        self.created_at <= now + 60 && self.expires_at > now + u64::from(SESSION_MARGIN)
    }
}

impl Cache {
    /// The fresh session for `key`, if one is stored. One stored under the key's name that
    /// is not for that key is removed and is a miss.
    pub fn get_session(&mut self, key: &SessionKey, now: SystemTime) -> Option<(Backend, Session)> {
        let name = key.entry_name();
        let (backend, bytes) = self.with_store(|s| s.get(&name))?;
        let bytes = zeroize::Zeroizing::new(bytes?);
        match Session::from_bytes(&bytes) {
            Some(s) if s.key == *key && s.is_fresh(now) => Some((backend, s)),
            Some(s) if s.key == *key => {
                tracing::debug!(
                    remaining = s.remaining(now),
                    "role session too close to its end"
                );
                None
            }
            _ => {
                tracing::debug!("stored role session is not for this key; removed");
                let _ = self.with_store(|s| s.delete(&name));
                None
            }
        }
    }

    pub fn put_session(&mut self, session: &Session, now: SystemTime) -> Option<Backend> {
        let ttl = std::time::Duration::from_secs(session.remaining(now).max(1));
        let bytes = session.to_bytes();
        let name = session.key.entry_name();
        self.with_store(|s| s.put(&name, &bytes, ttl))
            .map(|(b, ())| b)
    }
}

/// Whether a stored name is a role session's.
pub fn is_session(name: &str) -> bool {
    name.starts_with(SESSION_PREFIX)
}

const _: () = assert!(SESSION_PREFIX.len() > PREFIX.len());

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey {
            source: "AKIAIOSFODNN7EXAMPLE".into(),
            role_arn: "arn:aws:iam::123456789012:role/dba".into(),
            mfa_serial: Some("arn:aws:iam::123456789012:mfa/alice".into()),
            external_id: None,
            session_name: None,
            duration_seconds: 3600,
        }
    }

    #[test]
    fn every_field_of_the_key_changes_the_name() {
        let base = key().entry_name();
        assert!(base.starts_with(SESSION_PREFIX));
        let variants = [
            SessionKey {
                source: "AKIAOTHER".into(),
                ..key()
            },
            SessionKey {
                role_arn: "arn:aws:iam::123456789012:role/other".into(),
                ..key()
            },
            SessionKey {
                mfa_serial: None,
                ..key()
            },
            SessionKey {
                external_id: Some("x".into()),
                ..key()
            },
            SessionKey {
                session_name: Some("me".into()),
                ..key()
            },
            SessionKey {
                duration_seconds: 900,
                ..key()
            },
        ];
        for v in variants {
            assert_ne!(v.entry_name(), base, "{v:?}");
        }
    }

    #[test]
    fn sessions_round_trip_and_expire_with_a_margin() {
        let now = SystemTime::now();
        let s = Session {
            key: key(),
            aws_profile: "dba".into(),
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            created_at: unix(now),
            expires_at: unix(now) + 3600,
            created_ms: 0,
        };
        let back = Session::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(back.key, s.key);
        assert!(back.is_fresh(now));
        assert!(!back.is_fresh(now + std::time::Duration::from_secs(3600 - 299)));
        assert!(!format!("{s:?}").contains("secret"));
    }
}
