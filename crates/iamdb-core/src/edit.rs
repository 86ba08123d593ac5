//! Editing a file the user owns (`.pgpass`, `pg_service.conf`, option files, the config file):
//! read, change, and atomically replace, under a lock, keeping every byte iamdb does not own.
//! Every rule about where iamdb may write lives here, so that each command that edits a file
//! gets all of them: no writing under another user's home, no token in a file or directory
//! others could reach, no waiting forever on a lock, no blocking on a FIFO.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fsutil;

/// The largest file iamdb edits; anything bigger is not a file of the kinds it edits.
const MAX_EDITED_BYTES: u64 = 16 << 20;

/// Reads, edits and atomically replaces a user's file under iamdb's lock for it, following a
/// symlink to its target. With `private`, the file will hold a token: it must be a regular
/// file of this user's in a directory nobody else can write to, and it always ends up with
/// that mode (a looser one is reported); otherwise it keeps its mode (0644 when new). A
/// program that changes the file while iamdb edits it without taking iamdb's lock (an
/// `echo >> ~/.pgpass`) does not lose its change: iamdb notices before its rename, and reads
/// and edits the file again.
pub fn edit_file(
    path: &Path,
    private: Option<u32>,
    edit: impl FnMut(&str) -> Result<String>,
) -> Result<()> {
    edit_inner(path, private, false, edit).map(|_| ())
}

/// Like [`edit_file`], for a file that may have held nothing but iamdb's own text: when the
/// edit takes text out and leaves nothing but whitespace, the file is removed rather than
/// left empty, and a file that does not exist is not created just to be empty. A file with
/// anything else in it (a comment of the user's is enough) is written as [`edit_file`] would,
/// and so is one the edit leaves as it was. Only a regular file of this user's is removed, by
/// its own name, under the same lock and only if nobody changed it since it was read: a
/// symlinked file (a dotfile linked from a repository) is written empty instead, so that
/// iamdb never deletes through a link. Returns whether the file was removed.
pub fn edit_or_remove(
    path: &Path,
    private: Option<u32>,
    edit: impl FnMut(&str) -> Result<String>,
) -> Result<bool> {
    edit_inner(path, private, true, edit)
}

fn edit_inner(
    path: &Path,
    private: Option<u32>,
    remove_emptied: bool,
    mut edit: impl FnMut(&str) -> Result<String>,
) -> Result<bool> {
    let unsafe_place = |e: std::io::Error| Error::config(e.to_string());
    fsutil::check_home_owner(path).map_err(unsafe_place)?;
    let target = fsutil::write_target(path)
        .map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
    fsutil::check_home_owner(&target).map_err(unsafe_place)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dirs(dir)
            .map_err(|e| Error::config(format!("cannot write {}: {e}", target.display())))?;
        if private.is_some() {
            fsutil::check_trusted("the directory", dir).map_err(|e| {
                Error::config(format!(
                    "not writing a token into {}: {e}",
                    target.display()
                ))
            })?;
        }
    }
    let _lock = fsutil::edit_lock(&target)
        .map_err(|e| Error::config(format!("cannot lock {}: {e}", target.display())))?;
    let absent = fsutil::Fingerprint::of(None);
    for round in 0..50 {
        let (text, read) = read_for_edit(&target, private.is_some())?;
        let new_text = edit(&text)?;
        if remove_emptied && new_text.trim().is_empty() {
            if read == absent {
                // Nothing to create; unless a file appeared meanwhile, nothing to do.
                let now = fsutil::Fingerprint::at(&target)
                    .map_err(|e| Error::config(format!("cannot read {}: {e}", target.display())))?;
                if now == absent {
                    return Ok(false);
                }
                continue;
            }
            // Only the file itself, never through a link: `target` is `path` when `path` is
            // not a symbolic link.
            if new_text != text && target == path {
                let removed = fsutil::remove_if_unchanged(&target, &read).map_err(|e| {
                    Error::config(format!("cannot remove {}: {e}", target.display()))
                })?;
                if removed {
                    return Ok(true);
                }
                if fsutil::Fingerprint::at(&target).ok().as_ref() != Some(&read) {
                    tracing::debug!(round, path = %target.display(), "changed by another program while editing; again");
                    continue;
                }
                // Unchanged but not removable (another user's file): written empty below.
            }
        }
        if let Some(mode) = private
            && round == 0
            && let Ok(meta) = std::fs::metadata(&target)
        {
            let have = crate::sys::mode(&meta) & 0o777;
            if have & !mode != 0 {
                crate::diag::warn(format!(
                    "{} was readable by others (mode {have:o}); it is {mode:04o} now (libpq ignores a looser file)",
                    target.display()
                ));
            }
        }
        let written = fsutil::replace_if_unchanged(&target, new_text.as_bytes(), private, &read)
            .map_err(|e| Error::config(format!("cannot write {}: {e}", target.display())))?;
        if written {
            return Ok(false);
        }
        tracing::debug!(round, path = %target.display(), "changed by another program while editing; again");
    }
    Err(Error::config(format!(
        "{} keeps changing under iamdb; not written",
        target.display()
    )))
}

