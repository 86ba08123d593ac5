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

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

/// An upper bound on resolving credentials (STS, SSO, a credential_process...);
/// `IAMDB_CREDENTIALS_TIMEOUT` (seconds, 1 to 3600) changes it.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn resolve_timeout() -> Duration {
    std::env::var("IAMDB_CREDENTIALS_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .map_or(RESOLVE_TIMEOUT, Duration::from_secs)
}

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

#[cfg(unix)]
fn file_stamp(path: &std::path::Path) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => format!(
            "{}:{}:{}:{}.{}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        )
        .into_bytes(),
        Err(_) => b"-".to_vec(),
    }
}

#[cfg(not(unix))]
fn file_stamp(path: &std::path::Path) -> Vec<u8> {
    match std::fs::metadata(path).and_then(|m| Ok((m.len(), m.modified()?))) {
        Ok((len, mtime)) => format!("{len}:{mtime:?}").into_bytes(),
        Err(_) => b"-".to_vec(),
    }
}

/// Resolved credentials and a word on where they came from.
pub struct Resolved {
    pub credentials: Credentials,
    pub source: String,
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
fn from_env(aws_profile: Option<&str>) -> Result<Option<Resolved>> {
    if aws_profile.is_some() {
        return Ok(None);
    }
    let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) else {
        return Ok(None);
    };
    let session = env("AWS_SESSION_TOKEN").or_else(|| env("AWS_SECURITY_TOKEN"));
    let expiry = match env("AWS_CREDENTIAL_EXPIRATION") {
        Some(text) => Some(
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .map(SystemTime::from)
                .map_err(|_| {
                    Error::credentials(format!(
                        "AWS_CREDENTIAL_EXPIRATION={text:?} is not an RFC 3339 time"
                    ))
                    .hint("use a time like 2026-01-31T12:00:00Z, or unset it")
                })?,
        ),
        None => None,
    };
    Ok(Some(Resolved {
        credentials: Credentials::new(id, secret, session, expiry, "Environment"),
        source: "environment variables".into(),
    }))
}

/// The profile name aws-config will use: explicit, else AWS_PROFILE, else `default`.
pub fn effective_profile(aws_profile: Option<&str>) -> String {
    aws_profile
        .map(String::from)
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into())
}

/// Resolves credentials, and the region too when `need_region` is set (the host did not
/// name one and nothing else did). `sts_region` is the region STS calls go to when AWS config
/// names none: the database's own region.
pub fn resolve(
    aws_profile: Option<&str>,
    need_region: bool,
    sts_region: Option<&str>,
) -> Result<(Resolved, Option<Region>)> {
    resolve_with(aws_profile, need_region, sts_region, false)
}

/// [`resolve`], with the helper's errors returned rather than printed when `quiet`.
pub fn resolve_with(
    aws_profile: Option<&str>,
    need_region: bool,
    sts_region: Option<&str>,
    quiet: bool,
) -> Result<(Resolved, Option<Region>)> {
    let env_region = env_region();
    if let Some(resolved) = from_env(aws_profile)?
        && (!need_region || env_region.is_some())
    {
        return Ok((resolved, if need_region { env_region } else { None }));
    }
    run_helper(aws_profile, need_region, sts_region, quiet)
}

/// What the helper prints: the `credential_process` JSON document, plus where the
/// credentials and the region came from.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HelperOutput {
    pub version: u32,
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_source: Option<String>,
}

impl Drop for HelperOutput {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret_access_key.zeroize();
        self.session_token.zeroize();
    }
}

impl HelperOutput {
    pub fn new(resolved: &Resolved, region: Option<&Region>) -> HelperOutput {
        let c = &resolved.credentials;
        HelperOutput {
            version: 1,
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().map(String::from),
            expiration: c.expiry().map(rfc3339),
            source: resolved.source.clone(),
            region: region.map(|r| r.name.clone()),
            region_source: region.map(|r| r.source.clone()),
        }
    }

    fn into_resolved(mut self) -> Result<(Resolved, Option<Region>)> {
        let expiry = self.expiration.as_deref().map(parse_rfc3339).transpose()?;
        // Credentials keeps its own copies in zeroizing storage; ours are wiped on drop.
        let credentials = Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
            self.session_token.clone(),
            expiry,
            "iamdb-credentials",
        );
        let region = self.region.take().map(|name| Region {
            name,
            source: self.region_source.take().unwrap_or_default(),
        });
        Ok((
            Resolved {
                credentials,
                source: std::mem::take(&mut self.source),
            },
            region,
        ))
    }
}

pub fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn parse_rfc3339(text: &str) -> Result<SystemTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|_| {
            Error::internal(format!(
                "iamdb-credentials gave an expiration that is not RFC 3339: {text:?}"
            ))
        })
}

/// The helper binary: next to this executable, else in an absolute directory of PATH. An empty
/// PATH element or `.` means the current directory, where anyone could have left a program
/// named like the helper: those are never searched.
fn helper_path() -> Result<PathBuf> {
    let name = if cfg!(windows) {
        "iamdb-credentials.exe"
    } else {
        "iamdb-credentials"
    };
    if let Ok(exe) = std::env::current_exe() {
        let beside = exe.with_file_name(name);
        if beside.is_file() {
            return Ok(beside);
        }
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::internal(format!(
                "{name} is not installed next to iamdb or in an absolute directory on PATH"
            ))
            .hint("install iamdb-credentials from the same release as iamdb, beside it")
        })
}

/// The most iamdb reads from the helper for an answer that is not a download: a credentials
/// document is a few kilobytes.
pub const HELPER_ANSWER_LIMIT: usize = 1 << 20;

/// How long iamdb waits for the helper beyond the helper's own deadlines before it kills it:
/// a backstop for a helper that is stuck, never the usual way a call ends.
fn helper_deadline() -> Duration {
    resolve_timeout() + Duration::from_secs(30)
}

