//! `iamdb inspect`: what a token says about itself, and what is wrong with it.
//!
//! Every failed IAM login looks the same from the client ("PAM authentication failed",
//! "Access denied"); the token alone often tells why: expired, cut short by an unescaped
//! `.pgpass` line, signed for a tunnel instead of the RDS endpoint, for the wrong region, by a
//! clock in the future. The parser takes any text (it is fuzzed) and never fails: whatever
//! cannot be read becomes a problem in the report. The signature and the session token are
//! never part of the report; the access key id is masked.

use serde::Serialize;

use crate::endpoint;
use crate::engine::{DSQL_MAX_LIFETIME, TOKEN_LIFETIME};

/// One query parameter, percent-decoded.
#[derive(Debug, Clone)]
struct Param {
    name: String,
    value: String,
}

/// What a token says, and what is wrong with it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// What the token is for: "rds" (RDS, Aurora, RDS Proxy), "dsql" (Aurora DSQL),
    /// "elasticache" or "memorydb" (Valkey and Redis OSS caches; the host is the cache's name).
    pub kind: &'static str,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// RDS: the database user. DSQL: `admin` for a DbConnectAdmin token, else None (the
    /// token names no role).
    pub user: Option<String>,
    /// The token's `Action`.
    pub action: Option<String>,
    /// ElastiCache: whether the token is for a serverless cache (`ResourceType`).
    pub serverless: Option<bool>,
    pub region: Option<String>,
    pub service: Option<String>,
    /// The access key id, first and last four characters only.
    pub access_key_id: Option<String>,
    /// "long-term" (AKIA...), "temporary" (ASIA...), or None when the key does not say.
    pub credentials: Option<&'static str>,
    /// Whether the token carries a session token (temporary credentials).
    pub session_token: bool,
    /// Unix seconds.
    pub signed_at: Option<i64>,
    pub expires_at: Option<i64>,
    /// Seconds until expiry; negative once expired.
    pub expires_in: Option<i64>,
    /// Everything that makes the token fail at login, most telling first.
    pub problems: Vec<String>,
}

impl Report {
    /// True when nothing was found wrong.
    pub fn usable(&self) -> bool {
        self.problems.is_empty()
    }
}

