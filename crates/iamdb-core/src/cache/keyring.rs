//! Stores reached through keyring-core: the Secret Service on Linux (GNOME Keyring,
//! KWallet), the Keychain on macOS and the Credential Manager on Windows.
//!
//! Every call runs on a worker thread and is given a deadline: a locked Secret Service with a
//! display shows an unlock prompt and blocks until someone answers, which in a script is
//! never. A store that misses its deadline is unusable for the rest of the process.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use keyring_core::api::CredentialStoreApi;
use keyring_core::{Entry, Error as KeyringError};

use super::{Backend, PREFIX, Store, StoreError, StoreResult};

/// keyring-core's service name for every iamdb entry; the entry name is its user name.
const SERVICE: &str = "iamdb";

type Job = Box<dyn FnOnce(&Arc<dyn CredentialStoreApi + Send + Sync>) + Send>;

pub struct KeyringStore {
    backend: Backend,
    jobs: mpsc::Sender<Job>,
    deadline: Duration,
}

fn connect(backend: Backend) -> Result<Arc<dyn CredentialStoreApi + Send + Sync>, String> {
    match backend {
        #[cfg(target_os = "linux")]
        Backend::SecretService => zbus_secret_service_keyring_store::Store::new()
            .map(|s| s as Arc<dyn CredentialStoreApi + Send + Sync>)
            .map_err(|e| describe(&e)),
        #[cfg(target_os = "macos")]
        Backend::Keychain => apple_native_keyring_store::keychain::Store::new()
            .map(|s| s as Arc<dyn CredentialStoreApi + Send + Sync>)
            .map_err(|e| describe(&e)),
        #[cfg(windows)]
        Backend::CredentialManager => windows_native_keyring_store::Store::new()
            .map(|s| s as Arc<dyn CredentialStoreApi + Send + Sync>)
            .map_err(|e| describe(&e)),
        other => Err(format!("{other} is not available on this platform")),
    }
}

fn describe(e: &KeyringError) -> String {
    let text = e.to_string();
    // Keep warnings to one line.
    text.lines().next().unwrap_or_default().to_string()
}

impl KeyringStore {
    pub fn open(backend: Backend, deadline: Duration) -> StoreResult<Self> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        // The worker (and the D-Bus threads it starts) inherit a mask that holds back the
        // signals that end iamdb: those are then always taken by the main thread, which can
        // hold them while it has a temporary file (see fsutil::SignalsHeld).
        let spawned = {
            let _held = crate::fsutil::SignalsHeld::new();
            std::thread::Builder::new()
                .name(format!("iamdb-{backend}"))
                .spawn(move || {
                    let store = match connect(backend) {
                        Ok(store) => {
                            let _ = ready_tx.send(Ok(()));
                            store
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    for job in inbox {
                        job(&store);
                    }
                })
                .map_err(|e| StoreError::Unusable(format!("cannot start a thread: {e}")))
        };
        spawned?;
        match ready_rx.recv_timeout(deadline) {
            Ok(Ok(())) => Ok(KeyringStore {
                backend,
                jobs,
                deadline,
            }),
            Ok(Err(why)) => Err(StoreError::Unusable(why)),
            Err(_) => Err(StoreError::Unusable(format!(
                "no answer within {} ms",
                deadline.as_millis()
            ))),
        }
    }

    /// Runs `f` on the worker thread and waits for it, at most the deadline.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Arc<dyn CredentialStoreApi + Send + Sync>) -> Result<T, KeyringError>
        + Send
        + 'static,
    ) -> StoreResult<Result<T, KeyringError>> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |store| {
            let _ = tx.send(f(store));
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Unusable("the keyring connection was lost".into()))?;
        rx.recv_timeout(self.deadline).map_err(|_| {
            StoreError::Unusable(format!(
                "no answer within {} ms (is the keyring locked?)",
                self.deadline.as_millis()
            ))
        })
    }
}

fn entry(
    store: &Arc<dyn CredentialStoreApi + Send + Sync>,
    name: &str,
) -> Result<Entry, KeyringError> {
    store.build(SERVICE, name, None)
}

/// NoEntry is a miss; NoStorageAccess and PlatformFailure mean the store is unusable; any
/// other error (bad encoding, bad data) is an entry that cannot be read: a miss too.
fn classify<T>(r: Result<T, KeyringError>, miss: T) -> StoreResult<T> {
    match r {
        Ok(v) => Ok(v),
        Err(KeyringError::NoEntry) => Ok(miss),
        Err(e @ (KeyringError::NoStorageAccess(_) | KeyringError::PlatformFailure(_))) => {
            Err(StoreError::Unusable(describe(&e)))
        }
        Err(e) => {
            tracing::debug!(error = %describe(&e), "keyring entry unreadable; treated as a miss");
            Ok(miss)
        }
    }
}

impl Store for KeyringStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn get(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let name = name.to_string();
        let r = self.call(move |s| entry(s, &name)?.get_secret().map(Some))?;
        classify(r, None)
    }

    fn put(&self, name: &str, value: &[u8], _ttl: Duration) -> StoreResult<()> {
        let (name, value) = (name.to_string(), value.to_vec());
        match self.call(move |s| entry(s, &name)?.set_secret(&value))? {
            Ok(()) => Ok(()),
            Err(e) => Err(StoreError::Unusable(describe(&e))),
        }
    }

    fn delete(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_string();
        let r = self.call(move |s| entry(s, &name)?.delete_credential().map(|()| true))?;
        classify(r, false)
    }

    fn list(&self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let r = self.call(|s| {
            let spec = HashMap::from([("service", SERVICE)]);
            let mut out = Vec::new();
            for found in s.search(&spec)? {
                let Some((_, name)) = found.get_specifiers() else {
                    continue;
                };
                if !name.starts_with(PREFIX) {
                    continue;
                }
                if let Ok(secret) = found.get_secret() {
                    out.push((name, secret));
                }
            }
            Ok(out)
        })?;
        classify(r, Vec::new())
    }
}
