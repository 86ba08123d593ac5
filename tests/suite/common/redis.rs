//! A private Redis server that checks IAM tokens the way ElastiCache and MemoryDB do: Debian's
//! redis-server on 127.0.0.1 and a free port, with its own directory, no persistence and ACL
//! users (`default` disabled), behind a TLS front (tests/support/resp_front.py) with a test CA.
//! The front checks each AUTH or HELLO token for one of three caches (a replication group, a
//! serverless cache and a MemoryDB cluster), logs its verdict, and hands a client it lets in to
//! the server as the same user.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::pg::{self, SESSION_AKID, SESSION_SECRET, make_certs_for, session_token};
use super::*;

pub const REGION: &str = "eu-west-1";
/// The caches the front accepts tokens for, by name (a token is signed for the name, not for an
/// endpoint): an ElastiCache replication group, an ElastiCache serverless cache (its tokens
/// carry `ResourceType=ServerlessCache`) and a MemoryDB cluster (service `memorydb`).
pub const REPLICATION_GROUP: &str = "iamdb-test-rg";
pub const SERVERLESS_CACHE: &str = "iamdb-test-sl";
pub const MEMORYDB_CLUSTER: &str = "iamdb-test-mdb";
/// Endpoints of those caches, in the server certificate (the client dials 127.0.0.1 and checks
/// the certificate against one of these).
pub const NODE_ENDPOINT: &str = "master.iamdb-test-rg.abc123.euw1.cache.amazonaws.com";
pub const SERVERLESS_ENDPOINT: &str = "iamdb-test-sl-a1b2c3.serverless.euw1.cache.amazonaws.com";
pub const MEMORYDB_ENDPOINT: &str =
    "clustercfg.iamdb-test-mdb.abc123.memorydb.eu-west-1.amazonaws.com";
/// The password of every user of the server itself (`admin`, `app`, `other`): the front logs a
/// client in with it once the token checks out.
pub const BACKEND_PASSWORD: &str = "iamdb-test-backend-password";

/// Is everything the server needs installed? Under CI, a missing piece fails the test.
pub fn available() -> bool {
    present(
        "redis",
        "redis-server (Debian's redis-server)",
        on_path("redis-server"),
    ) && present(
        "redis",
        "redis-cli (Debian's redis-tools)",
        on_path("redis-cli"),
    ) && require("openssl")
        && require("python3")
}

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub struct Redis {
    /// The TLS front, where clients log in with tokens.
    pub port: u16,
    /// The server itself, plain TCP with passwords (see [`Redis::backend_cli`]).
    pub backend: u16,
    pub ca: PathBuf,
    /// The front's verdicts, one JSON object a line (see [`Redis::verdicts`]).
    pub log: PathBuf,
    pub dir: PathBuf,
}

