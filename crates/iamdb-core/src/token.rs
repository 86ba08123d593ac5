//! IAM authentication tokens: SigV4 query-string presigned GET URLs without their scheme.
//!
//! - RDS, Aurora and RDS Proxy: `host:port/?Action=connect&DBUser=...`, service `rds-db`,
//!   900 s (botocore's `generate_db_auth_token`);
//! - Aurora DSQL: `host/?Action=DbConnectAdmin` (the `admin` role) or `Action=DbConnect`,
//!   service `dsql`, no port, 1 s to a week (botocore's `generate_db_connect_[admin_]auth_token`);
//! - ElastiCache and MemoryDB: `<cache name>/?Action=connect&User=...` (ElastiCache Serverless
//!   adds `&ResourceType=ServerlessCache`), service `elasticache` or `memorydb`, 900 s (botocore's
//!   request signer, as AWS's own samples use it).
//!
//! The layout follows botocore exactly, so that iamdb prints the same bytes as the AWS CLI for
//! the same credentials and instant: operation parameters first, then the auth parameters in
//! botocore's order with `X-Amz-Security-Token` before the signature. aws-sigv4's own presigner
//! orders them differently and aws-sdk-rust's `auth_token` mis-encodes some user names, so the
//! canonical request, the key derivation and the HMAC are all built here.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::credentials::Credentials;

pub use crate::engine::{TOKEN_LIFETIME, TokenKind};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// sha256 of the empty payload: presigned GETs sign no body.
const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a token is made for.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: TokenKind,
    pub host: &'a str,
    pub port: u16,
    /// The database user (RDS) or role (DSQL: `admin` signs `DbConnectAdmin`).
    pub user: &'a str,
    pub region: &'a str,
    /// `X-Amz-Expires`: 900 for RDS, 1 s to a week for DSQL.
    pub expires_in: u64,
}

impl Target<'_> {
    fn service(&self) -> &'static str {
        match self.kind {
            TokenKind::Rds => "rds-db",
            TokenKind::Dsql => "dsql",
            TokenKind::ElastiCache | TokenKind::ElastiCacheServerless => "elasticache",
            TokenKind::MemoryDb => "memorydb",
        }
    }

    /// What the token starts with, before `/?`: the host, with its port for RDS (for
    /// ElastiCache and MemoryDB the host is the cache's name).
    fn authority(&self) -> String {
        match self.kind {
            TokenKind::Rds => format!("{}:{}", self.host, self.port),
            _ => self.host.to_string(),
        }
    }

    /// The `host` header SigV4 signs: lowercase, and without `:443` (botocore drops the
    /// default port of https from the signature, while an RDS token's text keeps it).
    fn canonical_host(&self) -> String {
        let host = self.host.to_ascii_lowercase();
        match self.kind {
            TokenKind::Rds if self.port != 443 => format!("{host}:{}", self.port),
            _ => host,
        }
    }

    /// The operation's parameters, encoded, in botocore's order.
    fn operation(&self) -> Vec<(&'static str, String)> {
        match self.kind {
            TokenKind::Rds => vec![
                ("Action", "connect".into()),
                ("DBUser", percent_encode(self.user)),
            ],
            TokenKind::Dsql => vec![(
                "Action",
                if self.user == "admin" {
                    "DbConnectAdmin"
                } else {
                    "DbConnect"
                }
                .into(),
            )],
            TokenKind::ElastiCache | TokenKind::MemoryDb => vec![
                ("Action", "connect".into()),
                ("User", percent_encode(self.user)),
            ],
            TokenKind::ElastiCacheServerless => vec![
                ("Action", "connect".into()),
                ("User", percent_encode(self.user)),
                ("ResourceType", "ServerlessCache".into()),
            ],
        }
    }
}

/// Percent-encodes everything but `A-Za-z0-9-_.~`, as SigV4 and botocore's `percent_encode`
/// do (a space is `%20`, never `+`). Non-ASCII is encoded as its UTF-8 bytes.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

