//! `iamdb man DIR`: man pages from the same clap definitions as `--help`, one for iamdb and
//! one per subcommand (`iamdb-profile-add.1`, ...). The pages in packaging/man are these,
//! and a test fails when they are out of date.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use iamdb_core::error::{Error, Result};

pub fn run(dir: &Path) -> Result<()> {
    // Man pages are for everyone to read: 0755, whatever the umask.
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    iamdb_core::sys::dir_mode(&mut builder, 0o755);
    builder
        .create(dir)
        .map_err(|e| iamdb_core::fsutil::in_the_way(dir, e))
        .map_err(|e| Error::config(format!("cannot write man pages to {}: {e}", dir.display())))?;
    // The release version, not the commit: the committed pages must not change with every commit.
    let mut cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
    cmd.build();
    let mut written = 0;
    render(&cmd, "iamdb", dir, &mut written)?;
    crate::output::print(&format!("wrote {written} man pages to {}\n", dir.display()))
}

fn render(cmd: &clap::Command, name: &str, dir: &Path, written: &mut usize) -> Result<()> {
    let page = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let mut text = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut text)
        .map_err(|e| Error::internal(format!("rendering {name}.1: {e}")))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, text)
        .map_err(|e| Error::config(format!("cannot write {}: {e}", path.display())))?;
    *written += 1;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        render(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
