//! `iamdb shell-init bash|zsh|fish`.

use std::path::Path;

use iamdb_core::config::Config;
use iamdb_core::error::Result;
use iamdb_core::shell::{self, Shell};

use crate::cli::InitShell;
use crate::output;

pub fn run(config: Option<&Path>, shell: InitShell) -> Result<()> {
    let shell = match shell {
        InitShell::Bash => Shell::Bash,
        InitShell::Zsh => Shell::Zsh,
        InitShell::Fish => Shell::Fish,
    };
    output::print(&shell::init(&Config::load(config)?, shell)?)
}
