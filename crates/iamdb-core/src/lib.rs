//! iamdb's core: everything it knows about AWS IAM database authentication that needs neither
//! a command line nor the AWS SDK. Both programs build on it: `iamdb` (the command line) and
//! `iamdb-credentials` (the AWS SDK, TLS and the network).
//!
//! The modules are named after what they own: `config` (the TOML file), `endpoint` (what a
//! host name says), `token` (signing), `credentials` (AWS credentials, light: the environment,
//! and the helper for everything else), `cache` (the keyring stores), `provider` (putting them
//! together), `clients` (what each database client reads), `edit` and `fsutil` (files),
//! `inspect` and `setup` (explaining the AWS side), `protocol` and `helper` (the conversation
//! with `iamdb-credentials`).

pub mod ca;
pub mod cache;
pub mod clients;
pub mod config;
pub mod credentials;
pub mod edit;
pub mod endpoint;
pub mod error;
pub mod fsutil;
pub mod helper;
pub mod inspect;
pub mod logging;
pub mod named;
pub mod protocol;
pub mod provider;
pub mod setup;
pub mod token;
