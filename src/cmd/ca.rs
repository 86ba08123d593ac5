//! `iamdb ca path|install|update`: where the Amazon RDS CA bundle lives, writing the embedded
//! one there, and replacing it with the one AWS publishes now.

use iamdb_core::error::Result;
use iamdb_core::{ca, helper, when};

use crate::cli::CaCommand;
use crate::output;

pub fn run(cmd: CaCommand) -> Result<()> {
    match cmd {
        CaCommand::Path => output::print(&format!("{}\n", ca::bundle_path()?.display())),
        CaCommand::Install => {
            let (path, written) = ca::install()?;
            let certs = ca::certificate_count(ca::RDS_BUNDLE);
            let what = if written {
                "installed"
            } else {
                "already current:"
            };
            output::print(&format!(
                "{what} {} ({certs} certificates)\n",
                path.display()
            ))
        }
        CaCommand::Update { url } => {
            // The helper downloads (rustls, the system's CAs) and checks that every
            // certificate parses; iamdb writes the file.
            let pem = helper::fetch_bundle(&url)?;
            let certs = ca::certificate_count(pem.as_bytes());
            let now = when::unix(std::time::SystemTime::now());
            let path = ca::install_downloaded(pem.as_bytes(), &url, now)?;
            output::print(&format!(
                "updated {} ({certs} certificates from {url})\n",
                path.display()
            ))
        }
    }
}