fn run_helper(
    aws_profile: Option<&str>,
    need_region: bool,
    sts_region: Option<&str>,
    quiet: bool,
) -> Result<(Resolved, Option<Region>)> {
    let mut args = Vec::new();
    if let Some(p) = aws_profile {
        args.extend(["--aws-profile".to_string(), p.to_string()]);
    }
    if need_region {
        args.push("--need-region".into());
    }
    if let Some(r) = sts_region {
        args.extend(["--sts-region".to_string(), r.to_string()]);
    }
    tracing::debug!("resolving AWS credentials through the helper");
    let out = zeroize::Zeroizing::new(call_helper(&args, quiet, HELPER_ANSWER_LIMIT)?);
    let doc: HelperOutput = serde_json::from_slice(&out).map_err(|e| {
        Error::internal(format!(
            "iamdb-credentials printed something that is not its credentials document ({e})"
        ))
    })?;
    doc.into_resolved()
}

/// Reads at most `limit` bytes from `from` on a thread of its own; the channel gets the bytes,
/// or None when there were more.
fn read_bounded(
    mut from: impl Read + Send + 'static,
    limit: usize,
) -> std::sync::mpsc::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = (&mut from).take(limit as u64 + 1).read_to_end(&mut out);
        let _ = tx.send((read.is_ok() && out.len() <= limit).then_some(out));
        // Drain the rest so that the helper is not stuck on a full pipe before it is killed.
        let _ = std::io::copy(&mut from, &mut std::io::sink());
    });
    rx
}

/// Runs the `iamdb-credentials` helper with `args` (and -v as iamdb got it) and returns what it
/// printed on stdout, at most `limit` bytes. Secrets come back on the pipe, never on a command
/// line. The helper's errors and logs go straight to our stderr; with `quiet`, its error comes
/// back as the returned Error instead (`doctor` reports it as a failed check). A helper that
/// answers more than `limit` bytes, or outlives its deadline, is killed.
pub fn call_helper(args: &[String], quiet: bool, limit: usize) -> Result<Vec<u8>> {
    let path = helper_path()?;
    let mut cmd = Command::new(&path);
    cmd.args(args);
    for _ in 0..crate::logging::verbosity() {
        cmd.arg("-v");
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if quiet {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .map_err(|e| Error::internal(format!("cannot run {}: {e}", path.display())))?;
    let stdout = child.stdout.take().map(|o| read_bounded(o, limit));
    let stderr = child.stderr.take().map(|e| read_bounded(e, 64 << 10));
    let deadline = Instant::now() + helper_deadline();
    let mut too_long = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(None) => {
                too_long = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(e) => {
                return Err(Error::internal(format!(
                    "waiting for {}: {e}",
                    path.display()
                )));
            }
        }
    };
    let collect = |rx: Option<std::sync::mpsc::Receiver<Option<Vec<u8>>>>| {
        rx.map(|rx| rx.recv_timeout(Duration::from_secs(5)).ok().flatten())
    };
    let out = collect(stdout);
    let err = collect(stderr).flatten().unwrap_or_default();
    if too_long {
        return Err(Error::credentials(format!(
            "{} did not finish within {} s and was stopped",
            path.display(),
            helper_deadline().as_secs()
        )));
    }
    let status = status.expect("set unless too_long");
    let Some(Some(out)) = out else {
        return Err(Error::internal(format!(
            "{} answered more than {limit} bytes; iamdb read no more",
            path.display()
        ))
        .hint("make sure iamdb-credentials is the program installed with iamdb"));
    };
    if !status.success() {
        let code = status.code().unwrap_or(1);
        if !quiet {
            return Err(Error::reported(code));
        }
        return Err(helper_error(code, &String::from_utf8_lossy(&err)));
    }
    Ok(out)
}

/// [`call_helper`] (quiet) for a subcommand that prints one JSON document of type `T`.
pub fn call_helper_json<T: serde::de::DeserializeOwned>(args: &[String]) -> Result<T> {
    let out = call_helper(args, true, HELPER_ANSWER_LIMIT)?;
    serde_json::from_slice(&out).map_err(|e| {
        Error::internal(format!(
            "iamdb-credentials {} printed an unexpected document: {e}",
            args.first().map_or("", String::as_str)
        ))
    })
}

/// The helper's printed error (`iamdb: error: MESSAGE` and an optional `  hint: HINT` line) as
/// an Error of the kind its exit code names.
fn helper_error(code: i32, stderr: &str) -> Error {
    let mut message = String::new();
    let mut hint = None;
    for line in stderr.lines() {
        if let Some(m) = line.strip_prefix("iamdb: error: ") {
            message = m.to_string();
        } else if let Some(h) = line.trim_start().strip_prefix("hint: ") {
            hint = Some(h.to_string());
        }
    }
    if message.is_empty() {
        message = match stderr.lines().rfind(|l| !l.trim().is_empty()) {
            Some(l) => l.trim().to_string(),
            None => format!("iamdb-credentials failed with exit code {code}"),
        };
    }
    let kind = Error::reported(code).kind;
    let err = Error::new(kind, message);
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// Fails when the credentials have already expired: signing works offline, so expired
/// credentials would make a token that looks right and fails at login.
pub fn check_not_expired(resolved: &Resolved, now: SystemTime) -> Result<()> {
    if let Some(expiry) = resolved.credentials.expiry()
        && expiry <= now
    {
        let when = time::OffsetDateTime::from(expiry)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        return Err(Error::credentials(format!(
            "the AWS credentials from {} expired at {when}",
            resolved.source
        ))
        .hint("refresh them (for SSO: `aws sso login`) and try again"));
    }
    Ok(())
}
