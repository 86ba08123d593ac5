//! Systems other than Unix (Windows): no owners or modes to check (files live under the
//! user's profile, which Windows' ACLs keep private), no signals to hold, no `/dev/fd`.
//! What cannot work here says so when it runs.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

pub fn euid() -> u32 {
    0
}

pub fn owner(_meta: &fs::Metadata) -> Option<u32> {
    None
}

/// What identifies one version of a file: its size and modification time.
pub fn stamp(meta: &fs::Metadata) -> (u64, u64, u64, i64, i64, i64, i64) {
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    (
        0,
        0,
        meta.len(),
        i64::try_from(modified.as_secs()).unwrap_or(i64::MAX),
        i64::from(modified.subsec_nanos()),
        0,
        0,
    )
}

pub fn mode(_meta: &fs::Metadata) -> u32 {
    0o600
}

pub fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

pub fn dir_mode(_builder: &mut fs::DirBuilder, _mode: u32) {}

pub fn file_mode(_options: &mut OpenOptions, _mode: u32) {}

pub fn nonblocking(_options: &mut OpenOptions) {}

pub fn no_follow(_options: &mut OpenOptions) {}

pub fn blocking(_file: &File) {}

pub fn is_link_error(_e: &io::Error) -> bool {
    false
}

pub fn special_kind(_meta: &fs::Metadata) -> Option<&'static str> {
    None
}

pub fn process_alive(_pid: u32) -> bool {
    true
}

pub fn group_is_private(_gid: u32) -> bool {
    false
}

pub fn user_label(uid: u32) -> String {
    format!("uid {uid}")
}

pub fn untrusted(_meta: &fs::Metadata, _directory: bool) -> Option<String> {
    None
}

pub struct SignalsHeld;

impl SignalsHeld {
    pub fn new() -> SignalsHeld {
        SignalsHeld
    }
}

impl Default for SignalsHeld {
    fn default() -> Self {
        Self::new()
    }
}

/// No signals to wait for: `refresh --watch` sleeps, and Ctrl-C ends it.
pub struct StopSignals;

impl StopSignals {
    pub fn block() -> Result<StopSignals> {
        Ok(StopSignals)
    }

    pub fn wait(&self, timeout: Duration) -> Option<i32> {
        std::thread::sleep(timeout);
        None
    }
}

pub fn private_fd_file(_dir: &Path, _text: &str) -> Result<(File, String)> {
    Err(Error::usage(
        "handing an option file to a MySQL client needs /dev/fd, which this system does not have",
    )
    .hint("use `iamdb mycnf sync` and `mysql --defaults-group-suffix=_PROFILE` instead"))
}

pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    status.code().unwrap_or(1)
}

/// What the controlling terminal answered.
pub enum Typed {
    Line(zeroize::Zeroizing<String>),
    End,
    Interrupted,
}

/// Asking on the terminal is Unix-only for now: on Windows an MFA code comes from
/// `mfa_process`, and without one iamdb says so.
pub fn ask_terminal(_prompt: &str) -> Option<io::Result<Typed>> {
    None
}