/// `%XX` decoded; anything that is not a valid escape is kept as it is. Invalid UTF-8 after
/// decoding is replaced, so the report is always text.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `AKIAIOSFODNN7EXAMPLE` -> `AKIA…MPLE`; short ids are masked whole.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "…".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// `20261121T100000Z` as Unix seconds.
fn amz_date(s: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s, format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// Reads `token` as of `now` (Unix seconds).
/// Where the name of a secret parameter starts inside a value, in any letter case.
fn secret_start(value: &str) -> Option<usize> {
    let lower = value.to_ascii_lowercase();
    ["x-amz-signature", "x-amz-security-token"]
        .iter()
        .filter_map(|name| lower.find(name))
        .min()
}

pub fn inspect(token: &str, now: i64) -> Report {
    let mut problems = Vec::new();
    let mut token = token.trim();
    if let Some(rest) = token
        .strip_prefix("https://")
        .or_else(|| token.strip_prefix("http://"))
    {
        problems.push(
            "the token starts with a URL scheme; the server expects it without (`host:port/?Action=...`, DSQL `host/?Action=...`)"
                .to_string(),
        );
        token = rest;
    }
    let (authority, query) = match token.split_once("/?") {
        Some((a, q)) => (a, Some(q)),
        None => (token.split('/').next().unwrap_or(""), None),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (authority, None),
    };
    // Text with neither a `/` nor a port has nothing of a token's shape: it is the host name of
    // a token cut at its first `:`, or no token at all (said below).
    let shapeless = query.is_none() && port.is_none() && !token.contains('/');
    // Only a real host name is repeated back: text that is not one may be anything the user
    // pasted, a session token included.
    let host = match host {
        "" => None,
        h if crate::endpoint::check_host(h).is_ok() => Some(h.to_string()),
        _ if shapeless => None,
        h => {
            problems.push(format!(
                "what comes before the port is not a host name ({} characters, not shown)",
                h.chars().count()
            ));
            None
        }
    };

    let mut params: Vec<Param> = Vec::new();
    let mut runs_on = false;
    for p in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        let mut value = percent_decode(v);
        // A value that runs into the signature or the session token (an `&` lost on the way)
        // is cut there: whatever follows is never repeated back.
        if let Some(at) = secret_start(&value) {
            value.truncate(at);
            runs_on = true;
        }
        params.push(Param {
            name: percent_decode(n),
            value,
        });
    }
    if runs_on {
        problems.push(
            "malformed: a value runs into X-Amz-Signature or X-Amz-Security-Token (an `&` is missing)"
                .to_string(),
        );
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    };

    // DSQL tokens say so in their service and action; everything else is read as RDS's.
    let credential_service = get("X-Amz-Credential").and_then(|c| c.split('/').nth(3));
    let dsql = credential_service == Some("dsql")
        || matches!(get("Action"), Some("DbConnect" | "DbConnectAdmin"));
    let cache = match credential_service {
        Some("elasticache") => Some("elasticache"),
        Some("memorydb") => Some("memorydb"),
        _ if get("User").is_some() && get("DBUser").is_none() => Some("elasticache"),
        _ => None,
    };
    let kind = match (dsql, cache) {
        (true, _) => "dsql",
        (false, Some(c)) => c,
        (false, None) => "rds",
    };
    // DSQL and cache tokens carry no port; what is left is read the same way.
    let portless = dsql || cache.is_some();

    // What a token cut at its first `:` leaves is the endpoint's name: a dotted name or an
    // address (`localhost` for a tunnel). A lone word (`hello`) is no token at all, and is
    // not shown back as an endpoint.
    let cut_token = shapeless
        && !token.contains([':', '?'])
        && host
            .as_deref()
            .is_some_and(|h| h.contains('.') || h.eq_ignore_ascii_case("localhost"));
    let host = if shapeless && !cut_token { None } else { host };
    if query.is_none() {
        problems.push(if token.is_empty() {
            "empty input: no token".to_string()
        } else if cut_token {
            "truncated: only a host name is left. An unescaped `:` in a .pgpass line cuts a token \
             there; `iamdb pgpass sync` writes it escaped"
                .to_string()
        } else if shapeless {
            "not an IAM token: a token reads `host:port/?Action=connect&DBUser=...&X-Amz-Signature=...` \
             (Aurora DSQL and caches: `name/?Action=...`)"
                .to_string()
        } else {
            "truncated or not a token: no `/?` query after host:port".to_string()
        });
    } else if dsql && port.is_some() {
        problems.push(
            "a DSQL token carries no port (`host/?Action=...`): DSQL refuses one signed for host:port"
                .to_string(),
        );
    } else if cache.is_some() && port.is_some() {
        problems.push(
            "an ElastiCache/MemoryDB token is signed for the cache's name alone (`name/?Action=...`), not host:port"
                .to_string(),
        );
    } else if !portless && port.is_none() {
        problems.push("no port after the host name (`host:port/?...`)".to_string());
    }

    // The credential scope: AKID/yyyymmdd/region/service/aws4_request.
    let credential = get("X-Amz-Credential").unwrap_or("");
    let scope: Vec<&str> = credential.split('/').collect();
    let (key, region, service) = if scope.len() == 5 {
        (Some(scope[0]), Some(scope[2]), Some(scope[3]))
    } else {
        (scope.first().copied().filter(|k| !k.is_empty()), None, None)
    };
    let signed_at = get("X-Amz-Date").and_then(amz_date);
    let expires = get("X-Amz-Expires").map(|e| e.parse::<i64>());
    let signature = get("X-Amz-Signature");
    let session_token = get("X-Amz-Security-Token").is_some_and(|t| !t.is_empty());
    let action = get("Action").map(str::to_string);
    let user = if dsql {
        (action.as_deref() == Some("DbConnectAdmin")).then(|| "admin".to_string())
    } else if cache.is_some() {
        get("User").map(str::to_string)
    } else {
        get("DBUser").map(str::to_string)
    };
    let serverless = cache.map(|_| get("ResourceType") == Some("ServerlessCache"));

    if query.is_some() && cache.is_some() {
        if get("Action") != Some("connect") {
            problems.push("not a cache IAM token: Action is not \"connect\"".to_string());
        }
        if user.as_deref().is_none_or(str::is_empty) {
            problems.push("no User: the token names no cache user".to_string());
        }
        if let Some(t) = get("ResourceType")
            && t != "ServerlessCache"
        {
            problems.push(format!(
                "ResourceType is {t:?}; only ElastiCache Serverless tokens carry one (ServerlessCache)"
            ));
        }
        if kind == "memorydb" && serverless == Some(true) {
            problems.push(
                "MemoryDB has no serverless clusters: ResourceType does not belong".to_string(),
            );
        }
    } else if query.is_some() && dsql {
        if get("DBUser").is_some() {
            problems.push(
                "a DSQL token names no user (DBUser is RDS's): DSQL maps the IAM identity to roles"
                    .to_string(),
            );
        }
    } else if query.is_some() {
        match get("Action") {
            Some("connect") => {}
            Some(other) => problems.push(format!(
                "not an RDS IAM token: Action is {other:?}, not \"connect\""
            )),
            None => problems.push("not an RDS IAM token: no Action=connect".to_string()),
        }
        if user.as_deref().is_none_or(str::is_empty) {
            problems.push("no DBUser: the token names no database user".to_string());
        }
    }
    if query.is_some() {
        if scope.len() != 5 || scope[4] != "aws4_request" {
            problems.push(
                "truncated or malformed: X-Amz-Credential is not KEY/DATE/REGION/SERVICE/aws4_request"
                    .to_string(),
            );
        }
        if let Some(s) = service
            && !dsql
            && cache.is_none()
            && s != "rds-db"
        {
            problems.push(format!(
                "not an RDS IAM token: signed for service {s:?}, not \"rds-db\""
            ));
        }
        if dsql && !matches!(get("Action"), Some("DbConnect" | "DbConnectAdmin")) {
            problems.push(
                "a DSQL token's Action is DbConnectAdmin (the admin role) or DbConnect (any other)"
                    .to_string(),
            );
        }
        if get("X-Amz-Algorithm") != Some("AWS4-HMAC-SHA256") {
            problems.push("X-Amz-Algorithm is missing or not AWS4-HMAC-SHA256".to_string());
        }
        if get("X-Amz-SignedHeaders") != Some("host") {
            problems.push("X-Amz-SignedHeaders is missing or not \"host\"".to_string());
        }
        if get("X-Amz-Date").is_none() {
            problems.push("no X-Amz-Date: when it was signed is unknown".to_string());
        } else if signed_at.is_none() {
            problems.push("X-Amz-Date is not a yyyymmddThhmmssZ time".to_string());
        }
        match signature {
            None => problems.push(
                "truncated: no X-Amz-Signature (the signature is the last parameter)".to_string(),
            ),
            Some(s) if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                problems.push(format!(
                    "truncated or damaged: the signature has {} characters, not 64 hex digits",
                    s.len()
                ))
            }
            Some(_) => {}
        }
        if key.is_some_and(|k| k.starts_with("ASIA")) && !session_token {
            problems.push(
                "temporary credentials (ASIA...) but no X-Amz-Security-Token: the token was cut \
                 or signed without its session token"
                    .to_string(),
            );
        }
    }

    let max_lifetime = if dsql {
        DSQL_MAX_LIFETIME as i64
    } else {
        TOKEN_LIFETIME.as_secs() as i64
    };
    let lifetime = match expires {
        Some(Ok(e)) => {
            if e > max_lifetime {
                problems.push(format!(
                    "X-Amz-Expires is {e} s: {} rejects tokens that claim more than {max_lifetime} s",
                    match kind {
                        "dsql" => "DSQL",
                        "elasticache" => "ElastiCache",
                        "memorydb" => "MemoryDB",
                        _ => "RDS",
                    }
                ));
            } else if e <= 0 {
                problems.push(format!("X-Amz-Expires is {e} s: the token never was valid"));
            }
            Some(e)
        }
        Some(Err(_)) => {
            problems.push("X-Amz-Expires is not a number".to_string());
            None
        }
        None if query.is_some() => {
            problems.push("no X-Amz-Expires".to_string());
            None
        }
        None => None,
    };
    let expires_at = signed_at
        .zip(lifetime)
        .map(|(s, l)| s.saturating_add(l.min(max_lifetime)));
    let expires_in = expires_at.map(|e| e.saturating_sub(now));
    if let Some(s) = signed_at
        && s > now
    {
        problems.push(format!(
            "signed {} in the future: the clock of the machine that made it is ahead (the \
             server refuses tokens signed in the future)",
            crate::when::duration(s.saturating_sub(now))
        ));
    }
    if let (Some(left), Some(at)) = (expires_in, expires_at)
        && left <= 0
    {
        problems.push(format!(
            "expired {} ago ({})",
            crate::when::duration(left),
            crate::when::rfc3339(at)
        ));
    }

    if let Some(h) = host.as_deref() {
        let lower = h.to_ascii_lowercase();
        if lower == "localhost" || h.parse::<std::net::IpAddr>().is_ok() {
            problems.push(format!(
                "signed for {h}, not for the endpoint name: the server checks the name the token \
                 was signed for (through a tunnel, sign for the endpoint and dial the tunnel)"
            ));
        } else if let (Some(named), Some(signed)) = (endpoint::region_from_host(h), region)
            && named != signed
        {
            problems.push(format!(
                "signed for region {signed}, but the endpoint is in {named}"
            ));
        }
    }
    if let Some(r) = region
        && !endpoint::is_region_name(r)
    {
        problems.push(format!("{r:?} is not an AWS region name"));
    }

    Report {
        kind,
        host,
        port,
        user,
        action,
        serverless,
        region: region.map(str::to_string),
        service: service.map(str::to_string),
        access_key_id: key.map(mask),
        credentials: key.and_then(|k| {
            if k.starts_with("AKIA") {
                Some("long-term")
            } else if k.starts_with("ASIA") {
                Some("temporary")
            } else {
                None
            }
        }),
        session_token,
        signed_at,
        expires_at,
        expires_in,
        problems,
    }
}

