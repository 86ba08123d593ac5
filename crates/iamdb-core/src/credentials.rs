//! AWS credentials and the AWS-side region, resolved the way the AWS CLI resolves them.
//!
//! With `aws_profile` set (config or `--aws-profile`) only that profile is used, as with
//! `aws --profile NAME`: static keys, assume-role (`source_profile`, `credential_source`),
//! web identity, SSO and `credential_process`. Without it the default chain runs: environment,
//! the shared files (`AWS_PROFILE` or `default`), web identity, ECS, EC2 IMDSv2.
//!
//! Keys in the environment are read directly, with no async runtime and no file access: that
//! is the common case in CI and containers and it should cost nothing. Everything else goes
//! through aws-config in the `iamdb-credentials` helper (installed next to `iamdb`), which
//! hands the credentials back over a pipe in the `credential_process` format. Keeping
//! aws-config, tokio, hyper, rustls and aws-lc out of `iamdb` keeps its start, and so every
//! cache hit, close to that of an empty program.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::protocol::CredentialsDoc;

/// Environment variables that decide which identity signs, or where it comes from. They
/// are part of every cache key, so switching identity never serves another's token.
const IDENTITY_ENV: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn config_file() -> Option<PathBuf> {
    env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join("config")))
}

pub fn credentials_file() -> Option<PathBuf> {
    env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join("credentials")))
}

/// What selects the signing identity, as bytes to hash into a cache key: the identity
/// environment, and the paths and identity (inode, size, mtime) of the shared AWS files, so that editing
/// ~/.aws/credentials or ~/.aws/config drops tokens made with what was there before. Costs two
/// stat calls; the files are not read.
pub fn identity_material(aws_profile: Option<&str>) -> Vec<Vec<u8>> {
    let mut parts = vec![aws_profile.unwrap_or("").as_bytes().to_vec()];
    for name in IDENTITY_ENV {
        parts.push(
            std::env::var_os(name)
                .map(|v| v.into_encoded_bytes())
                .unwrap_or_default(),
        );
    }
    for file in [config_file(), credentials_file()].into_iter().flatten() {
        parts.push(file.as_os_str().as_encoded_bytes().to_vec());
        parts.push(file_stamp(&file));
    }
    parts
}

fn file_stamp(path: &std::path::Path) -> Vec<u8> {
    match std::fs::metadata(path) {
        Ok(m) => {
            let (dev, ino, size, mtime, mtime_nsec, _, _) = crate::sys::stamp(&m);
            format!("{dev}:{ino}:{size}:{mtime}.{mtime_nsec}").into_bytes()
        }
        Err(_) => b"-".to_vec(),
    }
}

/// AWS credentials: an access key id, its secret, the session token of temporary credentials,
/// and when they expire. The secret and the session token are wiped from memory when dropped,
/// and never shown by `Debug`.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: zeroize::Zeroizing<String>,
    session_token: Option<zeroize::Zeroizing<String>>,
    expiry: Option<SystemTime>,
}

impl Credentials {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
        expiry: Option<SystemTime>,
    ) -> Credentials {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: zeroize::Zeroizing::new(secret_access_key.into()),
            session_token: session_token.map(zeroize::Zeroizing::new),
            expiry,
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref().map(String::as_str)
    }

    pub fn expiry(&self) -> Option<SystemTime> {
        self.expiry
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("session_token", &self.session_token.is_some())
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

/// Resolved credentials and a word on where they came from.
pub struct Resolved {
    pub credentials: Credentials,
    pub source: String,
    /// The MFA role session the credentials come from, if they come from one.
    pub session: Option<crate::protocol::SessionInfo>,
}

/// Where a region came from, for `-v` and `profile show`.
#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub source: String,
}

/// The region of the environment: `AWS_REGION`, then `AWS_DEFAULT_REGION`.
pub fn env_region() -> Option<Region> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| {
            env(name).map(|r| Region {
                name: r,
                source: format!("environment ({name})"),
            })
        })
}

/// Credentials straight from the environment, when the default chain would pick them.
pub fn from_env(aws_profile: Option<&str>) -> Result<Option<Resolved>> {
    if aws_profile.is_some() {
        return Ok(None);
    }
    let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) else {
        return Ok(None);
    };
    let session = env("AWS_SESSION_TOKEN").or_else(|| env("AWS_SECURITY_TOKEN"));
    let expiry = match env("AWS_CREDENTIAL_EXPIRATION") {
        Some(text) => Some(crate::when::parse_rfc3339(&text).ok_or_else(|| {
            Error::credentials(format!(
                "AWS_CREDENTIAL_EXPIRATION={text:?} is not an RFC 3339 time"
            ))
            .hint("use a time like 2026-01-31T12:00:00Z, or unset it")
        })?),
        None => None,
    };
    Ok(Some(Resolved {
        credentials: Credentials::new(id, secret, session, expiry),
        source: "environment variables".into(),
        session: None,
    }))
}

/// The profile name aws-config will use: explicit, else AWS_PROFILE, else `default`.
pub fn effective_profile(aws_profile: Option<&str>) -> String {
    aws_profile
        .map(String::from)
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into())
}

/// The helper's answer for resolved credentials (and the region, when one was asked for).
pub fn to_doc(resolved: &Resolved, region: Option<&Region>) -> CredentialsDoc {
    let c = &resolved.credentials;
    CredentialsDoc {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: c.secret_access_key().to_string(),
        session_token: c.session_token().map(String::from),
        expiration: c
            .expiry()
            .map(|t| crate::when::rfc3339(crate::when::unix(t))),
        source: resolved.source.clone(),
        region: region.map(|r| r.name.clone()),
        region_source: region.map(|r| r.source.clone()),
        session: resolved.session.clone(),
    }
}

/// Credentials (and the region, when there is one) from the helper's answer.
pub fn from_doc(doc: &CredentialsDoc) -> Result<(Resolved, Option<Region>)> {
    let expiry = doc.expiration.as_deref().map(parse_rfc3339).transpose()?;
    // Credentials keeps its own copies in zeroizing storage; the document's are wiped on drop.
    let credentials = Credentials::new(
        doc.access_key_id.clone(),
        doc.secret_access_key.clone(),
        doc.session_token.clone(),
        expiry,
    );
    let region = doc.region.clone().map(|name| Region {
        name,
        source: doc.region_source.clone().unwrap_or_default(),
    });
    Ok((
        Resolved {
            credentials,
            source: doc.source.clone(),
            session: doc.session.clone(),
        },
        region,
    ))
}

fn parse_rfc3339(text: &str) -> Result<SystemTime> {
    crate::when::parse_rfc3339(text).ok_or_else(|| {
        Error::internal(format!(
            "iamdb-credentials gave an expiration that is not RFC 3339: {text:?}"
        ))
    })
}

/// Fails when the credentials have already expired: signing works offline, so expired
/// credentials would make a token that looks right and fails at login.
pub fn check_not_expired(resolved: &Resolved, now: SystemTime) -> Result<()> {
    if let Some(expiry) = resolved.credentials.expiry()
        && expiry <= now
    {
        let when = crate::when::rfc3339(crate::when::unix(expiry));
        return Err(Error::credentials(format!(
            "the AWS credentials from {} expired at {when}",
            resolved.source
        ))
        .hint("refresh them (for SSO: `aws sso login`) and try again"));
    }
    Ok(())
}
