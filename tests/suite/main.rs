//! iamdb's integration suite: the real `iamdb` and `iamdb-credentials` binaries in sandboxes of
//! their own, against real clients, servers and keyrings started here (common/). One test
//! binary: the servers (PostgreSQL, MariaDB, Redis, moto) start once per run and are stopped,
//! and their files and PAM services removed, when it ends. Linux only: the suite drives user
//! namespaces, PAM and the kernel keyring.
//!
//! One file per command (named after it), then suites named by concern: conformance
//! (byte-identical tokens), credentials (AWS credential sources), config (the file every
//! command reads), hardening (faults and load), security (other users, untidy setups),
//! protocol (iamdb and its helper), crates (the dependency graph), docs (man pages, help,
//! README), packaging (the .deb, the RPM and the rest), mfa (role sessions with MFA codes); dsql
//! (Aurora DSQL, every bridge); network (failures on the way to AWS, said in one line).
#![cfg(target_os = "linux")]

mod common;

mod alias;
mod ca;
mod cache;
mod completions;
mod config;
mod conformance;
mod crates;
mod credentials;
mod docs;
mod doctor;
mod dsql;
mod exec;
mod hardening;
mod inspect;
mod mfa;
mod mycnf;
mod mysql;
mod network;
mod packaging;
mod pgadmin;
mod pgadmin_harness;
mod pgpass;
mod pgservice;
mod profile;
mod protocol;
mod psql;
mod redis_harness;
mod refresh;
mod security;
mod setup;
mod shell;
mod token;
mod valkey;
