//! File-system helpers for the files iamdb writes: atomic replacement under a lock, private
//! directories, and advisory locks. Anything a user wrote survives a crash at any instant:
//! the file on disk is always either the old or the new version.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};

/// The file a write to `path` must replace: the target when `path` is a symlink, so that a
/// dotfile linked from a dotfiles repository stays a link.
pub fn write_target(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// Replaces `path` with `contents`: a temporary file in the same directory, created
/// exclusively, written, synced, then renamed over the original. The new file keeps the old
/// file's permissions, or gets `new_mode` when it did not exist.
pub fn write_atomic(path: &Path, contents: &[u8], new_mode: u32) -> io::Result<()> {
    write(path, contents, new_mode, true, None).map(|_| ())
}

/// What identifies one version of a file: a file replaced, appended to or rewritten in place
/// since has another fingerprint (None: the file did not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Option<(u64, u64, u64, i64, i64, i64, i64)>);

impl Fingerprint {
    #[cfg(unix)]
    pub fn of(meta: Option<&fs::Metadata>) -> Fingerprint {
        Fingerprint(meta.map(|m| {
            (
                m.dev(),
                m.ino(),
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
            )
        }))
    }

    #[cfg(not(unix))]
    pub fn of(meta: Option<&fs::Metadata>) -> Fingerprint {
        Fingerprint(meta.map(|m| (0, 0, m.len(), 0, 0, 0, 0)))
    }

    /// The fingerprint of `path` now.
    pub fn at(path: &Path) -> io::Result<Fingerprint> {
        match fs::metadata(path) {
            Ok(m) => Ok(Fingerprint::of(Some(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Fingerprint(None)),
            Err(e) => Err(e),
        }
    }
}

/// Like [`write_atomic`], but the file always ends up with `mode` when one is given (for files
/// that must be private whatever they were before), and only if `path` still has the
/// fingerprint `read`: a program that changed the file after iamdb read
/// it (another editor, an `echo >> ~/.pgpass` that does not take iamdb's lock) must not lose
/// its change to iamdb's rename. Returns false, writing nothing, when the file changed.
pub fn replace_if_unchanged(
    path: &Path,
    contents: &[u8],
    mode: Option<u32>,
    read: &Fingerprint,
) -> io::Result<bool> {
    match mode {
        Some(m) => write(path, contents, m, false, Some(read)),
        None => write(path, contents, 0o644, true, Some(read)),
    }
}

fn write(
    path: &Path,
    contents: &[u8],
    new_mode: u32,
    keep_mode: bool,
    unchanged: Option<&Fingerprint>,
) -> io::Result<bool> {
    check_home_owner(path)?;
    let target = write_target(path)?;
    check_home_owner(&target)?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = match fs::metadata(&target) {
        Ok(meta) if keep_mode => permissions_mode(&meta),
        Ok(_) => new_mode,
        Err(e) if e.kind() == io::ErrorKind::NotFound => new_mode,
        Err(e) => return Err(e),
    };
    remove_stale_temps(dir, &name);
    // From the temporary file's creation to its rename (or removal), SIGINT, SIGTERM, SIGHUP
    // and SIGQUIT wait: a Ctrl-C or a `systemctl stop` then ends iamdb right after, with no
    // temporary file left behind. (SIGKILL cannot wait; the next write removes what it left.)
    let _signals = SignalsHeld::new();
    let (tmp_dir, tmp_path, mut tmp) = create_temp(dir, &name, mode)?;
    let result = (|| {
        tmp.write_all(contents)?;
        tmp.sync_all()?;
        if let Some(read) = unchanged
            && Fingerprint::at(&target)? != *read
        {
            return Ok(false);
        }
        fs::rename(&tmp_path, &target)?;
        // The rename is durable only once the directory entry is.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = fs::remove_file(&tmp_path);
    }
    let _ = fs::remove_dir(&tmp_dir);
    result
}

/// The temporary-file name prefix for `name` in its directory.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.iamdb-")
}

/// Removes the temporary directories (and files) next to `name` that an iamdb killed by
/// SIGKILL (or a power cut) left behind: those whose process is gone.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = temp_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .filter(|n| n.ends_with(".tmp"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !process_alive(pid) {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => {
                    let _ = fs::remove_dir_all(&path);
                }
                _ => {
                    let _ = fs::remove_file(&path);
                }
            }
        }
    }
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// Holds back the signals that would end iamdb (SIGINT, SIGTERM, SIGHUP, SIGQUIT) while a
/// temporary file exists; they are delivered when this is dropped.
pub struct SignalsHeld {
    #[cfg(unix)]
    old: Option<libc::sigset_t>,
}

