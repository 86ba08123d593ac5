//! Unix: owners and modes from `stat`, accounts and groups from NSS, signals held and waited
//! for with the signal mask, descriptors passed as `/dev/fd/N`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

/// This process's effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The owner of a file.
pub fn owner(meta: &fs::Metadata) -> Option<u32> {
    Some(meta.uid())
}

/// What identifies one version of a file: device, inode, size, and the modification and
/// change times (a rename, an append or an in-place rewrite all change it).
pub fn stamp(meta: &fs::Metadata) -> (u64, u64, u64, i64, i64, i64, i64) {
    (
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    )
}

/// The permission bits of a file.
pub fn mode(meta: &fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

/// Sets the permission bits, exactly (the umask does not apply).
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Makes `builder` create directories with `mode` (narrowed by the umask, never widened).
pub fn dir_mode(builder: &mut fs::DirBuilder, mode: u32) {
    builder.mode(mode);
}

/// Makes `options` create the file with `mode` (see [`dir_mode`]).
pub fn file_mode(options: &mut OpenOptions, mode: u32) {
    options.mode(mode);
}

/// Opens without blocking (a FIFO's open would wait for a writer) and without making a
/// terminal the controlling one.
pub fn nonblocking(options: &mut OpenOptions) {
    options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
}

/// Refuses a symbolic link at the last component instead of following it.
pub fn no_follow(options: &mut OpenOptions) {
    options.custom_flags(libc::O_NOFOLLOW);
}

/// Turns a descriptor opened with [`nonblocking`] back to blocking reads.
pub fn blocking(file: &File) {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor owned by `file`; only O_NONBLOCK is cleared.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

/// Whether an open failed on a symbolic link (`O_NOFOLLOW`, or a loop of links).
pub fn is_link_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// What kind of special file this is, for messages; None for files, directories, links.
pub fn special_kind(meta: &fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_block_device() || t.is_char_device() {
        Some("a device")
    } else {
        None
    }
}

/// Whether process `pid` is running.
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 16384];
    // SAFETY: getpwuid_r fills `pwd` with pointers into `buf`, which outlives their use here.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let r = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut out);
        if r != 0 || out.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// A group's name and member list.
fn group_entry(gid: u32) -> Option<(String, Vec<String>)> {
    let mut buf = vec![0u8; 65536];
    // SAFETY: getgrgid_r fills `grp` with pointers into `buf`, which outlives their use here;
    // gr_mem is a NULL-terminated array of C strings.
    unsafe {
        let mut grp: libc::group = std::mem::zeroed();
        let mut out: *mut libc::group = std::ptr::null_mut();
        let r = libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr().cast(), buf.len(), &mut out);
        if r != 0 || out.is_null() {
            return None;
        }
        let name = if grp.gr_name.is_null() {
            gid.to_string()
        } else {
            std::ffi::CStr::from_ptr(grp.gr_name)
                .to_string_lossy()
                .into_owned()
        };
        let mut members = Vec::new();
        let mut p = grp.gr_mem;
        while !p.is_null() && !(*p).is_null() {
            members.push(std::ffi::CStr::from_ptr(*p).to_string_lossy().into_owned());
            p = p.add(1);
        }
        Some((name, members))
    }
}

/// Whether an account other than `uid` has `gid` as its primary group.
fn other_accounts_with_primary_group(gid: u32, uid: u32) -> bool {
    // getpwent walks the account database through NSS; iamdb asks only for a group-writable
    // file, which is rare, from its main thread.
    let mut found = false;
    // SAFETY: setpwent/getpwent/endpwent are used from one thread at a time here, and each
    // entry is read before the next call.
    unsafe {
        libc::setpwent();
        loop {
            let pw = libc::getpwent();
            if pw.is_null() {
                break;
            }
            if (*pw).pw_gid == gid && (*pw).pw_uid != uid {
                found = true;
                break;
            }
        }
        libc::endpwent();
    }
    found
}

