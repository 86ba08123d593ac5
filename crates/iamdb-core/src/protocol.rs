//! The one conversation between `iamdb` and `iamdb-credentials`, typed on both ends: iamdb
//! writes one [`Request`] as JSON on the helper's stdin (never on its command line, which `ps`
//! shows), the helper writes one [`Answer`] as JSON on its stdout, and its logs (`-v`) go to
//! stderr. Both programs use these types, so a renamed field is a compile error rather than a
//! surprise at run time; [`VERSION`] changes whenever the conversation does, and each end
//! refuses an answer or request of another version with a message naming both releases.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind};
use crate::settings::Choice;

/// The version of this conversation. Version 1 was the argument-list interface of iamdb 0.1
/// before it; its answers have no `protocol` field. Version 3 added MFA role sessions.
pub const VERSION: u32 = 3;

/// What iamdb asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub protocol: u32,
    /// How many `-v` iamdb got: the helper logs as much to stderr.
    pub verbose: u8,
    pub call: Call,
}

impl Request {
    pub fn new(call: Call, verbose: u8) -> Request {
        Request {
            protocol: VERSION,
            verbose,
            call,
        }
    }
}

/// The helper's calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Call {
    /// AWS credentials through aws-config, and the region too with `need_region`. Only the
    /// AWS profile `aws_profile` when one is given, else the default chain; STS calls go to
    /// `sts_region` when AWS config names no region.
    ///
    /// A profile whose role chain has `mfa_serial` is resolved by the helper itself: role
    /// sessions are looked up in the stores of `sessions`, and one that is missing is made
    /// with `mfa` when it is the code for that hop's device, else the answer is
    /// [`Reply::NeedMfa`]. With `sessions_since` (Unix milliseconds), only sessions made
    /// since then are served (`iamdb login` makes a new one).
    Credentials {
        aws_profile: Option<String>,
        need_region: bool,
        sts_region: Option<String>,
        #[serde(default)]
        mfa: Option<MfaCode>,
        #[serde(default)]
        sessions_since: Option<u64>,
        #[serde(default = "auto")]
        sessions: Choice,
    },
    /// STS GetCallerIdentity: account, ARN, and the time in STS's Date header.
    Identity {
        aws_profile: Option<String>,
        region: String,
        #[serde(default = "auto")]
        sessions: Choice,
    },
    /// The RDS instance, Aurora cluster or RDS Proxy whose endpoint `host` is.
    Lookup {
        aws_profile: Option<String>,
        region: String,
        host: String,
        #[serde(default = "auto")]
        sessions: Choice,
    },
    /// The ElastiCache replication group or serverless cache, or MemoryDB cluster, `name`.
    CacheLookup {
        aws_profile: Option<String>,
        region: String,
        name: String,
        memorydb: bool,
        serverless: bool,
        #[serde(default = "auto")]
        sessions: Choice,
    },
    /// A TLS handshake with a database server at `connect:port`, started the way `wire`
    /// starts it, verifying the certificate for `host` against the CA file `ca`.
    Handshake {
        host: String,
        connect: String,
        port: u16,
        wire: Wire,
        ca: PathBuf,
    },
    /// An HTTPS download of a PEM CA bundle (every certificate must parse).
    FetchBundle { url: String },
}

fn auto() -> Choice {
    Choice::Auto
}

/// A code typed for (or printed by `mfa_process` for) one MFA device. Wiped when dropped.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaCode {
    /// The device's serial number or ARN (`mfa_serial`).
    pub serial: String,
    pub code: String,
}

impl std::fmt::Debug for MfaCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaCode")
            .field("serial", &self.serial)
            .field("code", &"<hidden>")
            .finish()
    }
}

impl Drop for MfaCode {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.code);
    }
}

/// A role session that needs an MFA code before it can be made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaChallenge {
    /// The AWS profile whose `mfa_serial` it is (the one asked for, or one in its chain).
    pub aws_profile: String,
    pub role_arn: String,
    pub serial: String,
    /// `mfa_process` from that AWS profile, if it has one.
    pub mfa_process: Option<String>,
    /// The session's cache key (hex): iamdb serialises the asking on it.
    pub key: String,
}

/// The role session behind resolved credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub aws_profile: String,
    pub role_arn: String,
    pub serial: String,
    /// RFC 3339.
    pub expiration: String,
    /// Served from the cache rather than made by this call.
    pub cached: bool,
}

/// How a database server expects TLS to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wire {
    /// PostgreSQL's SSLRequest, then TLS.
    Postgres,
    /// The MySQL/MariaDB greeting, an SSL request packet, then TLS.
    Mysql,
    /// TLS from the first byte (Valkey and Redis OSS).
    Tls,
}

/// What the helper answers: `ok` or `error`, never both.
#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    pub protocol: u32,
    /// `iamdb-credentials 0.1.0 (commit ...)`, for messages about mismatched releases.
    pub program: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// A call's result.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Credentials(CredentialsDoc),
    Cache(CacheResource),
    /// The credentials need a role session that needs an MFA code, and none was given.
    NeedMfa(MfaChallenge),
    Identity(Identity),
    Resource(Resource),
    Handshake(Handshake),
    Bundle {
        pem: String,
    },
}

