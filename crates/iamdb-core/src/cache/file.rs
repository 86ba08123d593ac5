//! The last-resort store: one 0600 JSON file per entry in a 0700 directory under
//! `$XDG_RUNTIME_DIR/iamdb/cache` (a tmpfs that disappears at logout), or under
//! `$TMPDIR/iamdb-<uid>/cache` where there is no runtime directory.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::{Backend, PREFIX, Store, StoreError, StoreResult};
use crate::fsutil;

pub struct FileStore {
    dir: PathBuf,
}

fn unusable(what: &str, e: &io::Error) -> StoreError {
    StoreError::Unusable(format!("{what}: {e}"))
}

/// Entry names hold ':'; file names use '=' instead (profile names never contain it).
fn file_name(name: &str) -> String {
    format!("{}.json", name.replace(':', "="))
}

fn entry_name(file_name: &str) -> Option<String> {
    let name = file_name.strip_suffix(".json")?.replace('=', ":");
    name.starts_with(PREFIX).then_some(name)
}

impl FileStore {
    pub fn open() -> StoreResult<Self> {
        let dir = fsutil::runtime_dir()
            .map_err(|e| StoreError::Unusable(e.to_string()))?
            .join("cache");
        fsutil::private_dir(&dir).map_err(|e| StoreError::Unusable(e.to_string()))?;
        Ok(FileStore { dir })
    }
}

impl Store for FileStore {
    fn backend(&self) -> Backend {
        Backend::File
    }

    fn get(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let path = self.dir.join(file_name(name));
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unusable(&path.display().to_string(), &e)),
        }
    }

    fn put(&self, name: &str, value: &[u8], _ttl: Duration) -> StoreResult<()> {
        let path = self.dir.join(file_name(name));
        fsutil::write_atomic(&path, value, 0o600)
            .map_err(|e| unusable(&path.display().to_string(), &e))
    }

    fn delete(&self, name: &str) -> StoreResult<bool> {
        let path = self.dir.join(file_name(name));
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(unusable(&path.display().to_string(), &e)),
        }
    }

    fn list(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let entries =
            fs::read_dir(&self.dir).map_err(|e| unusable(&self.dir.display().to_string(), &e))?;
        let mut out = Vec::new();
        for dirent in entries.flatten() {
            let Some(name) = entry_name(&dirent.file_name().to_string_lossy()) else {
                continue;
            };
            if let Ok(bytes) = fs::read(dirent.path()) {
                out.push((name, bytes));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let name = "iamdb:prod:0123abcd";
        assert_eq!(file_name(name), "iamdb=prod=0123abcd.json");
        assert_eq!(entry_name(&file_name(name)).as_deref(), Some(name));
        assert_eq!(entry_name(".iamdb=x.json.iamdb-1-2-3.tmp"), None);
        assert_eq!(entry_name("other.json"), None);
    }
}