/// Whether group `gid` can hold nobody but this user: it lists no member but this user, and
/// no other account has it as its primary group. Only then may a group-writable file be
/// trusted (the user private groups of Debian, Fedora and most distributions); a shared group
/// such as `users` cannot.
pub fn group_is_private(gid: u32) -> bool {
    let uid = euid();
    let Some(me) = user_name(uid) else {
        return false;
    };
    let Some((_, members)) = group_entry(gid) else {
        return false;
    };
    if members.iter().any(|m| *m != me) {
        return false;
    }
    !other_accounts_with_primary_group(gid, uid)
}

/// `alice (uid 1000)`, or `uid 1000` when the account has no name.
pub fn user_label(uid: u32) -> String {
    match user_name(uid) {
        Some(name) => format!("{name} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

fn group_label(gid: u32) -> String {
    match group_entry(gid) {
        Some((name, _)) => format!("{name} (gid {gid})"),
        None => gid.to_string(),
    }
}

/// Why a file (or, with `directory`, a directory on the way to one) that others could change
/// is not to be trusted, or None when only this user or root can: it belongs to this user or
/// root, is not writable by everyone, and is group-writable only when its group is this
/// user's alone. A directory others may write into is still safe with the sticky bit (like
/// /tmp): then only an entry's owner can rename or remove it.
pub fn untrusted(meta: &fs::Metadata, directory: bool) -> Option<String> {
    let uid = euid();
    let mode = mode(meta);
    let sticky = directory && mode & 0o1000 != 0;
    if meta.uid() != uid && meta.uid() != 0 {
        Some(format!(
            "it belongs to {}, not to this user ({})",
            user_label(meta.uid()),
            user_label(uid)
        ))
    } else if mode & 0o002 != 0 && !sticky {
        Some(format!("it is writable by every user (mode {mode:04o})"))
    } else if mode & 0o020 != 0 && !sticky && !group_is_private(meta.gid()) {
        Some(format!(
            "it is writable by group {}, which other users are in (mode {mode:04o})",
            group_label(meta.gid())
        ))
    } else {
        None
    }
}

/// Holds back the signals that would end iamdb (SIGINT, SIGTERM, SIGHUP, SIGQUIT) while a
/// temporary file exists; they are delivered when this is dropped.
pub struct SignalsHeld {
    old: Option<libc::sigset_t>,
}

impl SignalsHeld {
    pub fn new() -> SignalsHeld {
        // SAFETY: the sets are initialised by sigemptyset before use, and pthread_sigmask only
        // changes this thread's mask (iamdb writes files from its main thread).
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
                libc::sigaddset(&mut set, sig);
            }
            let ok = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) == 0;
            SignalsHeld {
                old: ok.then_some(old),
            }
        }
    }
}

impl Default for SignalsHeld {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SignalsHeld {
    fn drop(&mut self) {
        if let Some(old) = self.old.take() {
            // SAFETY: restores the mask saved in new(); a held signal is delivered now.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            }
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP, blocked so that they can be waited for: `refresh --watch`
/// sleeps in [`StopSignals::wait`], so that the sleep itself is the signal handler.
pub struct StopSignals {
    set: libc::sigset_t,
}

impl StopSignals {
    pub fn block() -> Result<StopSignals> {
        // SAFETY: plain libc signal-set calls on a set owned here; pthread_sigmask only changes
        // this thread's mask, before any other thread is started.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::sigaddset(&mut set, sig);
            }
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(Error::internal("cannot block signals"));
            }
            Ok(StopSignals { set })
        }
    }

    /// Waits for one of the signals, at most `timeout`; the signal's number if one came.
    #[cfg(target_os = "linux")]
    pub fn wait(&self, timeout: Duration) -> Option<i32> {
        let ts = libc::timespec {
            // At most i32::MAX seconds (68 years), which any time_t holds (musl's is 32-bit on
            // some targets); `as _` is the platform's time_t.
            tv_sec: timeout.as_secs().min(i32::MAX as u64) as _,
            tv_nsec: 0,
        };
        loop {
            // SAFETY: sigtimedwait reads the set and the timeout, both valid for the call.
            let sig = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &ts) };
            if sig > 0 {
                return Some(sig);
            }
            if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return None;
            }
        }
    }

    /// Waits for one of the signals, at most `timeout` (systems without sigtimedwait, such as
    /// macOS: the pending set is looked at every 100 ms, and a pending signal taken with
    /// sigwait, which then returns at once).
    #[cfg(not(target_os = "linux"))]
    pub fn wait(&self, timeout: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            // SAFETY: sigpending fills a set owned here; sigismember reads it; sigwait only
            // runs when one of our blocked signals is pending, so it returns at once.
            unsafe {
                let mut pending: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut pending);
                if libc::sigpending(&mut pending) == 0
                    && [libc::SIGTERM, libc::SIGINT, libc::SIGHUP]
                        .iter()
                        .any(|s| libc::sigismember(&pending, *s) == 1)
                {
                    let mut sig = 0;
                    if libc::sigwait(&self.set, &mut sig) == 0 {
                        return Some(sig);
                    }
                }
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
        }
    }
}

