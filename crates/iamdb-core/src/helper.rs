//! Running `iamdb-credentials`: found beside iamdb (or in an absolute `PATH` directory), given
//! one [`Request`] on stdin, its one [`Answer`] read from stdout (bounded), its version
//! checked, and its error, if any, turned back into an [`Error`] of the same kind. A helper
//! that outlives its deadline is killed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::protocol::{
    self, Answer, Call, CredentialsDoc, Handshake, Identity, MfaChallenge, MfaCode, Reply, Request,
    Resource, Wire,
};

/// Whose AWS credentials a command wants, and how it may get them.
#[derive(Debug, Clone, Default)]
pub struct AwsSource {
    /// The AWS profile (`aws_profile`); None for the default chain.
    pub aws_profile: Option<String>,
    /// `mfa_process` from iamdb's profile or `[defaults]`: a command that prints an MFA code.
    pub mfa_process: Option<String>,
    /// Where role sessions are kept: the profile's cache choice.
    pub sessions: crate::settings::Choice,
    /// The iamdb profile, for messages (`iamdb login PROFILE`).
    pub label: Option<String>,
    /// Whether an MFA code may be asked for (false for `doctor`, which only reports).
    pub interactive: bool,
}

const NAME: &str = if cfg!(windows) {
    "iamdb-credentials.exe"
} else {
    "iamdb-credentials"
};

/// This program as the messages name it: `iamdb 0.1.0`.
fn this_program() -> String {
    format!("iamdb {}", env!("CARGO_PKG_VERSION"))
}

/// The helper: beside this executable, else in an absolute directory of PATH. An empty PATH
/// element or `.` means the current directory, where anyone could have left a program named
/// like the helper: those are never searched.
pub fn path() -> Result<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(NAME));
    if let Some(beside) = beside.as_ref().filter(|b| b.is_file()) {
        return Ok(beside.clone());
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .filter(|d| d.is_absolute())
        .collect();
    if let Some(found) = dirs.iter().map(|d| d.join(NAME)).find(|p| p.is_file()) {
        return Ok(found);
    }
    let looked = match &beside {
        Some(b) => format!("no {}", b.display()),
        None => "where iamdb is cannot be told".to_string(),
    };
    let on_path = if dirs.is_empty() {
        "PATH has none".to_string()
    } else {
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        format!("looked in {}", dirs.join(", "))
    };
    Err(Error::install(format!(
        "{NAME} is not installed next to iamdb ({looked}) or in an absolute directory on PATH ({on_path})"
    ))
    .hint(reinstall(beside.as_deref())))
}

/// The second line of every "the helper cannot be run" error: how to put it back.
fn reinstall(beside: Option<&Path>) -> String {
    let dir = beside.and_then(Path::parent).map_or_else(
        || "iamdb's directory".to_string(),
        |d| d.display().to_string(),
    );
    format!(
        "reinstall iamdb (its package, or `cargo install --locked --path crates/iamdb-credentials` beside `--path .`), or put {NAME} from the same release in {dir}"
    )
}

/// The most iamdb reads of an answer: a credentials document is a few kilobytes, a CA bundle
/// a few hundred.
const ANSWER_LIMIT: usize = 1 << 20;
const BUNDLE_ANSWER_LIMIT: usize = 16 << 20;

/// How long iamdb waits for the helper beyond the helper's own deadlines before it kills it:
/// a backstop for a helper that is stuck, never the usual way a call ends.
fn deadline() -> Duration {
    crate::env::get().credentials_timeout + Duration::from_secs(30)
}

/// Reads at most `limit` bytes from `from` on a thread of its own; the channel gets the bytes,
/// or None when there were more.
fn read_bounded(
    mut from: impl Read + Send + 'static,
    limit: usize,
) -> mpsc::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = (&mut from).take(limit as u64 + 1).read_to_end(&mut out);
        let _ = tx.send((read.is_ok() && out.len() <= limit).then_some(out));
        // Drain the rest, so that the helper is not stuck on a full pipe before it is killed.
        let _ = std::io::copy(&mut from, &mut std::io::sink());
    });
    rx
}

