//! iamdb's core: everything it knows about AWS IAM database authentication that needs neither
//! a command line nor the AWS SDK. Both programs build on it: `iamdb` (the command line) and
//! `iamdb-credentials` (the AWS SDK, TLS and the network). It never prints and never exits:
//! it returns values and errors, and hands warnings to the program through `diag`.
//!
//! What each module owns:
//! - `settings` (every profile setting, declared once), `config` (the TOML file and profile
//!   resolution), `engine` (engines and their families), `env` (every `IAMDB_*` variable);
//! - `endpoint` (what a host name says), `dns` and `alias` (the AWS endpoint a CNAME stands for), `token` (signing), `credentials` (AWS credentials:
//!   the environment here, everything else through the helper), `provider` (a token for a
//!   profile: cache, lock, credentials, signing), `cache` (the stores and their chain);
//! - `clients` (what each database client reads: file formats, escaping, environments),
//!   `launch` (starting a client logged in), `sync` (the files clients read by themselves),
//!   `shell` (`shell-init`'s functions);
//! - `inspect`, `setup`, `doctor` (explaining and diagnosing the AWS side), `ca` (the RDS CA
//!   bundle);
//! - `protocol` and `helper` (the conversation with `iamdb-credentials`);
//! - `edit`, `fsutil` (files: atomic, locked, private, trusted), `sys` (what differs between
//!   operating systems), `diag` (warnings), `error`, `logging`, `named`.

pub mod alias;
pub mod ca;
pub mod cache;
pub mod clients;
pub mod config;
pub mod credentials;
pub mod diag;
pub mod dns;
pub mod doctor;
pub mod edit;
pub mod endpoint;
pub mod engine;
pub mod env;
pub mod error;
pub mod fsutil;
pub mod helper;
pub mod inspect;
pub mod launch;
pub mod logging;
pub mod mfa;
pub mod named;
pub mod protocol;
pub mod provider;
pub mod settings;
pub mod setup;
pub mod shell;
pub mod sync;
pub mod sys;
pub mod token;
pub mod when;
