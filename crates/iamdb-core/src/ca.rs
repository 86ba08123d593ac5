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

/// The largest CA bundle iamdb reads (AWS's is about 160 KB).
const MAX_BUNDLE_BYTES: u64 = 8 << 20;

/// The bundle file's bytes, or None when there is none. A FIFO, a device or a directory
/// there is an error, never a wait.
fn read_bundle(path: &Path) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let (file, meta) = match fsutil::open_regular(path) {
        Ok(f) => f,
        // No bundle there: writing one says what stands in the way, if anything does.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(Error::config(format!(
                "cannot read the CA bundle {}: {e}",
                path.display()
            ))
            .hint(format!(
                "remove it; iamdb installs the Amazon RDS bundle there again ({})",
                path.display()
            )));
        }
    };
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_BUNDLE_BYTES) as usize);
    file.take(MAX_BUNDLE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::config(format!("cannot read {}: {e}", path.display())))?;
    Ok(Some(bytes))
}

/// The installed bundle for the clients: a downloaded one (`ca update`) as it is, else the
/// embedded one, written (atomically) when missing or different. Refused when anyone but
/// this user (or root) could change it or a directory above it: clients trust whatever CA
/// that file names.
pub fn installed_bundle() -> Result<PathBuf> {
    let path = bundle_path()?;
    let have = read_bundle(&path)?;
    let downloaded =
        marker_path(&path).is_file() && have.as_deref().is_some_and(|b| certificate_count(b) > 0);
    if !downloaded && have.as_deref() != Some(RDS_BUNDLE) {
        write(&path, RDS_BUNDLE, None)?;
    }
    fsutil::check_trusted("the CA bundle", &path).map_err(|e| Error::config(e.to_string()))?;
    Ok(path)
}

/// Installs the embedded bundle unless the file already holds it; says whether it wrote.
/// A downloaded bundle is replaced too: this is how to go back to the embedded one.
pub fn install() -> Result<(PathBuf, bool)> {
    let path = bundle_path()?;
    let marker = marker_path(&path);
    if read_bundle(&path)?.as_deref() == Some(RDS_BUNDLE) && !marker.exists() {
        fsutil::check_trusted("the CA bundle", &path).map_err(|e| Error::config(e.to_string()))?;
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
        Some(format!("{url}\n{}\n", crate::when::rfc3339(now_unix))),
    )?;
    Ok(path)
}

fn write(path: &Path, pem: &[u8], source: Option<String>) -> Result<()> {
    let marker = marker_path(path);
    crate::edit::replace_file(path, pem, 0o644, "the CA bundle")?;
    match source {
        Some(text) => crate::edit::replace_file(&marker, text.as_bytes(), 0o644, "the CA bundle"),
        None => match std::fs::remove_file(&marker) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::config(format!(
                "cannot remove {}: {e}",
                marker.display()
            ))),
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
/// Either must be a regular file that nobody but this user (or root) can change.
pub fn for_profile(ssl_ca: Option<&std::path::Path>) -> Result<PathBuf> {
    match ssl_ca {
        Some(p) => {
            if let Err(e) = fsutil::open_regular(p) {
                return Err(Error::config(format!(
                    "ssl_ca {} cannot be used: {}",
                    p.display(),
                    if e.kind() == std::io::ErrorKind::NotFound {
                        "it does not exist".to_string()
                    } else {
                        e.to_string()
                    }
                ))
                .hint("fix ssl_ca in the profile, or remove it to use the Amazon RDS CA bundle"));
            }
            fsutil::check_trusted("the CA file", p).map_err(|e| Error::config(e.to_string()))?;
            Ok(p.to_path_buf())
        }
        None => installed_bundle(),
    }
}
