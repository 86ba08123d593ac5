//! `iamdb-credentials`: the network steps of iamdb, with the AWS SDK and rustls. iamdb runs it
//! with one request (iamdb_core::protocol) as JSON on stdin; it writes one answer as JSON on
//! stdout (secrets only there, never on a command line), and its logs (`-v`) on stderr.
//!
//! It is a separate program so that `iamdb`, which serves every cache hit, carries neither
//! aws-config nor tokio, hyper, rustls and aws-lc: starting a binary with them costs twice
//! what the whole hit costs without them. Its calls: AWS credentials through aws-config
//! (`sdk`), STS GetCallerIdentity and the RDS lookup of an endpoint (`aws_api`), a verified
//! TLS handshake with a database server and the download of a CA bundle (`tls`).

mod aws_api;
mod explain;
mod network;
mod roles;
mod sdk;
mod tls;

use std::io::{Read, Write};

use iamdb_core::error::{Error, Result};
use iamdb_core::protocol::{self, Answer, Call, Failure, Reply, Request};

/// This program and its release, for iamdb's messages about mismatched installations.
fn program() -> String {
    format!("iamdb-credentials {}", env!("IAMDB_VERSION"))
}

/// The largest request iamdb sends is a few hundred bytes.
const REQUEST_LIMIT: u64 = 64 << 10;

fn read_request() -> Result<Request> {
    let mut text = Vec::new();
    std::io::stdin()
        .take(REQUEST_LIMIT)
        .read_to_end(&mut text)
        .map_err(|e| Error::internal(format!("cannot read the request: {e}")))?;
    let doc: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        Error::usage(format!(
            "iamdb-credentials reads one JSON request on stdin, from iamdb ({e})"
        ))
    })?;
    match protocol::version_of(&doc) {
        Some(protocol::VERSION) => serde_json::from_value(doc)
            .map_err(|e| Error::install(format!("{} does not know this request ({e})", program()))),
        Some(other) => Err(Error::install(format!(
            "{} speaks version {} of the helper protocol; the request was version {other}",
            program(),
            protocol::VERSION
        ))),
        None => Err(Error::usage(
            "iamdb-credentials reads one JSON request on stdin, from iamdb",
        )),
    }
}

fn answer(call: Call) -> Result<Reply> {
    Ok(match call {
        Call::Credentials {
            aws_profile,
            need_region,
            sts_region,
            mfa,
            sessions_since,
            sessions,
        } => match sdk::resolve(sdk::Ask {
            aws_profile: aws_profile.as_deref(),
            need_region,
            sts_region: sts_region.as_deref(),
            mfa: mfa.as_ref(),
            since: sessions_since,
            sessions,
        })? {
            sdk::Resolution::Resolved(resolved, region) => {
                Reply::Credentials(iamdb_core::credentials::to_doc(&resolved, region.as_ref()))
            }
            sdk::Resolution::NeedMfa(challenge) => Reply::NeedMfa(challenge),
        },
        Call::Identity {
            aws_profile,
            region,
            sessions,
        } => Reply::Identity(aws_api::identity(
            aws_profile.as_deref(),
            &region,
            sessions,
        )?),
        Call::Lookup {
            aws_profile,
            region,
            host,
            sessions,
        } => Reply::Resource(aws_api::lookup(
            aws_profile.as_deref(),
            &region,
            &host,
            sessions,
        )?),
        Call::CacheLookup {
            aws_profile,
            region,
            name,
            memorydb,
            serverless,
            sessions,
        } => Reply::Cache(aws_api::cache_lookup(
            aws_profile.as_deref(),
            &region,
            &name,
            memorydb,
            serverless,
            sessions,
        )?),
        Call::Handshake {
            host,
            connect,
            port,
            wire,
            ca,
        } => Reply::Handshake(tls::check(&host, &connect, port, wire, &ca)?),
        Call::FetchBundle { url } => {
            let body = tls::fetch(&url, 4 << 20)?;
            tls::roots_from_pem(&body, &url)?;
            let pem = String::from_utf8(body).map_err(|_| {
                Error::new(
                    iamdb_core::error::Kind::Check,
                    format!("{url} is not a PEM certificate bundle (not text)"),
                )
            })?;
            Reply::Bundle { pem }
        }
    })
}

fn main() {
    if let Some(arg) = std::env::args().nth(1) {
        if arg == "--version" || arg == "-V" {
            println!("{}", program());
            return;
        }
        eprintln!(
            "iamdb-credentials takes no arguments: iamdb runs it, with a request on stdin (see `iamdb --help`)"
        );
        std::process::exit(2);
    }
    let result = read_request().and_then(|request| {
        iamdb_core::logging::init(request.verbose);
        answer(request.call)
    });
    let (ok, error) = match result {
        Ok(reply) => (Some(reply), None),
        Err(e) => (None, Some(Failure::from(&e))),
    };
    let answer = Answer {
        protocol: protocol::VERSION,
        program: program(),
        ok,
        error,
    };
    let text = zeroize::Zeroizing::new(serde_json::to_vec(&answer).unwrap_or_default());
    let mut out = std::io::stdout().lock();
    if out.write_all(&text).and_then(|()| out.flush()).is_err() {
        std::process::exit(1);
    }
}
