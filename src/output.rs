//! Everything iamdb writes to the terminal goes through here: results on stdout, warnings,
//! notes and errors on stderr, each prefixed `iamdb:`.

use std::io::Write;

use iamdb_core::diag::Level;
use iamdb_core::error::{Error, Result};

/// Writes to stdout; a closed pipe (`iamdb ... | head -1`) is not an error.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::internal(format!("cannot write to stdout: {e}"))),
    }
}

/// One JSON document and a newline on stdout.
pub fn json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| Error::internal(e.to_string()))?;
    print(&format!("{text}\n"))
}

/// What every sync reports: `wrote 2 profiles in FILE`, and each file it removed.
pub fn synced(synced: &iamdb_core::sync::Synced) -> String {
    let verb = if synced.removed { "removed" } else { "wrote" };
    let n = synced.profiles.len();
    let s = if n == 1 { "" } else { "s" };
    let mut out = format!("{verb} {n} profile{s} in {}\n", synced.path.display());
    for gone in &synced.deleted {
        out.push_str(&format!(
            "removed {}: nothing but iamdb's own lines was in it\n",
            gone.display()
        ));
    }
    out
}

/// A line for the person at the terminal, on stderr: `iamdb: ...`.
pub fn say(message: &str) {
    eprintln!("iamdb: {message}");
}

/// iamdb-core's warnings and notes.
pub fn diagnostic(level: Level, message: &str) {
    match level {
        Level::Warning => eprintln!("iamdb: warning: {message}"),
        Level::Note => eprintln!("iamdb: note: {message}"),
    }
}

/// An error, unless the command has said everything already.
pub fn error(err: &Error) {
    if !err.is_silent() {
        eprintln!("iamdb: error: {err}");
    }
}

/// clap's own errors (unknown flags, missing arguments, a value not among an argument's
/// choices) as iamdb's: `iamdb: error: ` first, a value not among the choices worded as the
/// config file's (`--format: "yaml" is not one of text, raw or json`), exit 2. Help and version
/// are printed as clap prints them.
pub fn clap_error(err: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let message = match (
        err.kind(),
        text(ContextKind::InvalidArg),
        text(ContextKind::InvalidValue),
        err.get(ContextKind::ValidValue),
    ) {
        (ErrorKind::InvalidValue, Some(arg), Some(value), Some(ContextValue::Strings(valid)))
            if !valid.is_empty() =>
        {
            // `--format <FORMAT>`: the flag alone; a positional argument keeps its `<NAME>`.
            let arg = if arg.starts_with('-') {
                arg.split(' ').next().unwrap_or(arg)
            } else {
                arg
            };
            let mut message = format!("{arg}: {value:?} is not one of {}", one_of(valid));
            if let Some(near) = text(ContextKind::SuggestedValue) {
                message.push_str(&format!("; did you mean {near}?"));
            }
            message
        }
        _ => {
            let rendered = err.render().to_string();
            rendered
                .strip_prefix("error: ")
                .unwrap_or(&rendered)
                .trim_end()
                .to_string()
        }
    };
    error(&Error::usage(message));
    std::process::exit(iamdb_core::error::Kind::Usage as i32)
}

/// `a, b or c`.
fn one_of(names: &[String]) -> String {
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// Runs a launch in iamdb's place: on Unix the program replaces iamdb (so that signals, the
/// terminal and the exit status are its own); elsewhere it runs as a child and iamdb exits with
/// its status. Returns only on failure.
pub fn launch(launch: iamdb_core::launch::Launch) -> Result<()> {
    let program = launch.program.to_string_lossy().into_owned();
    let cmd = launch.command();
    #[cfg(unix)]
    let err = {
        use std::os::unix::process::CommandExt;
        let mut cmd = cmd;
        let _keep = launch.keep_open;
        cmd.exec()
    };
    #[cfg(not(unix))]
    let err = {
        let mut cmd = cmd;
        match cmd.status() {
            Ok(status) if status.success() => return Ok(()),
            Ok(status) => return Err(Error::child_exit(iamdb_core::sys::exit_code(status))),
            Err(e) => e,
        }
    };
    let hint = if err.kind() == std::io::ErrorKind::NotFound {
        format!("install {program}, or put it on PATH")
    } else {
        "check the program and its permissions".to_string()
    };
    Err(Error::usage(format!("cannot run {program}: {err}")).hint(hint))
}
