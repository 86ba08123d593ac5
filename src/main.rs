//! `iamdb`: the command line. Every command and flag is declared in `cli`, completion in
//! `complete`; each command has a file in `cmd` that turns clap's values into iamdb-core's
//! input, calls iamdb-core and prints through `output`. What the commands do is in iamdb-core.

mod cli;
mod cmd;
mod complete;
mod output;

use clap::Parser;

fn main() {
    if iamdb_core::env::completing() {
        complete::answer();
    }
    let cli = fast_token()
        .unwrap_or_else(|| cli::Cli::try_parse().unwrap_or_else(|err| output::clap_error(err)));
    iamdb_core::logging::init(cli.verbose);
    iamdb_core::diag::set_sink(output::diagnostic);
    let result = iamdb_core::env::load().and_then(|_| cmd::run(cli));
    if let Err(err) = result {
        output::error(&err);
        std::process::exit(err.exit_code());
    }
}

/// `iamdb token PROFILE` and nothing else, the call password commands and scripts make over
/// and over, read without building clap's command tree: that tree (every subcommand, every
/// setting's flag) and freeing it were about half of a cache hit's own time (bench/run.sh, README
/// "Speed"). Anything else (a flag, a second word, a PROFILE that starts with `-` or is not
/// UTF-8) goes to clap, which reads these two words the same way; tests/suite/token.rs runs
/// both parsers on the same inputs and compares what they print and how they exit.
fn fast_token() -> Option<cli::Cli> {
    let mut args = std::env::args_os().skip(1);
    let (Some(command), Some(profile), None) = (args.next(), args.next(), args.next()) else {
        return None;
    };
    let profile = profile.into_string().ok()?;
    if command != "token" || profile.starts_with('-') || profile.is_empty() {
        return None;
    }
    Some(cli::Cli {
        config: None,
        verbose: 0,
        command: cli::Command::Token(cli::TokenArgs {
            profile: Some(profile),
            settings: Default::default(),
            format: cli::TokenFormat::Text,
            no_cache: false,
            refresh: false,
        }),
    })
}
