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
    let cli = cli::Cli::try_parse().unwrap_or_else(|err| output::clap_error(err));
    iamdb_core::logging::init(cli.verbose);
    iamdb_core::diag::set_sink(output::diagnostic);
    let result = iamdb_core::env::load().and_then(|_| cmd::run(cli));
    if let Err(err) = result {
        output::error(&err);
        std::process::exit(err.exit_code());
    }
}