/// A failed call: the error as iamdb would have made it, with the exit code of its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
    #[serde(default)]
    pub hint: Option<String>,
    pub exit_code: i32,
}

impl From<&Error> for Failure {
    fn from(e: &Error) -> Failure {
        Failure {
            kind: e.kind,
            message: e.message().to_string(),
            hint: e.hint_text().map(String::from),
            exit_code: e.exit_code(),
        }
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        let e = Error::new(f.kind, f.message);
        match f.hint {
            Some(h) => e.hint(h),
            None => e,
        }
    }
}

/// Resolved AWS credentials, and where they and the region came from. Secrets are wiped from
/// memory when it is dropped.
#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialsDoc {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default)]
    pub session_token: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub expiration: Option<String>,
    pub source: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub region_source: Option<String>,
    /// The MFA role session they come from, if they come from one.
    #[serde(default)]
    pub session: Option<SessionInfo>,
}

impl Drop for CredentialsDoc {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret_access_key.zeroize();
        self.session_token.zeroize();
    }
}

/// What STS says about the caller.
#[derive(Debug, Serialize, Deserialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    /// The time in STS's `Date` header, Unix seconds, when it sent one.
    pub server_time: Option<i64>,
    /// Where the credentials came from, and when they expire (RFC 3339).
    pub source: String,
    pub expiration: Option<String>,
}

/// What IAM authentication is granted on: an instance (`db-`), an Aurora cluster (`cluster-`)
/// or an RDS Proxy (`prx-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    Instance,
    Cluster,
    Proxy,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Instance => "instance",
            ResourceKind::Cluster => "cluster",
            ResourceKind::Proxy => "proxy",
        }
    }
}

/// The RDS resource an endpoint belongs to.
#[derive(Debug, Serialize, Deserialize)]
pub struct Resource {
    pub kind: ResourceKind,
    /// The instance or cluster identifier, or the proxy name.
    pub identifier: String,
    /// `db-...`, `cluster-...` (an Aurora instance's cluster's) or `prx-...`.
    pub resource_id: String,
    pub engine: Option<String>,
    /// Whether IAM database authentication is on, when RDS says.
    pub iam_enabled: Option<bool>,
    /// For an Aurora instance: IAM is granted on its cluster, named here.
    pub via_instance: Option<String>,
}

/// An ElastiCache or MemoryDB cache, as its API describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheResource {
    pub arn: String,
    /// `valkey` or `redis`, when the API says.
    pub engine: Option<String>,
    /// ElastiCache: the user groups attached (the IAM user must be added to one).
    pub user_groups: Vec<String>,
    /// MemoryDB: the ACL attached.
    pub acl: Option<String>,
    pub status: Option<String>,
}

/// What a completed handshake agreed on.
#[derive(Debug, Serialize, Deserialize)]
pub struct Handshake {
    pub version: String,
    pub cipher: String,
}

/// The protocol version an answer (or request) says it speaks, read before anything else so
/// that a mismatch is reported as one, whatever else changed: `protocol`, or 1 for the
/// answers of the argument-list helper before it (a `credential_process` document).
pub fn version_of(doc: &serde_json::Value) -> Option<u32> {
    match doc.get("protocol") {
        Some(v) => v.as_u64().and_then(|v| u32::try_from(v).ok()),
        None if doc.get("Version").is_some() => Some(1),
        None => None,
    }
}

/// The error for two programs of different releases.
pub fn mismatch(iamdb: &str, helper: &str, helper_version: u32) -> Error {
    Error::new(
        Kind::Install,
        format!(
            "{iamdb} speaks version {VERSION} of the helper protocol, but {helper} speaks version {helper_version}"
        ),
    )
    .hint("install iamdb and iamdb-credentials from the same release, side by side")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_round_trip() {
        let request = Request::new(
            Call::Credentials {
                aws_profile: Some("dev".into()),
                need_region: true,
                sts_region: None,
                mfa: Some(MfaCode {
                    serial: "arn:aws:iam::123456789012:mfa/alice".into(),
                    code: "987650".into(),
                }),
                sessions_since: None,
                sessions: Choice::Auto,
            },
            1,
        );
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.starts_with("{\"protocol\":3,"), "{text}");
        assert!(
            !format!("{request:?}").contains("987650"),
            "a code never reaches a log line"
        );
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), request);

        let failure = Failure::from(&Error::credentials("no").hint("do this"));
        let answer = Answer {
            protocol: VERSION,
            program: "iamdb-credentials 0.1.0".into(),
            ok: None,
            error: Some(failure.clone()),
        };
        let doc: serde_json::Value = serde_json::to_value(&answer).unwrap();
        assert_eq!(doc["error"]["kind"], "credentials");
        assert_eq!(doc["error"]["exit_code"], 4);
        let back: Answer = serde_json::from_value(doc).unwrap();
        assert_eq!(back.error, Some(failure));
    }

    #[test]
    fn versions_are_read_before_anything_else() {
        let v = |text: &str| version_of(&serde_json::from_str(text).unwrap());
        assert_eq!(v("{\"protocol\": 3, \"whatever\": []}"), Some(3));
        assert_eq!(
            v("{\"Version\": 1, \"AccessKeyId\": \"AKIA\", \"SecretAccessKey\": \"x\"}"),
            Some(1)
        );
        assert_eq!(v("{}"), None);
    }
}