/// `s` with control characters escaped (`\u{1b}`), so that a pasted escape sequence cannot
/// drive the terminal.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The report as lines for a person.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    // Control characters from the pasted text are shown escaped, never sent to the terminal.
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<12} {}\n", printable(&v)));
    let endpoint = match (&r.host, r.port) {
        (Some(h), None) if r.kind == "elasticache" || r.kind == "memorydb" => format!("cache {h}"),
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.clone(),
        _ => "-".to_string(),
    };
    line("endpoint", endpoint);
    line(
        "for",
        match (r.kind, r.serverless) {
            ("dsql", _) => "Aurora DSQL".to_string(),
            ("elasticache", Some(true)) => {
                "ElastiCache Serverless (Valkey or Redis OSS)".to_string()
            }
            ("elasticache", _) => "ElastiCache (Valkey or Redis OSS)".to_string(),
            ("memorydb", _) => "MemoryDB (Valkey or Redis OSS)".to_string(),
            _ => "RDS, Aurora or RDS Proxy".to_string(),
        },
    );
    if r.kind == "dsql" {
        line("action", r.action.clone().unwrap_or_else(|| "-".into()));
        line(
            "role",
            r.user
                .clone()
                .unwrap_or_else(|| "any granted role but admin".into()),
        );
    } else {
        line("user", r.user.clone().unwrap_or_else(|| "-".into()));
    }
    line("region", r.region.clone().unwrap_or_else(|| "-".into()));
    line("service", r.service.clone().unwrap_or_else(|| "-".into()));
    line(
        "access key",
        r.access_key_id.clone().unwrap_or_else(|| "-".into()),
    );
    line(
        "credentials",
        match (r.credentials, r.session_token) {
            (Some(kind), true) => format!("{kind}, with a session token"),
            (Some(kind), false) => kind.to_string(),
            (None, true) => "with a session token".to_string(),
            (None, false) => "-".to_string(),
        },
    );
    line(
        "signed at",
        r.signed_at.map(crate::when::rfc3339).unwrap_or("-".into()),
    );
    let expiry = match (r.expires_at, r.expires_in) {
        (Some(at), Some(left)) if left > 0 => format!(
            "{} (in {})",
            crate::when::rfc3339(at),
            crate::when::duration(left)
        ),
        (Some(at), Some(left)) => format!(
            "{} ({} ago)",
            crate::when::rfc3339(at),
            crate::when::duration(left)
        ),
        _ => "-".to_string(),
    };
    line("expires at", expiry);
    if r.problems.is_empty() {
        out.push_str("ok: nothing wrong with this token that it can tell by itself\n");
    } else {
        for p in &r.problems {
            out.push_str(&format!("problem: {}\n", printable(p)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_running_into_the_session_token_is_cut() {
        // Found by `cargo fuzz run inspect`: with the `&` before it lost, the session token was
        // shown as part of the user name.
        let pasted =
            "db.example:5432/?Action=connect&DBUser=appX-Amz-Security-Token=FwoGZXIvYXdzEJr";
        let report = inspect(pasted, 1_795_000_000);
        assert_eq!(report.user.as_deref(), Some("app"));
        let shown = render(&report);
        assert!(!shown.contains("FwoGZXIvYXdz"), "{shown}");
        assert!(shown.contains("an `&` is missing"), "{shown}");
    }

    #[test]
    fn text_that_is_not_a_host_is_not_repeated() {
        // Found by `cargo fuzz run inspect`: without `/?`, everything was taken for the host
        // and printed, a session token with it.
        let pasted = "p X-Amz-Security-Token=FwoGZXIvYXdzEJr//////////wEaDOnly&X=1";
        let report = inspect(pasted, 1_795_000_000);
        let shown = render(&report);
        assert!(!shown.contains("FwoGZXIvYXdz"), "{shown}");
        assert!(shown.contains("not a host name"), "{shown}");
    }

    const NOW: i64 = 1_795_255_200; // 2026-11-21T10:00:00Z

    fn token(extra: &str) -> String {
        format!(
            "db1.c9akciq32.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app%40x\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261121%2Feu-west-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20261121T095500Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host{extra}\
             &X-Amz-Signature={}",
            "a".repeat(64)
        )
    }

    #[test]
    fn a_good_token_reads_back() {
        let r = inspect(&format!("  {}\n", token("")), NOW);
        assert!(r.usable(), "{:?}", r.problems);
        assert_eq!(
            r.host.as_deref(),
            Some("db1.c9akciq32.eu-west-1.rds.amazonaws.com")
        );
        assert_eq!(r.port, Some(5432));
        assert_eq!(r.user.as_deref(), Some("app@x"));
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.access_key_id.as_deref(), Some("AKIA…MPLE"));
        assert_eq!(r.credentials, Some("long-term"));
        assert_eq!(r.expires_in, Some(600));
        let text = render(&r);
        assert!(!text.contains("aaaaaaaa"), "{text}");
        assert!(!text.contains("IOSFODNN7"), "{text}");
    }

    #[test]
    fn each_flaw_is_named() {
        let cases: &[(String, &str)] = &[
            (
                "db1.c9akciq32.eu-west-1.rds.amazonaws.com".into(),
                "only a host name",
            ),
            (token("")[..200].to_string(), "no X-Amz-Signature"),
            (
                token("").replace("Expires=900", "Expires=3600"),
                "rejects tokens",
            ),
            (token("").replace("T095500Z", "T110000Z"), "in the future"),
            (token("").replace("rds-db", "s3"), "not \"rds-db\""),
            (
                token("").replace("Action=connect", "Action=GetObject"),
                "not \"connect\"",
            ),
            (
                token("").replace("T095500Z", "T090000Z"),
                "expired 45m 00s ago",
            ),
            (
                token("").replace("db1.c9akciq32.eu-west-1.rds.amazonaws.com", "127.0.0.1"),
                "not for the endpoint name",
            ),
            (
                token("").replace("%2Feu-west-1%2F", "%2Fus-east-1%2F"),
                "endpoint is in eu-west-1",
            ),
            (
                token("").replace("AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE"),
                "no X-Amz-Security-Token",
            ),
            (format!("https://{}", token("")), "URL scheme"),
            (String::new(), "empty input"),
        ];
        for (t, want) in cases {
            let r = inspect(t, NOW);
            assert!(
                r.problems.iter().any(|p| p.contains(want)),
                "{want}: {:?}",
                r.problems
            );
        }
        let with_session = inspect(
            &token("&X-Amz-Security-Token=FQoGZXIvYXdzE%2Fsecret").replace("AKIA", "ASIA"),
            NOW,
        );
        assert!(with_session.usable(), "{:?}", with_session.problems);
        assert!(with_session.session_token);
        assert!(!render(&with_session).contains("FQoG"));
    }

    #[test]
    fn a_word_is_not_a_token_but_a_cut_token_is_truncated() {
        for word in ["hello", "hello world", "abc?def"] {
            let r = inspect(&format!("{word}\n"), NOW);
            assert_eq!(r.problems.len(), 1, "{word}: {:?}", r.problems);
            assert!(
                r.problems[0].starts_with("not an IAM token"),
                "{word}: {:?}",
                r.problems
            );
            assert_eq!(r.host, None, "{word}");
            assert!(!render(&r).contains(".pgpass"), "{word}");
        }
        // What libpq reads from an unescaped .pgpass line: the endpoint, or a tunnel's name.
        for cut in [
            "db1.c9akciq32.eu-west-1.rds.amazonaws.com",
            "localhost",
            "10.0.0.7",
        ] {
            let r = inspect(cut, NOW);
            assert!(
                r.problems.iter().any(|p| p.contains("only a host name")),
                "{cut}: {:?}",
                r.problems
            );
            assert_eq!(r.host.as_deref(), Some(cut));
        }
    }

    #[test]
    fn cache_tokens_name_their_cache_user_and_kind() {
        let ec = "orders-rg/?Action=connect&User=app%20one&X-Amz-Algorithm=AWS4-HMAC-SHA256\
            &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261121%2Fus-east-1%2Felasticache%2Faws4_request\
            &X-Amz-Date=20261121T095500Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
            &X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = inspect(ec, NOW);
        assert!(r.usable(), "{:?}", r.problems);
        assert_eq!(
            (r.kind, r.user.as_deref(), r.serverless),
            ("elasticache", Some("app one"), Some(false))
        );
        assert!(render(&r).contains("cache orders-rg"), "{}", render(&r));
        let sl = inspect(
            &ec.replace(
                "User=app%20one&",
                "User=app%20one&ResourceType=ServerlessCache&",
            ),
            NOW,
        );
        assert!(sl.usable(), "{:?}", sl.problems);
        assert_eq!(sl.serverless, Some(true));
        let mdb = inspect(&ec.replace("elasticache", "memorydb"), NOW);
        assert_eq!(mdb.kind, "memorydb");
        assert!(mdb.usable(), "{:?}", mdb.problems);
        for (t, want) in [
            (ec.replace("Expires=900", "Expires=3600"), "more than 900"),
            (
                ec.replace("orders-rg/?", "orders-rg:6379/?"),
                "cache's name alone",
            ),
            (ec.replace("User=app%20one&", ""), "no User"),
        ] {
            let r = inspect(&t, NOW);
            assert!(
                r.problems.iter().any(|p| p.contains(want)),
                "{want}: {:?}",
                r.problems
            );
        }
    }

    #[test]
    fn dsql_tokens_are_read_as_dsql() {
        let dsql = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws/?Action=DbConnectAdmin\
            &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261121%2Fus-east-1%2Fdsql%2Faws4_request\
            &X-Amz-Date=20261121T095500Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host\
            &X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = inspect(dsql, NOW);
        assert!(r.usable(), "{:?}", r.problems);
        assert_eq!(r.kind, "dsql");
        assert_eq!(r.user.as_deref(), Some("admin"));
        assert_eq!(r.port, None);
        assert_eq!(r.expires_in, Some(604_800 - 300));
        let text = render(&r);
        assert!(
            text.contains("Aurora DSQL") && text.contains("DbConnectAdmin"),
            "{text}"
        );
        let role = inspect(&dsql.replace("DbConnectAdmin", "DbConnect"), NOW);
        assert!(role.usable() && role.user.is_none(), "{:?}", role.problems);

        for (t, want) in [
            (
                dsql.replace("Expires=604800", "Expires=604801"),
                "more than 604800",
            ),
            (
                dsql.replace(".on.aws/?", ".on.aws:5432/?"),
                "carries no port",
            ),
            (
                dsql.replace("Action=DbConnectAdmin", "Action=connect"),
                "DbConnectAdmin",
            ),
            (
                dsql.replace("Action=DbConnectAdmin", "Action=DbConnect&DBUser=app"),
                "names no user",
            ),
            (
                dsql.replace("%2Fus-east-1%2F", "%2Fus-west-2%2F"),
                "endpoint is in us-east-1",
            ),
        ] {
            let r = inspect(&t, NOW);
            assert!(
                r.problems.iter().any(|p| p.contains(want)),
                "{want}: {:?}",
                r.problems
            );
        }
    }

    /// A small deterministic fuzzer: truncations, byte flips and insertions of the
    /// characters that matter to the parser, over a good token. Nothing may panic.
    #[test]
    fn never_panics_on_mangled_tokens() {
        let base = token("&X-Amz-Security-Token=abc%2Fdef").into_bytes();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for cut in 0..=base.len() {
            let _ = inspect(&String::from_utf8_lossy(&base[..cut]), NOW);
        }
        let specials = b"%&=/?:+ \x00\xff\xc3T0Z9-";
        for _ in 0..20_000 {
            let mut t = base.clone();
            for _ in 0..(next() % 6 + 1) {
                let pos = (next() as usize) % (t.len() + 1);
                match next() % 3 {
                    0 if pos < t.len() => t[pos] = specials[(next() as usize) % specials.len()],
                    1 => t.insert(pos, specials[(next() as usize) % specials.len()]),
                    _ => t.truncate(pos),
                }
            }
            let r = inspect(&String::from_utf8_lossy(&t), NOW);
            let _ = render(&r);
        }
        let good = token("");
        for extreme in [
            good.replace("20261121T095500Z", "99991231T235959Z"),
            good.replace("20261121T095500Z", "00000101T000000Z"),
            good.replace("Expires=900", "Expires=-9223372036854775808"),
            good.replace("Expires=900", "Expires=9223372036854775807"),
            good.replace("5432", "99999999999"),
        ] {
            let _ = render(&inspect(&extreme, NOW));
        }
    }
}