impl SignalsHeld {
    #[cfg(unix)]
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

    #[cfg(not(unix))]
    pub fn new() -> SignalsHeld {
        SignalsHeld {}
    }
}

impl Default for SignalsHeld {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SignalsHeld {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(old) = self.old.take() {
            // SAFETY: restores the mask saved in new(); a held signal is delivered now.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            }
        }
    }
}

/// A temporary file for `name`, created exclusively with `mode`, inside a directory of its own
/// that only this user can enter (0700), made next to the file it will replace: the rename out
/// of it stays within one file system, so it is atomic, and no other user can see or open the
/// file even by name. Returns the directory, the file's path and the open file.
fn create_temp(dir: &Path, name: &str, mode: u32) -> io::Result<(PathBuf, PathBuf, File)> {
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let prefix = temp_prefix(name);
    for attempt in 0..100u32 {
        let tmp_dir = dir.join(format!("{prefix}{pid}-{nanos:x}-{attempt}.tmp"));
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        builder.mode(0o700);
        match builder.create(&tmp_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        let opened = (|| {
            // The umask may have narrowed the modes; set them exactly.
            #[cfg(unix)]
            fs::set_permissions(&tmp_dir, fs::Permissions::from_mode(0o700))?;
            let path = tmp_dir.join(name);
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            options.mode(mode);
            let file = options.open(&path)?;
            #[cfg(unix)]
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            Ok((path, file))
        })();
        return match opened {
            Ok((path, file)) => Ok((tmp_dir, path, file)),
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp_dir);
                Err(e)
            }
        };
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a temporary directory",
    ))
}

#[cfg(unix)]
fn permissions_mode(meta: &fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permissions_mode(_meta: &fs::Metadata) -> u32 {
    0o600
}

/// This process's effective user id.
#[cfg(unix)]
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// An io::Error whose message is the whole story (what, why, and the fix).
fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, message)
}

/// Creates `dir` and every missing directory above it with mode 0700, whatever the umask: a
/// directory iamdb creates (`~/.config`, `~/.local/share/iamdb`, ...) is never one that others
/// can write into. Directories that exist are left as they are.
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    check_home_owner(dir)?;
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)
}

