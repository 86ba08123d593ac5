//! The Amazon RDS CA bundle (all regions' RDS roots and intermediates, and the Amazon roots
//! RDS Proxy uses), embedded in the binary and installed as a file for clients that need a
//! path. Used for every profile without `ssl_ca`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil;

pub const RDS_BUNDLE: &[u8] = include_bytes!("../assets/rds-ca-bundle.pem");

/// Where the bundle is installed: `<data dir>/iamdb/rds-ca-bundle.pem`.
pub fn bundle_path() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("iamdb").join("rds-ca-bundle.pem"))
        .ok_or_else(|| Error::config("cannot find the data directory (HOME is not set)"))
}

/// Where AWS publishes the current bundle (`iamdb ca update` downloads it).
pub const RDS_BUNDLE_URL: &str =
    "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";

/// Beside a bundle that `ca update` downloaded: where from and when. While it is there, the
/// downloaded bundle is kept even though it differs from the embedded one.
fn marker_path(bundle: &Path) -> PathBuf {
    bundle.with_file_name("rds-ca-bundle.source")
}

/// The installed bundle for the clients: a downloaded one (`ca update`) as it is, else the
/// embedded one, written (atomically) when missing or different.
pub fn installed_bundle() -> Result<PathBuf> {
    let path = bundle_path()?;
    if marker_path(&path).is_file()
        && std::fs::read(&path).is_ok_and(|have| certificate_count(&have) > 0)
    {
        return Ok(path);
    }
    install().map(|(path, _)| path)
}

/// Installs the embedded bundle unless the file already holds it; says whether it wrote.
/// A downloaded bundle is replaced too: this is how to go back to the embedded one.
pub fn install() -> Result<(PathBuf, bool)> {
    let path = bundle_path()?;
    let marker = marker_path(&path);
    if std::fs::read(&path).is_ok_and(|have| have == RDS_BUNDLE) && !marker.exists() {
        return Ok((path, false));
    }
    write(&path, RDS_BUNDLE, None)?;
    Ok((path, true))
}

/// Replaces the installed bundle with `pem`, downloaded from `url`.
pub fn install_downloaded(pem: &[u8], url: &str, now_unix: i64) -> Result<PathBuf> {
    let path = bundle_path()?;
    write(
        &path,
        pem,
        Some(format!("{url}\n{}\n", crate::inspect::rfc3339(now_unix))),
    )?;
    Ok(path)
}

fn write(path: &Path, pem: &[u8], source: Option<String>) -> Result<()> {
    let fail = |what: &Path, e: std::io::Error| {
        Error::internal(format!("cannot write {}: {e}", what.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let _lock = fsutil::lock_parent(path).map_err(|e| fail(path, e))?;
    let marker = marker_path(path);
    fsutil::write_atomic(path, pem, 0o644).map_err(|e| fail(path, e))?;
    match source {
        Some(text) => {
            fsutil::write_atomic(&marker, text.as_bytes(), 0o644).map_err(|e| fail(&marker, e))
        }
        None => match std::fs::remove_file(&marker) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(&marker, e)),
            _ => Ok(()),
        },
    }
}

/// How many PEM certificates a bundle holds.
pub fn certificate_count(pem: &[u8]) -> usize {
    String::from_utf8_lossy(pem)
        .lines()
        .filter(|l| l.trim() == "-----BEGIN CERTIFICATE-----")
        .count()
}

/// The CA file clients verify the server with: the profile's `ssl_ca`, else the RDS bundle.
pub fn for_profile(ssl_ca: Option<&std::path::Path>) -> Result<PathBuf> {
    match ssl_ca {
        Some(p) if p.is_file() => Ok(p.to_path_buf()),
        Some(p) => Err(Error::config(format!(
            "ssl_ca {} does not exist or is not a file",
            p.display()
        ))
        .hint("fix ssl_ca in the profile, or remove it to use the Amazon RDS CA bundle")),
        None => installed_bundle(),
    }
}
