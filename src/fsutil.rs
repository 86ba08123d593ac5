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
    write(path, contents, new_mode, true)
}

/// Like [`write_atomic`], but the file always ends up with `mode` (for files that must be
/// private whatever they were before).
pub fn write_atomic_with_mode(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    write(path, contents, mode, false)
}

fn write(path: &Path, contents: &[u8], new_mode: u32, keep_mode: bool) -> io::Result<()> {
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
    let (tmp_path, mut tmp) = create_temp(dir, &name, mode)?;
    let result = (|| {
        tmp.write_all(contents)?;
        tmp.sync_all()?;
        fs::rename(&tmp_path, &target)?;
        // The rename is durable only once the directory entry is.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

fn create_temp(dir: &Path, name: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for attempt in 0..100u32 {
        let path = dir.join(format!(".{name}.iamdb-{pid}-{nanos:x}-{attempt}.tmp"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(mode);
        match options.open(&path) {
            Ok(file) => {
                // The umask may have narrowed the mode; set it exactly.
                #[cfg(unix)]
                file.set_permissions(fs::Permissions::from_mode(mode))?;
                return Ok((path, file));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a temporary file",
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
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
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
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
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
