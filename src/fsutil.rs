//! File-system helpers for the files iamdb writes: atomic replacement under a lock, private
//! directories, and advisory locks. Anything a user wrote survives a crash at any instant:
//! the file on disk is always either the old or the new version.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
    let target = write_target(path)?;
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

/// Why a file others could have written is not to be trusted, or None when only this user
/// (or root) can change it: it belongs to this user or root, is not writable by everyone, and
/// is group-writable only for this user's own group.
#[cfg(unix)]
pub fn untrusted(meta: &fs::Metadata) -> Option<String> {
    let uid = euid();
    // SAFETY: getegid has no preconditions and cannot fail.
    let gid = unsafe { libc::getegid() };
    let mode = meta.permissions().mode() & 0o7777;
    if meta.uid() != uid && meta.uid() != 0 {
        Some(format!(
            "it belongs to uid {}, not to this user (uid {uid})",
            meta.uid()
        ))
    } else if mode & 0o002 != 0 {
        Some(format!("it is writable by every user (mode {mode:04o})"))
    } else if mode & 0o020 != 0 && meta.gid() != gid {
        Some(format!(
            "it is writable by group {} (mode {mode:04o})",
            meta.gid()
        ))
    } else {
        None
    }
}

/// An exclusive advisory lock, held until dropped.
pub struct Lock {
    _file: File,
}

/// Locks the directory that holds `path` (flock on the directory itself), so that two iamdb
/// processes editing files in it take turns, without leaving lock files behind.
pub fn lock_parent(path: &Path) -> io::Result<Lock> {
    let target = write_target(path)?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    lock_file(dir, false)
}

/// Takes an exclusive lock on `path` (a lock file, created 0600 when `create` is set, or a
/// directory), waiting for other holders.
pub fn lock_file(path: &Path, create: bool) -> io::Result<Lock> {
    let file = if create {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        options.mode(0o600);
        options.open(path)?
    } else {
        File::open(path)?
    };
    file.lock()?;
    Ok(Lock { _file: file })
}

/// Creates `dir` (and its parents) if needed and makes sure it is a directory that belongs to
/// this user and that nobody else can enter (0700): it holds tokens and locks.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true).mode(0o700);
        builder.create(dir)?;
        let meta = fs::symlink_metadata(dir)?;
        if !meta.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let uid = euid();
        if meta.uid() != uid {
            return Err(io::Error::other(format!(
                "{} belongs to uid {}, not to this user (uid {uid})",
                dir.display(),
                meta.uid()
            )));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

/// The per-user runtime directory for iamdb's locks and its file cache:
/// `$XDG_RUNTIME_DIR/iamdb`, else `$TMPDIR/iamdb-<uid>` (checked to be ours and private).
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = dirs::runtime_dir() {
        return dir.join("iamdb");
    }
    #[cfg(unix)]
    {
        let uid = euid();
        std::env::temp_dir().join(format!("iamdb-{uid}"))
    }
    #[cfg(not(unix))]
    {
        dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("iamdb")
    }
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
