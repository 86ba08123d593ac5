//! `iamdb doctor`: every step between the user and an IAM login, checked in the order a login
//! takes them, each with a pass/fail mark and, on failure, the fix. A step that needs one that
//! failed is skipped, so the first failure is the one to fix. Network steps go through the
//! helper (STS, TLS) or std with a timeout (DNS, TCP); none waits more than a few seconds.
//! The checks are data: the command line prints them as they complete, or as JSON.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::cache;
use crate::clients::{mysql as myclient, postgres};
use crate::config::{Config, Profile, Settings};
use crate::credentials::{self, Resolved};
use crate::endpoint;
use crate::engine::Family;
use crate::error::{Error, Result};
use crate::helper;
use crate::inspect;
use crate::protocol::Wire;
use crate::sync;

const DNS_TIMEOUT: Duration = Duration::from_secs(3);
const TCP_TIMEOUT: Duration = Duration::from_secs(3);
/// Further off than this and tokens are refused or expire early.
const MAX_SKEW: i64 = 60;

/// Every check, in the order they run.
const CHECKS: [&str; 11] = [
    "config",
    "region",
    "credentials",
    "identity",
    "clock",
    "dns",
    "tcp",
    "tls",
    "cache",
    "client",
    "files",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// One step's result: its name, how it went, what was seen, and on failure the fix.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// What `doctor` reports as it goes: a profile's checks begin, one check completed.
pub enum Event<'a> {
    Profile(Option<&'a str>),
    Check(&'a Check),
}

/// The checks of one profile (or of the AWS side alone), handed to the observer as they
/// complete.
struct Report<'o> {
    observe: &'o mut dyn FnMut(Event<'_>),
    checks: Vec<Check>,
}

impl Report<'_> {
    fn add(&mut self, name: &'static str, status: Status, detail: String, fix: Option<String>) {
        let check = Check {
            name,
            status,
            detail,
            fix,
        };
        (self.observe)(Event::Check(&check));
        self.checks.push(check);
    }

    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.add(name, Status::Pass, detail.into(), None);
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.add(name, Status::Fail, detail.into(), Some(fix.into()));
    }

    fn error(&mut self, name: &'static str, e: &Error) {
        let fix = e
            .hint_text()
            .unwrap_or("see the message; run with -v for more");
        self.fail(name, e.message(), fix);
    }

    fn skip(&mut self, name: &'static str, why: &str) {
        self.add(name, Status::Skip, why.to_string(), None);
    }

    fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count()
    }
}

