//! DNS aliases: teams connect to `db.internal.example.com`, a CNAME of the RDS endpoint, but
//! a token signed for the alias fails at login ("PAM authentication failed"): it must be
//! signed for the AWS endpoint name, and TLS must check that name too. When a profile's
//! `host` is not an AWS endpoint name (and no `sign_host` pins one), iamdb reads the host's
//! CNAME chain and takes the first AWS endpoint name in it; the client still dials the alias.
//!
//! DNS is asked only when the name is needed: when a token is signed (a cache hit asks
//! nothing; the entry remembers the name it was signed for), and when a client is started
//! or a client's file written (they need the name for TLS). One query answers both the
//! chain and the alias's address.

use crate::config::Profile;
use crate::dns;
use crate::endpoint;
use crate::error::{Error, Result};

/// The first name in a CNAME chain that tokens can be signed for.
pub fn aws_name_in(chain: &[String]) -> Option<&str> {
    chain
        .iter()
        .map(String::as_str)
        .find(|n| endpoint::is_aws_endpoint(n))
}

/// What DNS said about a profile's host, for `-v` and `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The host is an AWS endpoint name, an address, or `sign_host` names the AWS name.
    NotNeeded,
    /// The host is an alias of `aws` (the whole chain as DNS gave it).
    Alias { chain: Vec<String>, aws: String },
    /// DNS names no AWS endpoint in the host's chain: tokens are signed for the host itself.
    NoAwsName { chain: Vec<String> },
}

impl Resolution {
    /// One line for people: `a -> b -> c`.
    pub fn describe(&self) -> String {
        match self {
            Resolution::NotNeeded => "no DNS lookup needed".into(),
            Resolution::Alias { chain, aws } => {
                format!("{} (signing for {aws})", chain.join(" -> "))
            }
            Resolution::NoAwsName { chain } => format!(
                "{}: no AWS endpoint name in its CNAME chain",
                chain.join(" -> ")
            ),
        }
    }
}

/// `p` with its alias resolved: `host` the AWS endpoint name, the alias dialled. Asks DNS
/// only when the profile's host may be an alias that has not been looked up.
pub fn resolve(p: &Profile) -> Result<Profile> {
    resolve_explained(p).map(|(p, _)| p)
}

/// [`resolve`], and what DNS said.
pub fn resolve_explained(p: &Profile) -> Result<(Profile, Resolution)> {
    let mut p = p.clone();
    if !p.alias_pending {
        return Ok((p, Resolution::NotNeeded));
    }
    if cfg!(not(unix)) {
        // No resolv.conf to read: the host is signed for as it is (README: set sign_host).
        p.alias_pending = false;
        return Ok((p, Resolution::NotNeeded));
    }
    let host = p.host.clone();
    let fail = |e: String| {
        Error::config(format!(
            "cannot ask DNS what {host} (profile '{}') is an alias of: {e}",
            p.label()
        ))
        .hint("set sign_host in the profile to the AWS endpoint name it stands for")
    };
    let answer = dns::Resolver::system()
        .and_then(|r| r.lookup(&host))
        .map_err(fail)?;
    p.alias_pending = false;
    let resolution = match aws_name_in(&answer.chain) {
        Some(aws) => {
            let aws = aws.to_string();
            p.adopt_aws_name(aws.clone(), answer.addrs.first().copied())?;
            Resolution::Alias {
                chain: answer.chain,
                aws,
            }
        }
        None => {
            // Nothing in the chain says what a cache profile's tokens are for.
            p.settle()?;
            Resolution::NoAwsName {
                chain: answer.chain,
            }
        }
    };
    tracing::debug!(host = %host, server = %answer.server, resolution = %resolution.describe(), "DNS");
    Ok((p, resolution))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_that_are_not_aws_endpoints_are_looked_up() {
        use endpoint::may_be_alias;
        assert!(may_be_alias("db.internal.example.com"));
        assert!(may_be_alias(
            "orders.global-abc123.global.rds.amazonaws.com"
        ));
        assert!(!may_be_alias(
            "orders.cluster-c1.eu-west-1.rds.amazonaws.com"
        ));
        assert!(!may_be_alias(
            "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
        ));
        assert!(!may_be_alias(
            "master.orders.abc123.use1.cache.amazonaws.com"
        ));
        assert!(!may_be_alias("127.0.0.1"));
        assert!(!may_be_alias("::1"));
        assert!(!may_be_alias("localhost"));
    }

    #[test]
    fn the_first_aws_name_in_the_chain_is_signed_for() {
        let chain: Vec<String> = [
            "db.internal.example.com",
            "orders.global-abc123.global.rds.amazonaws.com",
            "orders.cluster-c1.eu-west-1.rds.amazonaws.com",
            "orders-1.c1.eu-west-1.rds.amazonaws.com",
            "ec2-1-2-3-4.eu-west-1.compute.amazonaws.com",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            aws_name_in(&chain),
            Some("orders.cluster-c1.eu-west-1.rds.amazonaws.com")
        );
        assert_eq!(aws_name_in(&chain[..2]), None);
    }
}
