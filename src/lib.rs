//! iamdb: AWS IAM database authentication tokens for RDS and Aurora, cached in the OS
//! keyring and handed to the clients people already use.
//!
//! The binary is a thin layer over this library (`cmd`); the modules are named after what
//! they own: `config` (the TOML file), `endpoint` (what a host name says), `token` (signing),
//! `credentials` (AWS, light), `sdk`, `aws_api` and `tls` (aws-config, the AWS SDK and rustls, for
//! the `iamdb-credentials` helper only), `cache` (the keyring stores), `provider` (putting them
//! together), `inspect`, `setup` and `doctor` (explaining the AWS side).

pub mod answers;
#[cfg(feature = "aws")]
pub mod aws_api;
pub mod ca;
pub mod cache;
pub mod cli;
pub mod clients;
pub mod cmd;
pub mod complete;
pub mod config;
pub mod credentials;
pub mod edit;
pub mod endpoint;
pub mod error;
pub mod fsutil;
pub mod inspect;
pub mod logging;
pub mod provider;
#[cfg(feature = "aws")]
pub mod sdk;
pub mod setup;
#[cfg(feature = "aws")]
pub mod tls;
pub mod token;
