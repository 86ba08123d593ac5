//! `iamdb-credentials`: resolves AWS credentials through aws-config and prints them as a
//! `credential_process` JSON document on stdout, for `iamdb` to read over a pipe.
//!
//! It is a separate program so that `iamdb`, which serves every cache hit, does not carry
//! aws-config, tokio, hyper, rustls and aws-lc: starting a binary with them costs twice what
//! the whole hit costs without them. It is not meant to be run by hand, but it can be: it
//! takes the same environment as iamdb and prints secrets only to stdout.

use std::io::Write;

use clap::Parser;

/// Resolve AWS credentials for iamdb (used by iamdb itself).
#[derive(Debug, Parser)]
#[command(name = "iamdb-credentials", version)]
struct Args {
    /// Use only this AWS profile (as `aws --profile`); without it, the default chain.
    #[arg(long, value_name = "NAME")]
    aws_profile: Option<String>,
    /// Also resolve the region from the environment or AWS config.
    #[arg(long)]
    need_region: bool,
    /// Region for STS calls when AWS config names none.
    #[arg(long, value_name = "REGION")]
    sts_region: Option<String>,
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() {
    let args = Args::parse();
    iamdb::logging::init(args.verbose);
    let result = iamdb::sdk::resolve(
        args.aws_profile.as_deref(),
        args.need_region,
        args.sts_region.as_deref(),
    )
    .map(|(resolved, region)| iamdb::credentials::HelperOutput::new(&resolved, region.as_ref()));
    match result {
        Ok(doc) => {
            let text = serde_json::to_string(&doc).unwrap_or_default();
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                std::process::exit(1);
            }
        }
        Err(err) => {
            eprintln!("iamdb: error: {err}");
            std::process::exit(err.exit_code());
        }
    }
}
