use clap::Parser;

fn main() {
    iamdb::complete::answer_if_asked();
    let cli = iamdb::cli::Cli::parse();
    iamdb::logging::init(cli.verbose);
    if let Err(err) = iamdb::cmd::run(cli) {
        if !err.is_reported() {
            eprintln!("iamdb: error: {err}");
        }
        std::process::exit(err.exit_code());
    }
}