/// A 0600 file holding `text`, made in the private directory `dir` and unlinked at once, open
/// without close-on-exec, and the `/dev/fd/N` path that reaches it: a child reads it through
/// that path, and it leaves nothing on disk.
pub fn private_fd_file(dir: &Path, text: &str) -> Result<(File, String)> {
    let path = dir.join(format!("client-{}.cnf", std::process::id()));
    let _ = fs::remove_file(&path);
    // No signal may end iamdb between the file's creation and its unlinking.
    let signals = SignalsHeld::new();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| Error::config(format!("cannot create {}: {e}", path.display())))?;
    let _ = fs::remove_file(&path);
    drop(signals);
    file.write_all(text.as_bytes())
        .map_err(|e| Error::config(format!("cannot write {}: {e}", path.display())))?;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns; only the close-on-exec flag changes.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
        return Err(Error::internal(format!(
            "cannot pass the option file on: {}",
            io::Error::last_os_error()
        )));
    }
    Ok((file, format!("/dev/fd/{fd}")))
}

/// The exit status as a shell reports it: the code, or 128 + the signal that ended it.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or(status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Set by the SIGINT handler that [`ask_terminal`] installs while it waits for a line.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// What the controlling terminal answered.
pub enum Typed {
    Line(zeroize::Zeroizing<String>),
    /// Ctrl-D: the terminal was closed for input.
    End,
    /// Ctrl-C.
    Interrupted,
}

/// Asks on the controlling terminal (`/dev/tty`), whatever stdin and stdout are (a pipe inside
/// `$(...)`, a client that started iamdb): writes `prompt`, reads one line. None when the
/// process has no controlling terminal (a GUI, a service): nothing can be asked, and nothing is
/// waited for. Ctrl-C while waiting is reported, not fatal, so the caller can exit 130 having
/// cached nothing.
pub fn ask_terminal(prompt: &str) -> Option<io::Result<Typed>> {
    use std::io::Read;
    let mut tty = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/tty")
        .ok()?;
    Some((|| {
        // SIGINT without SA_RESTART: the read below returns EINTR instead of restarting.
        INTERRUPTED.store(false, std::sync::atomic::Ordering::SeqCst);
        // SAFETY: sigaction with a handler that only stores to an atomic; the previous action
        // is put back below.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_interrupt as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0;
            libc::sigaction(libc::SIGINT, &action, &mut old);
        }
        let restore = || unsafe {
            libc::sigaction(libc::SIGINT, &old, std::ptr::null_mut());
        };
        if let Err(e) = tty.write_all(prompt.as_bytes()).and_then(|()| tty.flush()) {
            restore();
            return Err(e);
        }
        let mut line = zeroize::Zeroizing::new(Vec::new());
        let mut byte = [0u8; 1];
        let result = loop {
            match tty.read(&mut byte) {
                Ok(0) => break Ok(Typed::End),
                Ok(_) if byte[0] == b'\n' => {
                    let text = String::from_utf8_lossy(&line).into_owned();
                    break Ok(Typed::Line(zeroize::Zeroizing::new(text)));
                }
                Ok(_) => {
                    if line.len() < 256 {
                        line.push(byte[0]);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                        // The terminal echoed ^C without a newline.
                        let _ = tty.write_all(b"\n");
                        break Ok(Typed::Interrupted);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        restore();
        result
    })())
}
