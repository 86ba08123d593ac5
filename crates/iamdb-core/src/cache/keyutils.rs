//! The Linux kernel keyring. Entries live in the *user* keyring (`@u`), not the session
//! keyring: cron jobs, ssh sessions without pam_keyinit and CI runners have no real session
//! keyring, but every process of the user reaches `@u`. The kernel itself drops an entry when
//! its token expires (key timeout), and nothing is ever written to disk.

use std::time::Duration;

use linux_keyutils::{KeyError, KeyPermissions, KeyRing, KeyRingIdentifier, LinkNode, Permission};

use super::{Backend, PREFIX, Store, StoreError, StoreResult};

pub struct KeyutilsStore {
    ring: KeyRing,
}

fn unusable(what: &str, e: KeyError) -> StoreError {
    let why = match e {
        KeyError::AccessDenied | KeyError::PermissionDenied => {
            "operation not permitted".to_string()
        }
        KeyError::QuotaExceeded => "the kernel key quota is full (see /proc/key-users)".to_string(),
        KeyError::OperationNotSupported => "keyctl is not supported here".to_string(),
        other => format!("{other:?}"),
    };
    StoreError::Unusable(format!("{what}: {why}"))
}

impl KeyutilsStore {
    pub fn open() -> StoreResult<Self> {
        let ring = KeyRing::from_special_id(KeyRingIdentifier::User, true)
            .map_err(|e| unusable("keyctl", e))?;
        Ok(KeyutilsStore { ring })
    }

    fn find(&self, name: &str) -> StoreResult<Option<linux_keyutils::Key>> {
        match self.ring.search(name) {
            Ok(key) => Ok(Some(key)),
            // ENOKEY, or EKEYEXPIRED/EKEYREVOKED for a key the kernel is about to collect.
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(None)
            }
            Err(e) => Err(unusable("keyctl search", e)),
        }
    }
}

/// A key's payload. `read_to_vec` allocates 64 KiB for every read, all of which the cache's
/// `Zeroizing` then wipes byte by byte: a tenth of a cache hit's time for a 3 KB entry.
/// KEYCTL_READ returns the payload's size even when the buffer is too small, so one read into
/// 4 KiB serves a token entry (1-3 KB), and a larger payload is read again at its size.
fn read_exact(key: &linux_keyutils::Key) -> Result<Vec<u8>, KeyError> {
    let mut buf: Vec<u8> = vec![0; 4096];
    loop {
        let len = key.read(&mut buf)?;
        if len <= buf.len() {
            buf.truncate(len);
            return Ok(buf);
        }
        // Larger than the buffer (or replaced by a larger key meanwhile): read at its size.
        zeroize::Zeroize::zeroize(&mut buf);
        buf = vec![0; len];
    }
}

/// Possessor and same-user: view, read, write, search, setattr. A process of this user that
/// does not possess the user keyring (no session link to it) can still read its entries.
fn permissions() -> KeyPermissions {
    let all = || {
        Permission::VIEW
            | Permission::READ
            | Permission::WRITE
            | Permission::SEARCH
            | Permission::SETATTR
    };
    let mut perms = KeyPermissions::new();
    perms.set_posessor_perms(all() | Permission::LINK);
    perms.set_user_perms(all());
    perms
}

impl Store for KeyutilsStore {
    fn backend(&self) -> Backend {
        Backend::Keyutils
    }

    fn get(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let Some(key) = self.find(name)? else {
            return Ok(None);
        };
        match read_exact(&key) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(None)
            }
            Err(e) => Err(unusable("keyctl read", e)),
        }
    }

    fn put(&self, name: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        // add_key replaces an existing key of the same description in place.
        let key = self
            .ring
            .add_key(name, value)
            .map_err(|e| unusable("keyctl add", e))?;
        let _ = key.set_perms(permissions());
        key.set_timeout(usize::try_from(ttl.as_secs()).unwrap_or(usize::MAX))
            .map_err(|e| unusable("keyctl timeout", e))?;
        Ok(())
    }

    fn delete(&self, name: &str) -> StoreResult<bool> {
        let Some(key) = self.find(name)? else {
            return Ok(false);
        };
        match key.invalidate() {
            Ok(()) => Ok(true),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(false)
            }
            Err(e) => Err(unusable("keyctl invalidate", e)),
        }
    }

    fn list(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        // The user key quota is 200 keys for non-root users; leave room above it.
        let links = self
            .ring
            .get_links(4096)
            .map_err(|e| unusable("keyctl read", e))?;
        let mut out = Vec::new();
        for node in links.iter() {
            let LinkNode::Key(key) = node else { continue };
            let Ok(meta) = key.metadata() else { continue };
            let description = meta.get_description();
            if !description.starts_with(PREFIX) {
                continue;
            }
            if let Ok(bytes) = read_exact(key) {
                out.push((description.to_string(), bytes));
            }
        }
        Ok(out)
    }
}
