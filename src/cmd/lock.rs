//! `iamdb lock FILE -- COMMAND`: a script's way to take the lock iamdb holds while it edits a
//! file, so that an `echo >> ~/.pgpass` never races a `pgpass sync` or `refresh --watch`.

use std::process::Command;

use iamdb_core::error::{Error, Result};
use iamdb_core::{fsutil, sys};

use crate::cli::LockArgs;

pub fn run(args: LockArgs) -> Result<()> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::usage("iamdb lock needs a command after --"))?;
    let _lock = fsutil::edit_lock(&args.file)
        .map_err(|e| Error::config(format!("cannot lock {}: {e}", args.file.display())))?;
    // Ctrl-C reaches the command too (it is in the same process group); iamdb holds the lock
    // until the command is gone, then exits with its status.
    let _held = sys::SignalsHeld::new();
    let status = Command::new(program)
        .args(rest)
        .status()
        .map_err(|e| Error::usage(format!("cannot run {}: {e}", program.to_string_lossy())))?;
    match sys::exit_code(status) {
        0 => Ok(()),
        code => Err(Error::child_exit(code)),
    }
}