/// Signs a token for `target` with `credentials` at `now`.
pub fn sign(target: Target<'_>, credentials: &Credentials, now: SystemTime) -> String {
    let amz_date = amz_date(now);
    let date = &amz_date[..8];
    let service = target.service();
    let scope = format!("{date}/{}/{service}/aws4_request", target.region);

    let mut params = target.operation();
    params.extend([
        ("X-Amz-Algorithm", ALGORITHM.into()),
        (
            "X-Amz-Credential",
            percent_encode(&format!("{}/{scope}", credentials.access_key_id())),
        ),
        ("X-Amz-Date", amz_date.clone()),
        ("X-Amz-Expires", target.expires_in.to_string()),
        ("X-Amz-SignedHeaders", "host".into()),
    ]);
    if let Some(session_token) = credentials.session_token() {
        params.push(("X-Amz-Security-Token", percent_encode(session_token)));
    }
    let query = join_params(params.iter());

    // The canonical query string is the same pairs sorted by (encoded) name, then value.
    params.sort();
    let canonical_request = format!(
        "GET\n/\n{}\nhost:{}\n\nhost\n{EMPTY_PAYLOAD_SHA256}",
        join_params(params.iter()),
        target.canonical_host()
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(
        credentials.secret_access_key(),
        date,
        target.region,
        service,
    );
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    format!(
        "{}/?{query}&X-Amz-Signature={signature}",
        target.authority()
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SigV4's signing key: the secret, HMAC-chained through the date, region and service.
fn signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> zeroize::Zeroizing<Vec<u8>> {
    let first = zeroize::Zeroizing::new(format!("AWS4{secret}"));
    let mut key = zeroize::Zeroizing::new(hmac(first.as_bytes(), date.as_bytes()));
    for part in [region, service, "aws4_request"] {
        key = zeroize::Zeroizing::new(hmac(&key, part.as_bytes()));
    }
    key
}

/// The `X-Amz-Date` form of an instant: `20261121T100000Z`.
fn amz_date(now: SystemTime) -> String {
    let datetime = time::OffsetDateTime::from(now);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        datetime.year(),
        u8::from(datetime.month()),
        datetime.day(),
        datetime.hour(),
        datetime.minute(),
        datetime.second()
    )
}

/// The longest token iamdb accepts back from a cache (session tokens make them 1-3 KB).
const MAX_TOKEN_LEN: usize = 16 << 10;

/// Checks that `token` is exactly what [`sign`] makes for `target` at `signed_at` (Unix
/// seconds): same endpoint, user, region, service and instant, botocore's parameter order,
/// a well-formed signature, and nothing else. What a cache hands back is checked this way
/// before it is served, so that an entry someone planted or damaged (a token for another
/// host, a line break, a lifetime RDS never grants) is a miss, never a token sent anywhere.
pub fn check_shape(token: &str, target: Target<'_>, signed_at: u64) -> Result<(), String> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(format!("the token is {} bytes long", token.len()));
    }
    if let Some(c) = token
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.~%&=/?:".contains(*c)))
    {
        return Err(format!("the token holds {c:?}"));
    }
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(signed_at);
    let date = amz_date(at);
    let prefix = format!(
        "{}/?{}&X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential=",
        target.authority(),
        join_params(target.operation().iter())
    );
    let rest = token
        .strip_prefix(&prefix)
        .ok_or("the token is not for this endpoint and user")?;
    let mut params = rest.split('&');
    let credential = params.next().unwrap_or_default();
    let scope = format!(
        "%2F{}%2F{}%2F{}%2Faws4_request",
        &date[..8],
        target.region,
        target.service()
    );
    let key_id = credential
        .strip_suffix(&scope)
        .ok_or("the token's credential scope is not this region, date and service")?;
    if key_id.is_empty() || !key_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("the token's access key id is malformed".into());
    }
    let expected = [
        format!("X-Amz-Date={date}"),
        format!("X-Amz-Expires={}", target.expires_in),
        "X-Amz-SignedHeaders=host".to_string(),
    ];
    for want in &expected {
        if params.next() != Some(want.as_str()) {
            return Err(format!("the token lacks {want}"));
        }
    }
    let mut next = params.next().unwrap_or_default();
    if let Some(session) = next.strip_prefix("X-Amz-Security-Token=") {
        if session.is_empty() || session.contains(['/', '?', ':', '=']) {
            return Err("the token's session token is malformed".into());
        }
        next = params.next().unwrap_or_default();
    }
    let signature = next
        .strip_prefix("X-Amz-Signature=")
        .ok_or("the token has no signature")?;
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("the token's signature is malformed".into());
    }
    if params.next().is_some() {
        return Err("the token has parameters after its signature".into());
    }
    Ok(())
}