/// Opens `path` for reading, refusing anything but a regular file: a FIFO (a `PGPASSFILE` or
/// `--config` pointed at a pipe) would block the open until someone writes to it, and a device
/// could be read forever. The open itself never blocks. Returns the file and its metadata.
pub fn open_regular(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::from(io::ErrorKind::IsADirectory));
    }
    if !meta.is_file() {
        return Err(io::Error::other(format!(
            "it is not a regular file but {}",
            file_kind(&meta)
        )));
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a descriptor owned by `file`; only O_NONBLOCK is cleared.
        unsafe {
            let fd = file.as_raw_fd();
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    Ok((file, meta))
}

/// Reads a text file of at most `max` bytes through [`open_regular`]; None when it does not
/// exist.
pub fn read_text(path: &Path, max: u64) -> io::Result<Option<String>> {
    use std::io::Read;
    let (file, meta) = match open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if meta.len() > max {
        return Err(io::Error::other(format!(
            "it is {} bytes; iamdb reads at most {max}",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::other(format!("it is over {max} bytes")));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// What kind of file this is, for messages.
fn file_kind(meta: &fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else if meta.file_type().is_symlink() {
        "a symbolic link"
    } else if meta.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Why a file others could have written is not to be trusted, or None when only this user
/// (or root) can change it: it belongs to this user or root, is not writable by everyone, and
/// is group-writable only when its group is this user's alone (see [`group_is_private`]).
#[cfg(unix)]
pub fn untrusted(meta: &fs::Metadata) -> Option<String> {
    untrusted_entry(meta, false)
}

/// [`untrusted`] for a directory on the way to a file: a directory others may write into is
/// still safe when it has the sticky bit (like /tmp), since then only an entry's owner can
/// rename or remove it, and the entries on the way are checked themselves.
#[cfg(unix)]
fn untrusted_entry(meta: &fs::Metadata, directory: bool) -> Option<String> {
    let uid = euid();
    let mode = meta.permissions().mode() & 0o7777;
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

/// Why `path` cannot be trusted, naming the file or directory at fault, or None when nobody
/// but this user and root can change it: the file itself, and every directory on the way to
/// it (both the path as given and the path its symbolic links resolve to), since whoever can
/// write into one of those directories can replace what comes after.
#[cfg(unix)]
pub fn untrusted_path(path: &Path) -> io::Result<Option<(PathBuf, String)>> {
    let real = fs::canonicalize(path)?;
    let meta = fs::metadata(&real)?;
    if let Some(why) = untrusted_entry(&meta, meta.is_dir()) {
        return Ok(Some((real, why)));
    }
    untrusted_ancestors(path, &real)
}

/// The directories above `given` and `real` that others could write into.
#[cfg(unix)]
fn untrusted_ancestors(given: &Path, real: &Path) -> io::Result<Option<(PathBuf, String)>> {
    let given = std::path::absolute(given)?;
    let mut seen = std::collections::BTreeSet::new();
    for dir in given.ancestors().skip(1).chain(real.ancestors().skip(1)) {
        if dir.as_os_str().is_empty() || !seen.insert(dir.to_path_buf()) {
            continue;
        }
        let meta = fs::metadata(dir)?;
        if let Some(why) = untrusted_entry(&meta, true) {
            return Ok(Some((dir.to_path_buf(), why)));
        }
    }
    Ok(None)
}

/// An error for a file or directory iamdb will not use because others can change it, with
/// the fix.
#[cfg(unix)]
pub fn distrust_error(what: &str, path: &Path, at: &Path, why: &str) -> io::Error {
    let fix = if why.starts_with("it belongs to") {
        format!(
            "remove or rename {} (someone else made it), then run iamdb again",
            at.display()
        )
    } else {
        format!("`chmod go-w {}`", at.display())
    };
    let place = if at == path {
        String::new()
    } else {
        format!(" on its way, {}:", at.display())
    };
    refused(format!(
        "iamdb will not use {what} {}:{place} {why}; other users could change it. Fix: {fix}",
        path.display()
    ))
}

/// Fails, with the fix, when others could change `path` (see [`untrusted_path`]).
pub fn check_trusted(what: &str, path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some((at, why)) = untrusted_path(path)? {
        return Err(distrust_error(what, path, &at, &why));
    }
    #[cfg(not(unix))]
    let _ = (what, path);
    Ok(())
}

/// Whether group `gid` can hold nobody but this user: it lists no member but this user, and
/// no other account has it as its primary group. Only then may a group-writable file be
/// trusted (the user private groups of Debian, Fedora and most distributions); a shared group
/// such as `users` cannot.
#[cfg(unix)]
pub fn group_is_private(gid: u32) -> bool {
    let uid = euid();
    let Some(me) = user_name(uid) else {
        return false;
    };
    let Some(members) = group_members(gid) else {
        return false;
    };
    if members.iter().any(|m| *m != me) {
        return false;
    }
    !other_accounts_with_primary_group(gid, uid)
}

#[cfg(unix)]
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

/// The names of a group and its member list.
#[cfg(unix)]
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

#[cfg(unix)]
fn group_members(gid: u32) -> Option<Vec<String>> {
    group_entry(gid).map(|(_, m)| m)
}

/// Whether an account other than `uid` has `gid` as its primary group.
#[cfg(unix)]
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

/// `alice (uid 1000)`, or `uid 1000` when the account has no name.
#[cfg(unix)]
pub fn user_label(uid: u32) -> String {
    match user_name(uid) {
        Some(name) => format!("{name} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

#[cfg(unix)]
fn group_label(gid: u32) -> String {
    match group_entry(gid) {
        Some((name, _)) => format!("{name} (gid {gid})"),
        None => gid.to_string(),
    }
}

/// Refuses to create or replace anything under a home directory that belongs to another
/// user: root run with another user's HOME (`sudo` keeping HOME, `su` without `-`, a cron job)
/// would otherwise follow links that user planted there and truncate or re-mode files of
/// root's. The message names both users and the fix.
pub fn check_home_owner(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let Some(home) = dirs::home_dir() else {
            return Ok(());
        };
        let path = std::path::absolute(path)?;
        if !path.starts_with(&home) {
            return Ok(());
        }
        let meta = match fs::metadata(&home) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let uid = euid();
        if meta.uid() != uid {
            return Err(refused(format!(
                "HOME is {}, which belongs to {}, but iamdb runs as {}: it edits no file there, \
                 since links planted in another user's home could make it overwrite files of its own. \
                 Fix: run it with `sudo -H` (or `su -`) so that HOME is this user's, or as the home's owner",
                home.display(),
                user_label(meta.uid()),
                user_label(uid)
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// An exclusive advisory lock, held until dropped.
pub struct Lock {
    _file: File,
}

/// How long iamdb waits for a lock another process holds before it gives up with an error:
/// an edit or a token refresh takes milliseconds, so a lock held longer than this is stuck.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Takes an exclusive lock on the lock file `path` (created 0600; a symbolic link there is
/// refused, never followed), waiting at most `wait` for another holder.
pub fn lock_file(path: &Path, wait: Duration) -> io::Result<Lock> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return refused(format!(
                "the lock file {} is a symbolic link; iamdb does not follow it (remove it)",
                path.display()
            ));
        }
        e
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused(format!(
            "the lock file {} is {}; remove it",
            path.display(),
            file_kind(&meta)
        )));
    }
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "another process has held the lock {} for {} s; is an iamdb (or `iamdb lock`) stuck?",
                        path.display(),
                        wait.as_secs()
                    ),
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
}

/// The lock iamdb holds while it edits `file` (`.pgpass`, `pg_service.conf`, option files,
/// the config file, the CA bundle): a lock file in iamdb's private runtime directory, named
/// after the file's real path. No other user can open it, so no other user can stall iamdb
/// by holding it (as anyone could with a lock on a readable home directory). `iamdb lock FILE
/// -- COMMAND` takes the same lock for a script.
pub fn edit_lock(file: &Path) -> io::Result<Lock> {
    let dir = runtime_dir()?.join("locks");
    private_dir(&dir)?;
    lock_file(&dir.join(edit_lock_name(file)?), LOCK_WAIT)
}

/// `edit-<digest of the real path>.lock`; the path of a file that does not exist yet is its
/// real directory's, joined with its name.
fn edit_lock_name(file: &Path) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let target = write_target(file)?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let real = fs::canonicalize(dir)
        .unwrap_or_else(|_| std::path::absolute(dir).unwrap_or(dir.to_path_buf()));
    let real = real.join(target.file_name().unwrap_or_default());
    let digest = Sha256::digest(real.as_os_str().as_encoded_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("edit-{hex}.lock"))
}

/// Creates `dir` (and its parents, 0700) if needed and makes sure it is a directory of this
/// user's that nobody else can enter (0700), on a path nobody else can change: it holds
/// tokens and locks.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_dirs(dir)?,
        Err(e) => return Err(e),
    }
    #[cfg(unix)]
    {
        let meta = fs::symlink_metadata(dir)?;
        if !meta.is_dir() {
            return Err(refused(format!(
                "{} is {}, not a directory",
                dir.display(),
                file_kind(&meta)
            )));
        }
        let uid = euid();
        if meta.uid() != uid {
            return Err(refused(format!(
                "{} belongs to {}, not to this user ({})",
                dir.display(),
                user_label(meta.uid()),
                user_label(uid)
            )));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        if let Some((at, why)) = untrusted_ancestors(dir, &fs::canonicalize(dir)?)? {
            return Err(refused(format!(
                "{} is on the way to {} and {why}; other users could replace what is in it",
                at.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}

/// The per-user runtime directory for iamdb's locks, its file cache and the option files it
/// hands to clients, made private (0700) on first use. In order of preference:
/// `$XDG_RUNTIME_DIR/iamdb` (a tmpfs of this user's); `$TMPDIR/iamdb-<uid>`, when no other
/// user made it first; else `<cache dir>/iamdb/runtime` (`~/.cache/iamdb/runtime`), with a
/// warning that names what was in the way. Worked out once per process.
pub fn runtime_dir() -> io::Result<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(find_runtime_dir)
        .clone()
        .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e))
}

fn find_runtime_dir() -> Result<PathBuf, String> {
    let mut passed = Vec::new();
    let mut candidates = Vec::new();
    if let Some(dir) = dirs::runtime_dir() {
        candidates.push(dir.join("iamdb"));
    }
    #[cfg(unix)]
    candidates.push(std::env::temp_dir().join(format!("iamdb-{}", euid())));
    if let Some(dir) = dirs::cache_dir() {
        candidates.push(dir.join("iamdb").join("runtime"));
    }
    for dir in candidates {
        match private_dir(&dir) {
            Ok(()) => {
                if !passed.is_empty() {
                    eprintln!(
                        "iamdb: warning: {}; using {} instead",
                        passed.join("; "),
                        dir.display()
                    );
                }
                return Ok(dir);
            }
            Err(e) => passed.push(format!("cannot use {}: {e}", dir.display())),
        }
    }
    Err(format!(
        "no private runtime directory: {}",
        passed.join("; ")
    ))
}
#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("iamdb-fsutil-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn atomic_write_keeps_mode_and_follows_symlinks() {
        let dir = scratch("atomic");
        let real = dir.join("real.toml");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.join("link.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        write_atomic(&link, b"new", 0o600).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );

        let fresh = dir.join("fresh");
        write_atomic(&fresh, b"x", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_files_are_private_and_stale_ones_are_removed() {
        let dir = scratch("temp");
        let (tmp_dir, path, _file) = create_temp(&dir, ".pgpass", 0o600).unwrap();
        assert_eq!(path.parent(), Some(tmp_dir.as_path()));
        assert_eq!(
            fs::metadata(&tmp_dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A second one for the same file never reuses the first.
        let (other, _, _f) = create_temp(&dir, ".pgpass", 0o600).unwrap();
        assert_ne!(other, tmp_dir);
        // Left by a process that is gone: a pid above Linux's largest possible pid.
        let stale = dir.join(format!("{}4194305-0-0.tmp", temp_prefix(".pgpass")));
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join(".pgpass"), "x").unwrap();
        remove_stale_temps(&dir, ".pgpass");
        assert!(!stale.exists());
        assert!(tmp_dir.exists() && other.exists(), "ours are alive");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn private_dir_tightens_permissions() {
        let dir = scratch("private").join("inner");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
