//! MFA codes for role sessions. aws-config never asks for one, so a profile whose role chain
//! has `mfa_serial` is resolved by the helper's own chain (see `Call::Credentials`): it serves
//! the cached session, or answers that it needs a code. This module gets the code and asks
//! again:
//!
//! 1. `mfa_process` (iamdb's profile or `[defaults]`, else the AWS profile's), run through
//!    `sh -c`: its output is the code;
//! 2. else the controlling terminal, even when stdin and stdout are pipes;
//! 3. else (a GUI, a service) it fails at once, naming the two fixes.
//!
//! Processes that need the same session take turns on a lock named after it: the first asks,
//! the others wait and then find the session in the cache. A code never travels on a command
//! line or into a log; it goes to the helper on its stdin.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::credentials::{self, Region, Resolved};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::helper::AwsSource;
use crate::helper::{self, CredentialsReply};
use crate::protocol::{MfaChallenge, MfaCode};
use crate::sys::{self, Typed};

/// How long a process waits for another that is asking for the same session's code: the
/// time a person takes to find their device and type, generously.
pub const MFA_LOCK_WAIT: Duration = Duration::from_secs(300);

/// How long `mfa_process` may run (a hardware key may wait for a touch).
const MFA_PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// How many MFA hops one role chain may have.
const MAX_HOPS: usize = 4;

/// Resolves credentials through the helper, getting an MFA code when a role session needs
/// one. With `sessions_since` (Unix milliseconds), only sessions made since then are used
/// (`iamdb login`).
pub fn resolve(
    source: &AwsSource,
    need_region: bool,
    sts_region: Option<&str>,
    sessions_since: Option<u64>,
) -> Result<(Resolved, Option<Region>)> {
    let ask = |mfa: Option<MfaCode>| {
        helper::credentials(source, need_region, sts_region, mfa, sessions_since)
    };
    let mut challenge = match ask(None)? {
        CredentialsReply::Resolved(doc) => return credentials::from_doc(&doc),
        CredentialsReply::NeedMfa(c) => c,
    };
    for _ in 0..MAX_HOPS {
        if !source.interactive {
            return Err(needs_code(source, &challenge, "nothing may be asked here"));
        }
        let _turn = lock(&challenge.key);
        // Another process may have made the session while this one waited for its turn.
        if sessions_since.is_none() {
            match ask(None)? {
                CredentialsReply::Resolved(doc) => return credentials::from_doc(&doc),
                CredentialsReply::NeedMfa(c) if c.key != challenge.key => {
                    challenge = c;
                    continue;
                }
                CredentialsReply::NeedMfa(_) => {}
            }
        }
        let code = obtain(source, &challenge)?;
        match ask(Some(code))? {
            CredentialsReply::Resolved(doc) => return credentials::from_doc(&doc),
            // A later hop of the chain has a device of its own.
            CredentialsReply::NeedMfa(next) => challenge = next,
        }
    }
    Err(Error::credentials(format!(
        "the role chain of AWS profile '{}' asks for MFA codes more than {MAX_HOPS} times",
        challenge.aws_profile
    )))
}

/// The error for a code that is needed and cannot be asked for: one line naming the profile
/// and both fixes.
fn needs_code(source: &AwsSource, challenge: &MfaChallenge, why: &str) -> Error {
    let login = match &source.label {
        Some(p) => format!("iamdb login {p}"),
        None => format!("iamdb login --aws-profile {}", challenge.aws_profile),
    };
    Error::credentials(format!(
        "AWS profile '{}' needs an MFA code for {} and {why}: set mfa_process (a command that \
         prints the code), or run `{login}` in a terminal first",
        challenge.aws_profile, challenge.serial
    ))
}

/// The session's turn lock; without a runtime directory there is no lock, only a chance of
/// being asked twice.
fn lock(key: &str) -> Option<fsutil::Lock> {
    fsutil::runtime_lock(&format!("session-{key}.lock"), MFA_LOCK_WAIT)
        .map_err(|e| tracing::debug!(error = %e, "no MFA session lock; asking without one"))
        .ok()
}