/// Runs one call and returns the helper's reply, or its error.
pub fn call(call: Call) -> Result<Reply> {
    let limit = match call {
        Call::FetchBundle { .. } => BUNDLE_ANSWER_LIMIT,
        _ => ANSWER_LIMIT,
    };
    let request = Request::new(call, crate::logging::verbosity());
    let path = path()?;
    let out = zeroize::Zeroizing::new(run(&path, &request, limit)?);
    let doc: serde_json::Value = serde_json::from_slice(&out).map_err(|e| {
        Error::install(format!(
            "{} answered something that is not an iamdb-credentials answer ({e})",
            path.display()
        ))
        .hint("install iamdb and iamdb-credentials from the same release, side by side")
    })?;
    let program = doc.get("program").and_then(|p| p.as_str()).map_or_else(
        || path.display().to_string(),
        |p| format!("{} ({p})", path.display()),
    );
    match protocol::version_of(&doc) {
        Some(protocol::VERSION) => {}
        Some(other) => return Err(protocol::mismatch(&this_program(), &program, other)),
        None => {
            return Err(Error::install(format!(
                "{} answered without saying which protocol it speaks",
                path.display()
            ))
            .hint("install iamdb and iamdb-credentials from the same release, side by side"));
        }
    }
    let answer: Answer = serde_json::from_value(doc).map_err(|e| {
        Error::install(format!(
            "{program} answered in a form iamdb does not know ({e})"
        ))
    })?;
    match (answer.ok, answer.error) {
        (_, Some(failure)) => Err(failure.into()),
        (Some(reply), None) => Ok(reply),
        (None, None) => Err(Error::install(format!("{program} answered nothing"))),
    }
}

/// Spawns the helper, hands it the request and collects at most `limit` bytes of its answer.
fn run(path: &Path, request: &Request, limit: usize) -> Result<Vec<u8>> {
    let mut child = Command::new(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| cannot_run(path, &e))?;
    let stdout = child.stdout.take().map(|o| read_bounded(o, limit));
    if let Some(mut stdin) = child.stdin.take() {
        // The request may hold an MFA code: wiped once written.
        let text = zeroize::Zeroizing::new(
            serde_json::to_vec(request).map_err(|e| Error::internal(e.to_string()))?,
        );
        // A helper that exits before reading is reported by its exit status below.
        let _ = stdin.write_all(&text);
    }
    let deadline_at = Instant::now() + deadline();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline_at => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Ok(None) => {
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
    let out = stdout.and_then(|rx| rx.recv_timeout(Duration::from_secs(5)).ok());
    let Some(status) = status else {
        return Err(Error::credentials(format!(
            "{} did not finish within {} s and was stopped",
            path.display(),
            deadline().as_secs()
        )));
    };
    match out {
        Some(Some(out)) if !out.is_empty() || status.success() => Ok(out),
        Some(None) => Err(Error::install(format!(
            "{} answered more than {limit} bytes; iamdb read no more",
            path.display()
        ))
        .hint("make sure iamdb-credentials is the program installed with iamdb")),
        // 126 and 127: what the system's loader and `sh` exit with when the program (or a
        // library or interpreter it needs) cannot be run or found.
        _ if matches!(status.code(), Some(126 | 127)) => Err(Error::install(format!(
            "{} could not start ({status}): a library or interpreter it needs is missing or cannot be run",
            path.display()
        ))
        .hint(reinstall(Some(path)))),
        _ => Err(Error::internal(format!(
            "{} stopped ({status}) without answering",
            path.display()
        ))),
    }
}

/// Why the helper at `path` could not be started: an installation problem, with the fix.
fn cannot_run(path: &Path, e: &std::io::Error) -> Error {
    let why = match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            "it is not executable (permission denied)".to_string()
        }
        std::io::ErrorKind::NotFound => {
            "it, or the interpreter its first line names, is not there".to_string()
        }
        _ => e.to_string(),
    };
    let err = Error::install(format!("cannot run {}: {why}", path.display()));
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        err.hint(format!(
            "`chmod +x {}` if it is iamdb's helper; else {}",
            path.display(),
            reinstall(Some(path))
        ))
    } else {
        err.hint(reinstall(Some(path)))
    }
}

