//! `iamdb ca path|install|update`: where the Amazon RDS CA bundle lives, writing the embedded
//! one there, and replacing it with the one AWS publishes now.

use crate::cli::CaCommand;
use iamdb_core::ca;
use iamdb_core::error::Result;

pub fn run(cmd: CaCommand) -> Result<()> {
    match cmd {
        CaCommand::Path => super::print(&format!("{}\n", ca::bundle_path()?.display())),
        CaCommand::Install => {
            let (path, written) = ca::install()?;
            let certs = ca::certificate_count(ca::RDS_BUNDLE);
            let what = if written {
                "installed"
            } else {
                "already current:"
            };
            super::print(&format!(
                "{what} {} ({certs} certificates)\n",
                path.display()
            ))
        }
        CaCommand::Update { url } => {
            // The helper downloads (rustls, the system's CAs) and checks that every
            // certificate parses; iamdb writes the file.
            let pem = iamdb_core::helper::fetch_bundle(&url)?;
            let certs = ca::certificate_count(pem.as_bytes());
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let path = ca::install_downloaded(pem.as_bytes(), &url, now)?;
            super::print(&format!(
                "updated {} ({certs} certificates from {url})\n",
                path.display()
            ))
        }
    }
}