/// A code for `challenge`: from `mfa_process`, else typed on the terminal.
fn obtain(source: &AwsSource, challenge: &MfaChallenge) -> Result<MfaCode> {
    let code = match source
        .mfa_process
        .as_deref()
        .or(challenge.mfa_process.as_deref())
    {
        Some(command) => run_process(command, challenge)?,
        None => ask(source, challenge)?,
    };
    Ok(MfaCode {
        serial: challenge.serial.clone(),
        code: code.to_string(),
    })
}

/// Six digits, as every AWS MFA device shows.
pub fn is_code(text: &str) -> bool {
    text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit())
}

fn ask(source: &AwsSource, challenge: &MfaChallenge) -> Result<zeroize::Zeroizing<String>> {
    let prompt = format!(
        "MFA code for {} (profile {}): ",
        challenge.serial, challenge.aws_profile
    );
    let mut prompt_now = prompt.clone();
    loop {
        let Some(answer) = sys::ask_terminal(&prompt_now) else {
            return Err(needs_code(
                source,
                challenge,
                "there is no terminal to ask on",
            ));
        };
        match answer.map_err(|e| Error::credentials(format!("cannot read the terminal: {e}")))? {
            Typed::Interrupted => return Err(Error::interrupted()),
            Typed::End => {
                return Err(Error::credentials(format!(
                    "no MFA code was typed for {}",
                    challenge.serial
                )));
            }
            Typed::Line(line) => {
                let code = line.trim();
                if is_code(code) {
                    return Ok(zeroize::Zeroizing::new(code.to_string()));
                }
                prompt_now = format!("the code is six digits; {prompt}");
            }
        }
    }
}

/// Runs `mfa_process` through `sh -c` (`cmd /C` on Windows) and takes its output as the code.
fn run_process(command: &str, challenge: &MfaChallenge) -> Result<zeroize::Zeroizing<String>> {
    let what = format!("mfa_process `{command}`");
    let mut cmd = if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.args(["/C", command]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", command]);
        c
    };
    let mut child = cmd
        .env("IAMDB_MFA_SERIAL", &challenge.serial)
        .env("IAMDB_AWS_PROFILE", &challenge.aws_profile)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::credentials(format!("cannot run {what}: {e}")))?;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = zeroize::Zeroizing::new(Vec::new());
        if let Some(s) = stdout.as_mut() {
            let _ = s.take(4096).read_to_end(&mut out);
        }
        out
    });
    let deadline = Instant::now() + MFA_PROCESS_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::credentials(format!(
                    "{what} did not finish within {} s",
                    MFA_PROCESS_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(Error::credentials(format!("waiting for {what}: {e}"))),
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::credentials(format!(
            "{what} failed ({}), so there is no MFA code for {}",
            match status.code() {
                Some(c) => format!("exit status {c}"),
                None => status.to_string(),
            },
            challenge.serial
        )));
    }
    let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&out).trim().to_string());
    if text.is_empty() {
        return Err(Error::credentials(format!("{what} printed no MFA code")));
    }
    if !is_code(&text) {
        return Err(Error::credentials(format!(
            "{what} printed something other than a six-digit MFA code"
        )));
    }
    Ok(text)
}

/// What `iamdb login` did.
pub struct Login {
    pub resolved: Resolved,
    /// The AWS profile logged in.
    pub aws_profile: String,
    /// Whether the session was kept (not with `cache = "none"`).
    pub kept: bool,
}

/// `iamdb login`: a new MFA session now for `source`, whatever is cached (keys in the
/// environment need none).
pub fn login(source: &AwsSource, sts_region: Option<&str>) -> Result<Login> {
    let resolved = match credentials::from_env(source.aws_profile.as_deref())? {
        Some(keys) => keys,
        None => {
            let since = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            resolve(source, false, sts_region, Some(since))?.0
        }
    };
    Ok(Login {
        aws_profile: credentials::effective_profile(source.aws_profile.as_deref()),
        kept: source.sessions != crate::settings::Choice::None,
        resolved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        assert!(is_code("012345"));
        for bad in ["12345", "1234567", "12345a", " 12345", "١٢٣٤٥٦"] {
            assert!(!is_code(bad), "{bad:?}");
        }
    }
}