fn join_params<'a>(params: impl Iterator<Item = &'a (&'a str, String)>) -> String {
    let mut out = String::new();
    for (name, value) in params {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A short, non-reversible fingerprint of a secret, for cache keys.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(String::from),
            None,
        )
    }

    #[test]
    fn percent_encoding_matches_sigv4() {
        assert_eq!(percent_encode("a+b"), "a%2Bb");
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("A-z_0.9~"), "A-z_0.9~");
        assert_eq!(percent_encode("é/@=&#%"), "%C3%A9%2F%40%3D%26%23%25");
    }

    #[test]
    fn token_layout_is_botocores() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let target = Target {
            kind: TokenKind::Rds,
            host: "db.abc.us-east-1.rds.amazonaws.com",
            port: 5432,
            user: "app",
            region: "us-east-1",
            expires_in: 900,
        };
        let t = sign(target, &creds(None), now);
        let prefix = "db.abc.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app\
            &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Fus-east-1%2Frds-db%2Faws4_request\
            &X-Amz-Date=20231114T221320Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=";
        assert!(t.starts_with(prefix), "{t}");
        assert_eq!(t.len(), prefix.len() + 64);

        let t = sign(target, &creds(Some("tok+/=")), now);
        assert!(
            t.contains(
                "&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok%2B%2F%3D&X-Amz-Signature="
            ),
            "{t}"
        );
    }

    #[test]
    fn signature_depends_on_every_input() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let base = Target {
            kind: TokenKind::Rds,
            host: "h.example",
            port: 3306,
            user: "u",
            region: "eu-west-1",
            expires_in: 900,
        };
        let sig = |t: Target<'_>, c: &Credentials, n| {
            sign(t, c, n).rsplit_once('=').map(|(_, s)| s.to_string())
        };
        let reference = sig(base, &creds(None), now);
        assert_ne!(
            reference,
            sig(Target { port: 3307, ..base }, &creds(None), now)
        );
        assert_ne!(
            reference,
            sig(Target { user: "v", ..base }, &creds(None), now)
        );
        assert_ne!(
            reference,
            sig(
                Target {
                    region: "eu-west-2",
                    ..base
                },
                &creds(None),
                now
            )
        );
        assert_ne!(reference, sig(base, &creds(Some("t")), now));
        assert_ne!(
            reference,
            sig(base, &creds(None), now + Duration::from_secs(1))
        );
        // The host is signed in lowercase, so its case does not change the signature.
        assert_eq!(
            reference,
            sig(
                Target {
                    host: "H.Example",
                    ..base
                },
                &creds(None),
                now
            )
        );
    }

    #[test]
    fn only_tokens_iamdb_would_sign_pass_the_shape_check() {
        let signed_at = 1_700_000_000;
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(signed_at);
        let target = Target {
            kind: TokenKind::Rds,
            host: "db.abc.us-east-1.rds.amazonaws.com",
            port: 5432,
            user: "a+b c",
            region: "us-east-1",
            expires_in: 900,
        };
        for session in [None, Some("tok+/=")] {
            let t = sign(target, &creds(session), now);
            assert_eq!(check_shape(&t, target, signed_at), Ok(()), "{t}");
            let bad = [
                t.replacen("db.abc", "evil.abc", 1),
                t.replacen("DBUser=a%2Bb%20c", "DBUser=admin", 1),
                t.replacen("X-Amz-Expires=900", "X-Amz-Expires=86400", 1),
                format!("{t}\nevil"),
                format!("{t}&X=1"),
                t[..t.len() - 1].to_string(),
            ];
            for b in bad {
                assert!(check_shape(&b, target, signed_at).is_err(), "{b}");
            }
            assert!(
                check_shape(&t, target, signed_at + 1).is_err(),
                "another instant"
            );
            let other_region = Target {
                region: "us-west-2",
                ..target
            };
            assert!(check_shape(&t, other_region, signed_at).is_err());
        }
    }

    #[test]
    fn dsql_tokens_have_no_port_and_an_action_per_role() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let admin = Target {
            kind: TokenKind::Dsql,
            host: "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws",
            port: 5432,
            user: "admin",
            region: "us-east-1",
            expires_in: 3600,
        };
        let t = sign(admin, &creds(None), now);
        let prefix = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/?Action=DbConnectAdmin\
            &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Fus-east-1%2Fdsql%2Faws4_request\
            &X-Amz-Date=20231114T221320Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=";
        assert!(t.starts_with(prefix), "{t}");
        assert_eq!(check_shape(&t, admin, 1_700_000_000), Ok(()));
        let role = Target {
            user: "app",
            ..admin
        };
        let t2 = sign(role, &creds(None), now);
        assert!(t2.contains("/?Action=DbConnect&X-Amz-Algorithm"), "{t2}");
        assert!(check_shape(&t2, admin, 1_700_000_000).is_err());
        assert!(
            check_shape(
                &t2,
                Target {
                    expires_in: 900,
                    ..role
                },
                1_700_000_000
            )
            .is_err(),
            "another lifetime"
        );
        // The port is neither in the text nor in the signature.
        assert_eq!(sign(Target { port: 1, ..role }, &creds(None), now), t2);
    }

    #[test]
    fn the_signing_key_is_sigv4s() {
        // The example of AWS's "Create a signature for an AWS API request" guide.
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }
}