/// The file's text and the fingerprint of the version read (empty and no fingerprint when
/// it does not exist). A file that will hold a secret must belong to this user: iamdb will
/// not write a token into a file someone else owns (and could read).
fn read_for_edit(target: &Path, secret: bool) -> Result<(String, fsutil::Fingerprint)> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| Error::config(format!("cannot read {}: {e}", target.display()));
    let (file, meta) = match fsutil::open_regular(target) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((String::new(), fsutil::Fingerprint::of(None)));
        }
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
            return Err(Error::config(format!(
                "{} is a directory; iamdb leaves it alone",
                target.display()
            )));
        }
        Err(e) => return Err(cannot(e)),
    };
    let uid = fsutil::euid();
    if secret && let Some(owner) = crate::sys::owner(&meta).filter(|o| *o != uid) {
        return Err(Error::config(format!(
            "{} belongs to {}, not to this user ({}); iamdb will not write a token into it",
            target.display(),
            fsutil::user_label(owner),
            fsutil::user_label(uid)
        )));
    }
    if meta.len() > MAX_EDITED_BYTES {
        return Err(Error::config(format!(
            "{} is {} bytes; iamdb leaves files over 16 MiB alone",
            target.display(),
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_EDITED_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    // The fingerprint from before the read: a change made while reading shows up at the
    // rename as well, and sends iamdb round again.
    let read = fsutil::Fingerprint::of(Some(&meta));
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::config(format!(
            "{} is not UTF-8 text; iamdb leaves it alone",
            target.display()
        ))
    })?;
    Ok((text, read))
}

/// Replaces a whole file iamdb owns (the CA bundle and its marker) under the same rules: no
/// writing under another user's home, iamdb's lock held, and the directory must be one
/// nobody else can change (whoever could would have clients trust a CA of their choosing).
pub fn replace_file(path: &Path, contents: &[u8], mode: u32, what: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::config(format!("cannot write {}: {e}", path.display()));
    fsutil::check_home_owner(path).map_err(|e| Error::config(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dirs(dir).map_err(fail)?;
        fsutil::check_trusted(&format!("the directory of {what}"), dir)
            .map_err(|e| Error::config(e.to_string()))?;
    }
    let _lock = fsutil::edit_lock(path).map_err(fail)?;
    fsutil::write_atomic(path, contents, mode).map_err(fail)
}

/// Edits the config file: under iamdb's lock for it, read with the config file's own checks
/// (a regular file nobody else can change), written atomically (0644 when new), never under
/// another user's home. An empty text when the file does not exist yet.
pub fn edit_config(path: &Path, change: impl FnOnce(&str) -> Result<String>) -> Result<()> {
    let unsafe_place = |e: std::io::Error| Error::config(e.to_string());
    fsutil::check_home_owner(path).map_err(unsafe_place)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_dirs(dir)
            .map_err(|e| Error::config(format!("cannot write {}: {e}", path.display())))?;
    }
    let _lock = fsutil::edit_lock(path)
        .map_err(|e| Error::config(format!("cannot lock {}: {e}", path.display())))?;
    let text = match crate::config::read_config(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::config(format!("{}: not UTF-8 text", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(crate::config::read_error(path, &e)),
    };
    let new_text = change(&text)?;
    fsutil::write_atomic(path, new_text.as_bytes(), 0o644)
        .map_err(|e| Error::config(format!("cannot write {}: {e}", path.display())))
}
