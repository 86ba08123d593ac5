//! `iamdb completions SHELL`: the script that registers iamdb's Tab completion.

use iamdb_core::error::Result;

use crate::cli::CompletionShell;
use crate::{complete, output};

pub fn run(shell: CompletionShell) -> Result<()> {
    output::print(&complete::script(shell)?)
}