impl Redis {
    /// One server and front per test process.
    pub fn shared() -> &'static Redis {
        static REDIS: OnceLock<Redis> = OnceLock::new();
        REDIS.get_or_init(Redis::start)
    }

    fn start() -> Redis {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "iamdb-redis-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // The server and the front are stopped when the test binary exits (spawn_helper), then
        // their files go.
        at_exit(Cleanup::Remove(dir.clone()));
        let ca = make_certs_for(
            &dir,
            &[
                "localhost",
                NODE_ENDPOINT,
                SERVERLESS_ENDPOINT,
                MEMORYDB_ENDPOINT,
                "127.0.0.1",
            ],
        );
        let log = dir.join("verdicts.log");
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
        let keys = dir.join("keys.json");
        let doc = serde_json::json!({
            AKID: {"secret": SECRET, "session": null},
            SESSION_AKID: {"secret": SESSION_SECRET, "session": session_token()},
        });
        std::fs::write(&keys, doc.to_string()).unwrap();
        let acl = dir.join("users.acl");
        std::fs::write(
            &acl,
            format!(
                "user default off nopass resetchannels -@all\n\
                 user admin on >{BACKEND_PASSWORD} ~* &* +@all\n\
                 user app on >{BACKEND_PASSWORD} ~* &* +@all\n\
                 user other on >{BACKEND_PASSWORD} ~* &* +@all\n"
            ),
        )
        .unwrap();

        let backend = free_port();
        let mut server = Command::new("redis-server");
        server
            .args(["--bind", "127.0.0.1", "--port", &backend.to_string()])
            .args(["--protected-mode", "no", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--aclfile")
            .arg(&acl)
            .arg("--logfile")
            .arg(dir.join("server.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        spawn_helper(server, false);
        let redis = Redis {
            port: 0,
            backend,
            ca,
            log,
            dir,
        };
        let start = Instant::now();
        while !redis.backend_ping() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "redis-server did not start: {}",
                std::fs::read_to_string(redis.dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }

        let caches = format!(
            "elasticache:{REPLICATION_GROUP}:0,elasticache:{SERVERLESS_CACHE}:1,memorydb:{MEMORYDB_CLUSTER}:0"
        );
        let mut front = Command::new("python3");
        front
            .arg(support("resp_front.py"))
            .arg(redis.dir.join("server.crt"))
            .arg(redis.dir.join("server.key"))
            .arg(backend.to_string())
            .arg(BACKEND_PASSWORD)
            .arg(&keys)
            .arg(caches)
            .arg(REGION)
            .arg(&redis.log)
            .stderr(Stdio::inherit());
        let port = spawn_helper(front, true).unwrap();
        Redis { port, ..redis }
    }

    fn backend_command(&self) -> Command {
        let mut c = Command::new("redis-cli");
        c.args(["-h", "127.0.0.1", "-p", &self.backend.to_string()])
            .args(["--user", "admin"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("REDISCLI_AUTH", BACKEND_PASSWORD)
            .stdin(Stdio::null());
        c
    }

    fn backend_ping(&self) -> bool {
        self.backend_command()
            .arg("PING")
            .output()
            .map(|o| o.status.success() && o.stdout == b"PONG\n")
            .unwrap_or(false)
    }

    /// Runs a command as `admin` on the server itself (plain TCP, password, no front) and
    /// returns what redis-cli printed.
    pub fn backend_cli(&self, args: &[&str]) -> String {
        let out = self.backend_command().args(args).output().unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "redis-cli {args:?} on the backend failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// redis-cli to the front as clients reach a cache: 127.0.0.1, TLS with `sni` as the name
    /// asked for, the certificate checked against the test CA; not logged in. Add `--user` and
    /// the token (in `REDISCLI_AUTH`, never on a command line), or commands on stdin.
    pub fn cli(&self, sni: &str) -> Command {
        let mut c = Command::new("redis-cli");
        c.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--tls"])
            .arg("--cacert")
            .arg(&self.ca)
            .args(["--sni", sni])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null());
        c
    }

    /// [`Redis::cli`] logging in as `user` with `token` (AUTH user token).
    pub fn cli_as(&self, sni: &str, user: &str, token: &str) -> Command {
        let mut c = self.cli(sni);
        c.args(["--user", user]).env("REDISCLI_AUTH", token);
        c
    }

    /// The front's verdicts so far, one JSON object each: `user`, `ok`, `why` (`ok`, or why
    /// the token or the server refused), `command` (`AUTH` or `HELLO`) and `sni`.
    pub fn verdicts(&self) -> Vec<serde_json::Value> {
        pg::verdicts(&self.log)
    }
}

/// What botocore signs a reference token for (tests/support/elasticache_token.py).
pub struct TokenCase<'a> {
    /// `elasticache` or `memorydb`.
    pub service: &'a str,
    /// The cache's name (the token's host).
    pub name: &'a str,
    pub user: &'a str,
    pub serverless: bool,
    pub region: &'a str,
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
}

impl<'a> TokenCase<'a> {
    /// `user` on the cache `name` of `service`, not serverless, in [`REGION`], signed with the
    /// long-term test key ([`AKID`]).
    pub fn new(service: &'a str, name: &'a str, user: &'a str) -> TokenCase<'a> {
        TokenCase {
            service,
            name,
            user,
            serverless: false,
            region: REGION,
            access_key: AKID,
            secret_key: SECRET,
            session_token: None,
        }
    }

    /// botocore's token, signed now.
    pub fn sign(&self) -> String {
        self.run(self.command())
    }

    /// botocore's token, signed with the wall clock at `instant` (libfaketime's format).
    pub fn sign_at(&self, instant: &str) -> String {
        let mut c = self.command();
        fake_time(&mut c, instant);
        self.run(c)
    }

    fn command(&self) -> Command {
        let mut c = Command::new("python3");
        c.arg(support("elasticache_token.py"))
            .args([self.service, self.name, self.user])
            .arg(if self.serverless { "1" } else { "0" })
            .arg(self.region)
            // No AWS files of the user running the tests: only these keys and this region.
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", self.secret_key)
            .env_remove("AWS_SESSION_TOKEN");
        if let Some(token) = self.session_token {
            c.env("AWS_SESSION_TOKEN", token);
        }
        c
    }

    fn run(&self, mut c: Command) -> String {
        super::stdout_of(&mut c).trim_end().to_string()
    }
}