fn unexpected(reply: Reply) -> Error {
    let what = match reply {
        Reply::Credentials(_) => "credentials",
        Reply::NeedMfa(_) => "a request for an MFA code",
        Reply::Cache(_) => "a cache",
        Reply::Identity(_) => "an identity",
        Reply::Resource(_) => "a resource",
        Reply::Handshake(_) => "a handshake",
        Reply::Bundle { .. } => "a bundle",
    };
    Error::internal(format!(
        "iamdb-credentials answered with {what}, which was not asked for"
    ))
}

/// The helper's answer to a credentials call.
pub enum CredentialsReply {
    Resolved(CredentialsDoc),
    /// A role session needs an MFA code first.
    NeedMfa(MfaChallenge),
}

/// AWS credentials (and the region, when `need_region`) through aws-config, or through the
/// helper's own role chain with MFA (see [`Call::Credentials`]).
pub fn credentials(
    source: &AwsSource,
    need_region: bool,
    sts_region: Option<&str>,
    mfa: Option<MfaCode>,
    sessions_since: Option<u64>,
) -> Result<CredentialsReply> {
    match call(Call::Credentials {
        aws_profile: source.aws_profile.clone(),
        need_region,
        sts_region: sts_region.map(String::from),
        mfa,
        sessions_since,
        sessions: source.sessions,
    })? {
        Reply::Credentials(doc) => Ok(CredentialsReply::Resolved(doc)),
        Reply::NeedMfa(challenge) => Ok(CredentialsReply::NeedMfa(challenge)),
        other => Err(unexpected(other)),
    }
}

/// STS GetCallerIdentity.
pub fn identity(source: &AwsSource, region: &str) -> Result<Identity> {
    match call(Call::Identity {
        aws_profile: source.aws_profile.clone(),
        region: region.to_string(),
        sessions: source.sessions,
    })? {
        Reply::Identity(id) => Ok(id),
        other => Err(unexpected(other)),
    }
}

/// The RDS resource behind an endpoint.
pub fn lookup(source: &AwsSource, region: &str, host: &str) -> Result<Resource> {
    match call(Call::Lookup {
        aws_profile: source.aws_profile.clone(),
        region: region.to_string(),
        host: host.to_string(),
        sessions: source.sessions,
    })? {
        Reply::Resource(r) => Ok(r),
        other => Err(unexpected(other)),
    }
}

/// The ElastiCache or MemoryDB cache `name`, through its service's API.
pub fn cache_lookup(
    source: &AwsSource,
    region: &str,
    name: &str,
    memorydb: bool,
    serverless: bool,
) -> Result<protocol::CacheResource> {
    match call(Call::CacheLookup {
        aws_profile: source.aws_profile.clone(),
        region: region.to_string(),
        name: name.to_string(),
        memorydb,
        serverless,
        sessions: source.sessions,
    })? {
        Reply::Cache(c) => Ok(c),
        other => Err(unexpected(other)),
    }
}

/// A verified TLS handshake with a database server.
pub fn handshake(host: &str, connect: &str, port: u16, wire: Wire, ca: &Path) -> Result<Handshake> {
    match call(Call::Handshake {
        host: host.to_string(),
        connect: connect.to_string(),
        port,
        wire,
        ca: ca.to_path_buf(),
    })? {
        Reply::Handshake(h) => Ok(h),
        other => Err(unexpected(other)),
    }
}

/// A CA bundle downloaded over HTTPS, every certificate in it checked to parse.
pub fn fetch_bundle(url: &str) -> Result<String> {
    match call(Call::FetchBundle {
        url: url.to_string(),
    })? {
        Reply::Bundle { pem } => Ok(pem),
        other => Err(unexpected(other)),
    }
}