/// The checks of one profile, or of the AWS side alone.
#[derive(Debug, Serialize)]
pub struct ProfileReport {
    pub profile: Option<String>,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// Checks `profile`, or every profile of the config file, or (with none) the AWS side alone,
/// telling `observe` as each check completes.
pub fn run(
    config: &Result<Config>,
    profile: Option<&str>,
    observe: &mut dyn FnMut(Event<'_>),
) -> Vec<ProfileReport> {
    let names: Vec<Option<String>> = match (profile, config) {
        (Some(p), _) => vec![Some(p.to_string())],
        (None, Ok(c)) if !c.profiles.is_empty() => c.profiles.keys().cloned().map(Some).collect(),
        _ => vec![None],
    };
    let mut reports = Vec::new();
    for name in names {
        observe(Event::Profile(name.as_deref()));
        let mut report = Report {
            observe: &mut *observe,
            checks: Vec::new(),
        };
        diagnose(&mut report, config, name.as_deref());
        let ok = report.failed() == 0;
        reports.push(ProfileReport {
            profile: name,
            ok,
            checks: report.checks,
        });
    }
    reports
}

fn diagnose(r: &mut Report, config: &Result<Config>, name: Option<&str>) {
    // 1. The config file and the profile.
    let profile = match config {
        Err(e) => {
            r.error("config", e);
            return skip_rest(r, "needs a valid config file");
        }
        Ok(c) => match name {
            None => {
                let state = if c.exists {
                    "has no profiles"
                } else {
                    "does not exist"
                };
                r.pass("config", format!("{} {state}", c.path.display()));
                None
            }
            Some(n) => match c.resolve(Some(n), Settings::default()) {
                Ok(p) => {
                    r.pass(
                        "config",
                        format!(
                            "{}: {} {}@{}:{}",
                            c.path.display(),
                            p.engine.map_or("(engine not set)", |e| e.as_str()),
                            p.user,
                            p.host,
                            p.port
                        ),
                    );
                    let Some(p) = dns_check(r, &p) else {
                        return skip_rest(r, "needs the AWS endpoint name");
                    };
                    Some(p)
                }
                Err(e) => {
                    r.error("config", &e);
                    return skip_rest(r, "needs a valid profile");
                }
            },
        },
    };
    let source = match &profile {
        Some(p) => {
            let choice = crate::provider::cache_choice(p, crate::provider::CacheMode::Use)
                .unwrap_or_default();
            crate::helper::AwsSource {
                interactive: false,
                ..crate::provider::aws_source(p, choice)
            }
        }
        None => crate::helper::AwsSource::default(),
    };

    // 2. The region, and 3. the credentials (resolved together when the region needs AWS config).
    let static_region = profile
        .as_ref()
        .and_then(crate::provider::static_region_quiet);
    let need_region = static_region.is_none();
    let resolved = crate::provider::resolve_or_challenge(
        &source,
        need_region,
        static_region.as_ref().map(|r| r.name.as_str()),
    );
    // A role session that needs a code: doctor never asks, it says what to run.
    let (resolved, challenge) = match resolved {
        Ok(Ok(r)) => (Ok(r), None),
        Ok(Err(c)) => (Err(Error::credentials("needs an MFA code")), Some(c)),
        Err(e) => (Err(e), None),
    };
    let region = match (&static_region, &resolved) {
        (Some(r), _) => Some(r.clone()),
        (None, Ok((_, r))) => r.clone(),
        (None, Err(_)) => None,
    };
    match (&region, &profile) {
        (Some(reg), Some(p)) => match endpoint::region_from_host(&p.host) {
            Some(h) if h != reg.name => r.fail(
                "region",
                format!("signing for {} (from {}), but {} is in {h}", reg.name, reg.source, p.host),
                format!("remove region from the profile, or set it to {h}"),
            ),
            _ => r.pass("region", format!("{} (from {})", reg.name, reg.source)),
        },
        (Some(reg), None) => r.pass("region", format!("{} (from {})", reg.name, reg.source)),
        (None, _) if resolved.is_err() => r.skip("region", "needs AWS config, read with the credentials"),
        (None, None) => r.skip("region", "no profile, and no region in AWS_REGION or AWS config (STS is asked in us-east-1)"),
        (None, _) => r.fail(
            "region",
            "no region: the host is not an RDS endpoint name, and neither the profile, AWS_REGION nor AWS config name one",
            "set region in the profile (or AWS_REGION)",
        ),
    }
    let creds = match (resolved, challenge) {
        (Ok((c, _)), _) => credentials_check(r, c),
        (Err(_), Some(challenge)) => {
            r.skip(
                "credentials",
                "they come from a role session that needs an MFA code",
            );
            let login = match &source.label {
                Some(p) => format!("iamdb login {p}"),
                None => format!("iamdb login --aws-profile {}", challenge.aws_profile),
            };
            r.fail(
                "mfa session",
                format!(
                    "needs an MFA code: no session for {} (device {}, AWS profile '{}')",
                    challenge.role_arn, challenge.serial, challenge.aws_profile
                ),
                format!("run `{login}` in a terminal (or set mfa_process)"),
            );
            None
        }
        (Err(e), None) => {
            r.error("credentials", &e);
            None
        }
    };

    // 4. Who the credentials are, and 5. the clock, from STS's answer.
    let sts_region = region.as_ref().map_or("us-east-1", |r| r.name.as_str());
    match &creds {
        None => {
            r.skip("identity", "needs working AWS credentials");
            r.skip("clock", "needs STS's answer");
        }
        Some(_) => match helper::identity(&source, sts_region) {
            Ok(id) => {
                r.pass("identity", format!("{} (account {})", id.arn, id.account));
                clock_check(r, id.server_time);
            }
            Err(e) => {
                r.error("identity", &e);
                r.skip("clock", "needs STS's answer");
            }
        },
    }

    // 6-8. DNS, TCP and TLS to the endpoint (or the tunnel's end).
    match &profile {
        Some(p) => network_checks(r, p),
        None => {
            for name in ["dns", "tcp", "tls"] {
                r.skip(name, "no profile, so no endpoint");
            }
        }
    }

    // 9. The cache.
    let choice = profile
        .as_ref()
        .map(|p| crate::provider::cache_choice(p, crate::provider::CacheMode::Use));
    match choice.unwrap_or_else(|| crate::env::load().map(|e| e.cache.unwrap_or(cache::Choice::Auto))) {
        Err(e) => r.error("cache", &e),
        Ok(choice) => match cache::probe(choice, crate::env::get().keyring_timeout) {
            (Ok(backend), skipped) if skipped.is_empty() => r.pass(
                "cache",
                format!("{}: a probe entry was written, read back and deleted", backend.describe()),
            ),
            (Ok(backend), skipped) => r.pass(
                "cache",
                format!("{} works ({} passed over: {})", backend.describe(), skipped.len(), skipped.join("; ")),
            ),
            (Err(why), skipped) => r.fail(
                "cache",
                format!("{why} ({})", skipped.join("; ")),
                "set cache = \"file\" in the profile (or IAMDB_CACHE=file), or start a Secret Service",
            ),
        },
    }

    // 10. The client program, and 11. the files iamdb keeps for it.
    match &profile {
        Some(p) => {
            client_check(r, p);
            files_check(r, p);
        }
        None => {
            r.skip("client", "no profile, so no engine");
            r.skip("files", "no profile");
        }
    }
}

/// The `dns` check: what a DNS alias stands for (or that `sign_host` pins it), and the
/// profile with its AWS name; None when DNS could not be asked.
fn dns_check(r: &mut Report, p: &Profile) -> Option<Profile> {
    use crate::alias::Resolution;
    let (resolved, how) = match crate::alias::resolve_explained(p) {
        Ok(answer) => answer,
        Err(e) => {
            r.error("dns", &e);
            return None;
        }
    };
    let detail = match (&how, &resolved.given_host) {
        (Resolution::NotNeeded, None) => None,
        (Resolution::NotNeeded, Some(given)) => Some(format!(
            "{given}: sign_host names {}; DNS not asked",
            resolved.host
        )),
        (Resolution::Alias { .. }, _) => Some(how.describe()),
        (Resolution::NoAwsName { .. }, _) => Some(format!(
            "{}; tokens are signed for {} itself (set sign_host if it stands for an AWS endpoint DNS does not show)",
            how.describe(),
            resolved.host
        )),
    };
    if let Some(detail) = detail {
        r.pass("dns", detail);
    }
    Some(resolved)
}

fn skip_rest(r: &mut Report, why: &str) {
    for name in &CHECKS[1..] {
        r.skip(name, why);
    }
}

fn credentials_check(r: &mut Report, c: Resolved) -> Option<Resolved> {
    let now = SystemTime::now();
    if let Err(e) = credentials::check_not_expired(&c, now) {
        r.error("credentials", &e);
        return None;
    }
    let kind = if c.credentials.session_token().is_some() {
        "temporary"
    } else {
        "long-term"
    };
    let expiry = match c.credentials.expiry() {
        Some(t) => {
            let left = t.duration_since(now).unwrap_or_default().as_secs();
            format!(
                ", expire {} (in {})",
                crate::when::rfc3339(crate::when::unix(t)),
                crate::when::duration(i64::try_from(left).unwrap_or(i64::MAX))
            )
        }
        None => String::new(),
    };
    r.pass(
        "credentials",
        format!("{kind} keys from {}{expiry}", c.source),
    );
    if let Some(s) = &c.session {
        let left = crate::when::parse_rfc3339(&s.expiration)
            .and_then(|t| t.duration_since(now).ok())
            .map_or(0, |d| d.as_secs());
        r.pass(
            "mfa session",
            format!(
                "valid for {} ({}, device {})",
                crate::when::duration(i64::try_from(left).unwrap_or(i64::MAX)),
                s.role_arn,
                s.serial
            ),
        );
    }
    Some(c)
}

fn clock_check(r: &mut Report, server_time: Option<i64>) {
    let Some(server) = server_time else {
        return r.skip("clock", "STS sent no Date header");
    };
    let local = time::OffsetDateTime::now_utc().unix_timestamp();
    let skew = local - server;
    let way = if skew > 0 { "ahead of" } else { "behind" };
    if skew.abs() <= MAX_SKEW {
        r.pass(
            "clock",
            format!("{} s {way} the time STS reports", skew.abs()),
        );
    } else {
        r.fail(
            "clock",
            format!(
                "this machine's clock is {} {way} the time STS reports: tokens signed now are refused or expire early",
                crate::when::duration(skew.abs())
            ),
            "synchronise the clock (`timedatectl set-ntp true`, or `chronyc makestep`)",
        );
    }
}

/// Resolves `host` on a thread, giving up after `DNS_TIMEOUT` (getaddrinfo has no timeout).
fn resolve(host: &str, port: u16) -> std::result::Result<Vec<SocketAddr>, String> {
    let (tx, rx) = mpsc::channel();
    let target = (host.to_string(), port);
    std::thread::spawn(move || {
        let _ = tx.send(
            target
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>)
                .map_err(|e| e.to_string()),
        );
    });
    rx.recv_timeout(DNS_TIMEOUT)
        .unwrap_or_else(|_| Err(format!("no answer within {} s", DNS_TIMEOUT.as_secs())))
}

fn network_checks(r: &mut Report, p: &Profile) {
    let dial = p.dial_host();
    let port = p.dial_port();
    let via = if p.set.connect_host.is_some() {
        format!(" (connect_host, the tunnel to {})", p.host)
    } else {
        String::new()
    };
    let addrs = match resolve(dial, port) {
        Ok(a) if !a.is_empty() => {
            let list: Vec<String> = a.iter().map(|s| s.ip().to_string()).collect();
            r.pass(
                "dns",
                format!("{dial}{via} resolves to {}", list.join(", ")),
            );
            a
        }
        other => {
            let why = other.err().unwrap_or_else(|| "no address".into());
            r.fail(
                "dns",
                format!("cannot resolve {dial}{via}: {why}"),
                if p.set.connect_host.is_some() {
                    "fix connect_host in the profile".to_string()
                } else {
                    "check the host name; an RDS endpoint without public access resolves only inside its VPC (connect through the VPN, or set connect_host to an SSH tunnel)".to_string()
                },
            );
            r.skip("tcp", "needs an address");
            r.skip("tls", "needs a connection");
            return;
        }
    };
    let mut last = String::new();
    let mut connected = None;
    for addr in addrs.iter().take(3) {
        let start = Instant::now();
        match TcpStream::connect_timeout(addr, TCP_TIMEOUT) {
            Ok(_) => {
                connected = Some((addr, start.elapsed()));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("no answer from {addr} within {} s", TCP_TIMEOUT.as_secs());
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("nothing is listening at {addr} (connection refused)");
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    match connected {
        Some((addr, took)) => r.pass(
            "tcp",
            format!("connected to {addr} in {} ms", took.as_millis()),
        ),
        None => {
            let fix = if last.contains("refused") {
                "check the port in the profile, that the instance is available, and that the tunnel is up"
            } else {
                "allow inbound TCP on the port from this host in the database's security group (and network ACLs)"
            };
            r.fail("tcp", last, fix);
            r.skip("tls", "needs a connection");
            return;
        }
    }
    let ca = match crate::ca::for_profile(p.set.ssl_ca.as_deref()) {
        Ok(ca) => ca,
        Err(e) => return r.error("tls", &e),
    };
    let wire = match p.family() {
        Some(Family::Postgres) => Wire::Postgres,
        Some(Family::Mysql) => Wire::Mysql,
        Some(Family::Redis) => Wire::Tls,
        None => {
            return r.skip(
                "tls",
                "the profile sets no engine (and its port does not say one), so the TLS start-up is unknown",
            );
        }
    };
    match helper::handshake(&p.host, dial, port, wire, &ca) {
        Ok(h) => r.pass(
            "tls",
            format!(
                "{} {}: certificate valid for {}, issued under {}",
                h.version,
                h.cipher,
                p.host,
                ca.display()
            ),
        ),
        Err(e) => {
            let fix = if p.set.ssl_ca.is_some() {
                "point ssl_ca at the CA that signed the server's certificate, or remove it to use the Amazon RDS bundle"
            } else {
                "run `iamdb ca update` for the current Amazon RDS bundle, or set ssl_ca to your server's CA"
            };
            r.fail("tls", e.message().to_string(), fix);
        }
    }
}

/// The first line `program --version` prints, if the program runs.
fn version_of(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    })
}

/// The libpq that `psql` loads, as `ldd` names it (libpq.so.5.15 is libpq 15).
fn libpq_version() -> Option<String> {
    let psql = std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("psql"))
        .find(|p| p.is_file())?;
    let psql = std::fs::canonicalize(psql).ok()?;
    let out = Command::new("ldd").arg(&psql).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let path = text
        .lines()
        .find(|l| l.contains("libpq.so"))?
        .split("=>")
        .nth(1)?
        .split_whitespace()
        .next()?
        .to_string();
    let real = std::fs::canonicalize(path).ok()?;
    let name = real.file_name()?.to_string_lossy().into_owned();
    let minor = name.strip_prefix("libpq.so.5.")?;
    Some(format!("libpq {}", minor.split('.').next()?))
}

fn client_check(r: &mut Report, p: &Profile) {
    match p.family() {
        Some(Family::Postgres) => match version_of("psql") {
            Some(v) => {
                let lib = libpq_version();
                let text = format!(
                    "{v}{}",
                    lib.as_deref().map(|l| format!(", {l}")).unwrap_or_default()
                );
                // DSQL needs TLS with SNI, which libpq sends from version 14 on.
                let major = lib
                    .as_deref()
                    .and_then(|l| l.strip_prefix("libpq "))
                    .or_else(|| v.split_whitespace().last())
                    .and_then(|n| n.split('.').next()?.parse::<u32>().ok());
                match (p.engine, major) {
                    (Some(crate::engine::Engine::Dsql), Some(m)) if m < 14 => r.fail(
                        "client",
                        format!("{text}: Aurora DSQL needs psql and libpq 14 or newer (TLS with SNI)"),
                        "install a newer PostgreSQL client (apt-get install postgresql-client, brew install libpq)",
                    ),
                    _ => r.pass("client", text),
                }
            }
            None => r.fail(
                "client",
                "psql is not on PATH",
                "install the PostgreSQL client (apt-get install postgresql-client, brew install libpq)",
            ),
        },
        Some(Family::Mysql) => {
            let found = ["mariadb", "mysql"]
                .into_iter()
                .find_map(|c| version_of(c).map(|v| (c, v)));
            match found {
                Some((c, v)) => {
                    let flavour = match myclient::flavour_from_version(&v) {
                        myclient::Flavour::Mariadb => "MariaDB client: sends the token in clear text over TLS as it is",
                        myclient::Flavour::Mysql => "Oracle MySQL client: iamdb turns on enable-cleartext-plugin",
                    };
                    r.pass("client", format!("{c}: {v} ({flavour})"))
                }
                None => r.fail(
                    "client",
                    "neither mariadb nor mysql is on PATH",
                    "install a client (apt-get install mariadb-client, or mysql-client)",
                ),
            }
        }
        Some(Family::Redis) => {
            let client = crate::clients::valkey::client(p);
            match version_of(client.program()) {
                Some(v) => r.pass(
                    "client",
                    format!(
                        "{}: {v} (ElastiCache and MemoryDB close IAM connections after 12 hours)",
                        client.program()
                    ),
                ),
                None => r.fail(
                    "client",
                    format!("{} is not on PATH", client.program()),
                    "install valkey-cli (valkey-tools) or redis-cli (redis-tools), or set client in the profile",
                ),
            }
        }
        None => r.skip("client", "the profile sets no engine"),
    }
}

fn files_check(r: &mut Report, p: &Profile) {
    let name = p.name.clone().unwrap_or_default();
    let (path, token) = match p.family() {
        Some(Family::Postgres) => {
            let Ok(path) = sync::pgpass_path() else {
                return r.skip("files", "no home directory");
            };
            let text = crate::fsutil::read_text(&path, 16 << 20)
                .ok()
                .flatten()
                .unwrap_or_default();
            (path, postgres::pgpass_token(&text, &name))
        }
        Some(Family::Mysql) => {
            let Ok(path) = sync::mycnf_path() else {
                return r.skip("files", "no home directory");
            };
            let text = crate::fsutil::read_text(&path, 16 << 20)
                .ok()
                .flatten()
                .unwrap_or_default();
            (
                path,
                myclient::group_password(&text, &format!("client_{name}")),
            )
        }
        Some(Family::Redis) => {
            return r.skip(
                "files",
                "nothing to sync: iamdb valkey and iamdb exec need no file",
            );
        }
        None => return r.skip("files", "the profile sets no engine"),
    };
    let Some(token) = token else {
        return r.skip(
            "files",
            &format!(
                "not synced into {} (iamdb psql/mysql/exec need no file)",
                path.display()
            ),
        );
    };
    let mode = std::fs::metadata(&path)
        .map(|m| crate::sys::mode(&m) & 0o777)
        .unwrap_or(0);
    if mode & 0o077 != 0 {
        return r.fail(
            "files",
            format!("{} is mode {mode:04o}: others can read the token (and libpq ignores such a .pgpass)", path.display()),
            format!("chmod 600 {}", path.display()),
        );
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let report = inspect::inspect(&token, now);
    match report.expires_at {
        Some(at) if at > now => r.pass(
            "files",
            format!("{}: 0600, token valid for {}", path.display(), crate::when::duration(at - now)),
        ),
        _ => r.fail(
            "files",
            format!("{}: the token for {name} has expired; clients reading the file will be refused", path.display()),
            "keep it fresh with `iamdb refresh --watch` (or the iamdb-refresh service), or run `iamdb refresh` now",
        ),
    }
}
