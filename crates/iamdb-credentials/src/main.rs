//! `iamdb-credentials`: resolves AWS credentials through aws-config and prints them as a
//! `credential_process` JSON document on stdout, for `iamdb` to read over a pipe.
//!
//! It is a separate program so that `iamdb`, which serves every cache hit, does not carry
//! aws-config, tokio, hyper, rustls and aws-lc: starting a binary with them costs twice what
//! the whole hit costs without them. It is not meant to be run by hand, but it can be: it
//! takes the same environment as iamdb and prints secrets only to stdout.
//!
//! Its subcommands are the other network steps of iamdb, for `doctor`, `setup` and `ca update`:
//! `identity` (STS GetCallerIdentity), `lookup` (the RDS resource behind an endpoint), `tls` (a
//! verified TLS handshake with the database server) and `fetch` (an HTTPS download). Each
//! prints one JSON document (`fetch`: the body) on stdout, or an error on stderr.

mod aws_api;
mod sdk;
mod tls;

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
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    call: Option<Call>,
}

#[derive(Debug, clap::Subcommand)]
enum Call {
    /// STS GetCallerIdentity: account, ARN, and the time in STS's Date header.
    Identity {
        #[arg(long)]
        aws_profile: Option<String>,
        #[arg(long)]
        region: String,
    },
    /// The RDS instance, Aurora cluster or RDS Proxy whose endpoint HOST is.
    Lookup {
        #[arg(long)]
        aws_profile: Option<String>,
        #[arg(long)]
        region: String,
        #[arg(long)]
        host: String,
    },
    /// A TLS handshake with a database server, verifying its certificate for HOST.
    Tls {
        #[arg(long)]
        host: String,
        /// The address to dial (a tunnel's end) [default: HOST].
        #[arg(long)]
        connect: Option<String>,
        #[arg(long)]
        port: u16,
        #[arg(long, value_enum)]
        protocol: tls::Protocol,
        #[arg(long)]
        ca: std::path::PathBuf,
    },
    /// Download an https:// URL to stdout.
    Fetch {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 4 << 20)]
        max_bytes: usize,
        /// Fail unless the body is PEM certificates that all parse (a CA bundle).
        #[arg(long)]
        certificates: bool,
    },
}

fn json<T: serde::Serialize>(
    value: iamdb_core::error::Result<T>,
) -> iamdb_core::error::Result<Vec<u8>> {
    value.map(|v| serde_json::to_vec(&v).unwrap_or_default())
}

fn call(call: Call) -> iamdb_core::error::Result<Vec<u8>> {
    match call {
        Call::Identity {
            aws_profile,
            region,
        } => json(aws_api::identity(aws_profile.as_deref(), &region)),
        Call::Lookup {
            aws_profile,
            region,
            host,
        } => json(aws_api::lookup(aws_profile.as_deref(), &region, &host)),
        Call::Tls {
            host,
            connect,
            port,
            protocol,
            ca,
        } => json(tls::check(
            &host,
            connect.as_deref().unwrap_or(&host),
            port,
            protocol,
            &ca,
        )),
        Call::Fetch {
            url,
            max_bytes,
            certificates,
        } => {
            let body = tls::fetch(&url, max_bytes)?;
            if certificates {
                tls::roots_from_pem(&body, &url)?;
            }
            Ok(body)
        }
    }
}

fn main() {
    let args = Args::parse();
    iamdb_core::logging::init(args.verbose);
    let result = match args.call {
        Some(c) => call(c),
        None => json(
            sdk::resolve(
                args.aws_profile.as_deref(),
                args.need_region,
                args.sts_region.as_deref(),
            )
            .map(|(resolved, region)| {
                iamdb_core::credentials::HelperOutput::new(&resolved, region.as_ref())
            }),
        ),
    };
    match result {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
                std::process::exit(1);
            }
        }
        Err(err) => {
            eprintln!("iamdb: error: {err}");
            std::process::exit(err.exit_code());
        }
    }
}
