//! File-system helpers for the files iamdb writes: atomic replacement under a lock, private
//! directories, and advisory locks. Anything a user wrote survives a crash at any instant:
//! the file on disk is always either the old or the new version.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::sys;

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
    pub fn of(meta: Option<&fs::Metadata>) -> Fingerprint {
        Fingerprint(meta.map(sys::stamp))
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

/// Removes `path`, a regular file of this user's, only if it still has the fingerprint `read`
/// (see [`replace_if_unchanged`]). The name itself goes: a symbolic link there is never
/// followed (and never removed: it is not the file that was read), so nothing another link
/// points at is touched. Returns false, removing nothing, when the file changed, is gone, or
/// is no longer a regular file of this user's.
pub fn remove_if_unchanged(path: &Path, read: &Fingerprint) -> io::Result<bool> {
    check_home_owner(path)?;
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.is_file()
        || sys::owner(&meta).is_some_and(|o| o != euid())
        || Fingerprint::of(Some(&meta)) != *read
    {
        return Ok(false);
    }
    fs::remove_file(path)?;
    // The removal is durable only once the directory entry is.
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(true)
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
        if !sys::process_alive(pid) {
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

pub use sys::SignalsHeld;

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
        sys::dir_mode(&mut builder, 0o700);
        match builder.create(&tmp_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        let opened = (|| {
            // The umask may have narrowed the modes; set them exactly.
            sys::set_mode(&tmp_dir, 0o700)?;
            let path = tmp_dir.join(name);
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            sys::file_mode(&mut options, mode);
            let file = options.open(&path)?;
            sys::set_mode(&path, mode)?;
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

fn permissions_mode(meta: &fs::Metadata) -> u32 {
    sys::mode(meta)
}

/// This process's effective user id.
pub fn euid() -> u32 {
    sys::euid()
}

pub use sys::user_label;

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
    sys::dir_mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| in_the_way(dir, e))
}

/// Explains a failure to create `dir`: when a file stands where one of its directories should
/// be, the error names that file ("File exists" alone does not say which).
pub fn in_the_way(dir: &Path, e: io::Error) -> io::Error {
    if matches!(
        e.kind(),
        io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory
    ) {
        for ancestor in dir.ancestors() {
            if let Ok(meta) = fs::metadata(ancestor) {
                if !meta.is_dir() {
                    return io::Error::new(
                        e.kind(),
                        format!(
                            "{} is {}, not a directory",
                            ancestor.display(),
                            file_kind(&meta)
                        ),
                    );
                }
                break;
            }
        }
    }
    e
}

/// Opens `path` for reading, refusing anything but a regular file: a FIFO (a `PGPASSFILE` or
/// `--config` pointed at a pipe) would block the open until someone writes to it, and a device
/// could be read forever. The open itself never blocks. Returns the file and its metadata.
pub fn open_regular(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let mut options = OpenOptions::new();
    options.read(true);
    sys::nonblocking(&mut options);
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
    sys::blocking(&file);
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

/// Whether an open failed on a loop of symbolic links.
pub fn is_link_loop(e: &io::Error) -> bool {
    sys::is_link_error(e)
}

/// What kind of file this is, for messages.
fn file_kind(meta: &fs::Metadata) -> &'static str {
    if let Some(kind) = sys::special_kind(meta) {
        kind
    } else if meta.is_dir() {
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
/// (or root) can change it (see [`sys::untrusted`]).
pub fn untrusted(meta: &fs::Metadata) -> Option<String> {
    sys::untrusted(meta, false)
}

/// Why `path` cannot be trusted, naming the file or directory at fault, or None when nobody
/// but this user and root can change it: the file itself, and every directory on the way to
/// it (both the path as given and the path its symbolic links resolve to), since whoever can
/// write into one of those directories can replace what comes after.
pub fn untrusted_path(path: &Path) -> io::Result<Option<(PathBuf, String)>> {
    let real = fs::canonicalize(path)?;
    let meta = fs::metadata(&real)?;
    if let Some(why) = sys::untrusted(&meta, meta.is_dir()) {
        return Ok(Some((real, why)));
    }
    untrusted_ancestors(path, &real)
}

/// The directories above `given` and `real` that others could write into.
fn untrusted_ancestors(given: &Path, real: &Path) -> io::Result<Option<(PathBuf, String)>> {
    let given = std::path::absolute(given)?;
    let mut seen = std::collections::BTreeSet::new();
    for dir in given.ancestors().skip(1).chain(real.ancestors().skip(1)) {
        if dir.as_os_str().is_empty() || !seen.insert(dir.to_path_buf()) {
            continue;
        }
        let meta = fs::metadata(dir)?;
        if let Some(why) = sys::untrusted(&meta, true) {
            return Ok(Some((dir.to_path_buf(), why)));
        }
    }
    Ok(None)
}

/// An error for a file or directory iamdb will not use because others can change it, with
/// the fix.
fn distrust_error(what: &str, path: &Path, at: &Path, why: &str) -> io::Error {
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
    if let Some((at, why)) = untrusted_path(path)? {
        return Err(distrust_error(what, path, &at, &why));
    }
    Ok(())
}

/// Refuses to create or replace anything under a home directory that belongs to another
/// user: root run with another user's HOME (`sudo` keeping HOME, `su` without `-`, a cron job)
/// would otherwise follow links that user planted there and truncate or re-mode files of
/// root's. The message names both users and the fix.
pub fn check_home_owner(path: &Path) -> io::Result<()> {
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
    match sys::owner(&meta) {
        Some(owner) if owner != uid => Err(refused(format!(
            "HOME is {}, which belongs to {}, but iamdb runs as {}: it edits no file there, \
             since links planted in another user's home could make it overwrite files of its own. \
             Fix: run it with `sudo -H` (or `su -`) so that HOME is this user's, or as the home's owner",
            home.display(),
            user_label(owner),
            user_label(uid)
        ))),
        _ => Ok(()),
    }
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
    sys::file_mode(&mut options, 0o600);
    sys::no_follow(&mut options);
    let file = options.open(path).map_err(|e| {
        if sys::is_link_error(&e) {
            refused(format!(
                "the lock file {} is a symbolic link; iamdb does not follow it (remove it)",
                path.display()
            ))
        } else {
            e
        }
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
    runtime_lock(&edit_lock_name(file)?, LOCK_WAIT)
}

/// The lock file `name` in iamdb's private runtime directory (`<runtime>/locks`), taken
/// within `wait`: the lock every iamdb lock is (edits, token entries, role sessions).
pub fn runtime_lock(name: &str, wait: Duration) -> io::Result<Lock> {
    let dir = runtime_dir()?.join("locks");
    private_dir(&dir)?;
    lock_file(&dir.join(name), wait)
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
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(refused(format!(
            "{} is {}, not a directory",
            dir.display(),
            file_kind(&meta)
        )));
    }
    let uid = euid();
    if let Some(owner) = sys::owner(&meta).filter(|o| *o != uid) {
        return Err(refused(format!(
            "{} belongs to {}, not to this user ({})",
            dir.display(),
            user_label(owner),
            user_label(uid)
        )));
    }
    if permissions_mode(&meta) & 0o077 != 0 {
        sys::set_mode(dir, 0o700)?;
    }
    if let Some((at, why)) = untrusted_ancestors(dir, &fs::canonicalize(dir)?)? {
        return Err(refused(format!(
            "{} is on the way to {} and {why}; other users could replace what is in it",
            at.display(),
            dir.display()
        )));
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
    if cfg!(unix) {
        candidates.push(std::env::temp_dir().join(format!("iamdb-{}", euid())));
    }
    if let Some(dir) = dirs::cache_dir() {
        candidates.push(dir.join("iamdb").join("runtime"));
    }
    for dir in candidates {
        match private_dir(&dir) {
            Ok(()) => {
                if !passed.is_empty() {
                    crate::diag::warn(format!(
                        "{}; using {} instead",
                        passed.join("; "),
                        dir.display()
                    ));
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

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

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
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
