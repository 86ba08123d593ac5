//! The Amazon RDS CA bundle (all regions' RDS roots and intermediates, and the Amazon roots
//! RDS Proxy uses), embedded in the binary and installed as a file for clients that need a
//! path. Used for every profile without `ssl_ca`.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::fsutil;

pub const RDS_BUNDLE: &[u8] = include_bytes!("../assets/rds-ca-bundle.pem");

/// Where the bundle is installed: `<data dir>/iamdb/rds-ca-bundle.pem`.
pub fn bundle_path() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("iamdb").join("rds-ca-bundle.pem"))
        .ok_or_else(|| Error::config("cannot find the data directory (HOME is not set)"))
}

/// The installed bundle, written (atomically) when missing or different from the embedded one.
pub fn installed_bundle() -> Result<PathBuf> {
    install().map(|(path, _)| path)
}

/// Installs the embedded bundle unless the file already holds it; says whether it wrote.
pub fn install() -> Result<(PathBuf, bool)> {
    let path = bundle_path()?;
    if std::fs::read(&path).is_ok_and(|have| have == RDS_BUNDLE) {
        return Ok((path, false));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    fsutil::write_atomic(&path, RDS_BUNDLE, 0o644)
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))?;
    Ok((path, true))
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
