//! `iamdb`: the command line. Every command and flag is in `cli`, one file per command in
//! `cmd`; what they do is in the iamdb-core library.

mod cli;
mod cmd;
mod complete;

use clap::Parser;

fn main() {
    complete::answer_if_asked();
    let cli = cli::Cli::parse();
    iamdb_core::logging::init(cli.verbose);
    if let Err(err) = cmd::run(cli) {
        if !err.is_silent() {
            eprintln!("iamdb: error: {err}");
        }
        std::process::exit(err.exit_code());
    }
}
