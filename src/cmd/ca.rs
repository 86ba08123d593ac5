//! `iamdb ca path|install`: where the Amazon RDS CA bundle lives, and writing it there.

use crate::ca;
use crate::cli::CaCommand;
use crate::error::Result;

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
    }
}
