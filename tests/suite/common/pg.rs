//! A private PostgreSQL server that checks IAM tokens the way RDS does: its own data directory,
//! 127.0.0.1, a free port, TLS with a test CA, and IAM users (members of `rds_iam`) logging in
//! through a PAM service that hands the token to tests/support/verify_token.py.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::*;

/// Endpoints the server's verifier accepts tokens for: `localhost:<port>` and this RDS-like
/// name (reached through `connect_host`, as through a tunnel).
pub const RDS_NAME: &str = "pg1.c9akciq32.eu-west-1.rds.amazonaws.com";
/// The Aurora DSQL endpoint the same server stands in for (its verifier checks DSQL tokens
/// for this name, without a port, as DSQL does).
pub const DSQL_NAME: &str = "iamdbtestcluster0000000001.dsql.eu-west-1.on.aws";
/// A long-term key the verifiers know that was granted no DSQL role.
pub const UNGRANTED_AKID: &str = "AKIAUNGRANTEDKEY0001";
pub const UNGRANTED_SECRET: &str = "ungrantedSecretKey/EXAMPLE+0123456789ab";
pub const REGION: &str = "eu-west-1";
/// A session key the verifier knows, for long (session-credential) tokens.
pub const SESSION_AKID: &str = "ASIASESSIONEXAMPLE01";
pub const SESSION_SECRET: &str = "sessionSecretKey/EXAMPLE+abcdefghijklmnop";

pub fn session_token() -> String {
    // Real session tokens are 700-2000 base64 characters.
    format!(
        "IQoJb3JpZ2luX2Vj{}",
        "QWxwaGFCcmF2b0NoYXJsaWVEZWx0YUVjaG8+Rm94dHJvdC9Hb2xm".repeat(30)
    )
}

pub struct Pg {
    pub dir: PathBuf,
    pub port: u16,
    pub ca: PathBuf,
    pub log: PathBuf,
    pub pam_service: String,
}

fn bin(name: &str) -> String {
    format!("/usr/lib/postgresql/15/bin/{name}")
}

#[track_caller]
pub(crate) fn run(cmd: &mut Command) {
    super::stdout_of(cmd);
}

/// Is everything the server needs installed? Under CI, a missing piece fails the test.
pub fn available() -> bool {
    present(
        "postgres",
        "the PostgreSQL 15 server",
        Path::new(&bin("postgres")).exists(),
    ) && require("psql")
        && present(
            "postgres",
            "libpam0g-dev (PAM headers)",
            Path::new("/usr/include/security/pam_modules.h").exists(),
        )
        && require("cc")
        && require("openssl")
        && present(
            "postgres",
            "the system python3",
            Path::new("/usr/bin/python3").exists(),
        )
}

/// A CA and a server certificate for localhost, 127.0.0.1 and the RDS-like and DSQL-like names.
pub fn make_certs(dir: &Path) -> PathBuf {
    make_certs_for(dir, &["localhost", RDS_NAME, DSQL_NAME, "127.0.0.1"])
}

/// A CA (`ca.pem`, returned) and a server certificate (`server.crt`, `server.key`) in `dir`,
/// the server's valid for `names` in that order: host names, and IP addresses as such.
pub fn make_certs_for(dir: &Path, names: &[&str]) -> PathBuf {
    let ca = dir.join("ca.pem");
    let san = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(_) => format!("IP:{n}"),
            Err(_) => format!("DNS:{n}"),
        })
        .collect::<Vec<_>>()
        .join(",");
    let sh = format!(
        "set -e; cd '{d}'
         openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=iamdb test CA' 2>/dev/null
         openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost' 2>/dev/null
         printf 'subjectAltName={san}\\n' > san.ext
         openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext 2>/dev/null",
        d = dir.display()
    );
    run(Command::new("sh").args(["-c", &sh]));
    ca
}

/// The PAM service that checks tokens for `endpoints` (comma-separated host:port).
fn pam_service(dir: &Path, name: &str, endpoints: &str, log: &Path) -> String {
    let so = dir.join("pam_iamdb_verify.so");
    run(Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(support("pam_iamdb_verify.c"))
        .arg("-lpam"));
    let keys = dir.join("keys.json");
    let doc = serde_json::json!({
        AKID: {"secret": SECRET, "session": null, "dsql_roles": ["dsql_app"]},
        SESSION_AKID: {"secret": SESSION_SECRET, "session": session_token(), "dsql_roles": ["dsql_app"]},
        UNGRANTED_AKID: {"secret": UNGRANTED_SECRET, "session": null, "dsql_roles": []},
    });
    std::fs::write(&keys, doc.to_string()).unwrap();
    let verifier = dir.join("verify_token.py");
    std::fs::copy(support("verify_token.py"), &verifier).unwrap();
    at_exit(Cleanup::Remove(PathBuf::from(format!("/etc/pam.d/{name}"))));
    std::fs::write(
        format!("/etc/pam.d/{name}"),
        format!(
            "auth required {} /usr/bin/python3 {} {} {endpoints} {REGION} {}\naccount required pam_permit.so\n",
            so.display(),
            verifier.display(),
            keys.display(),
            log.display()
        ),
    )
    .unwrap();
    name.to_string()
}

/// The verdicts a server's verifier logged, one JSON object each.
pub(crate) fn verdicts(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// What both test servers start from: a directory the server's user can read, a free port,
/// the TLS files, and the PAM service with its verifier's log.
pub(crate) struct Base {
    pub dir: PathBuf,
    pub port: u16,
    pub ca: PathBuf,
    pub log: PathBuf,
    pub pam_service: String,
}

impl Base {
    /// `endpoints` gives, for the port, the host:port list the verifier accepts tokens for.
    pub(crate) fn prepare(kind: &str, endpoints: impl Fn(u16) -> String) -> Base {
        use std::os::unix::fs::PermissionsExt;
        remove_stale_pam_services();
        let id = format!("{}-{}", std::process::id(), free_port());
        let dir = std::env::temp_dir().join(format!("iamdb-{kind}-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        // The server is stopped when the test binary exits (spawn_helper), then its data goes.
        at_exit(Cleanup::Remove(dir.clone()));
        let port = free_port();
        let ca = make_certs(&dir);
        let log = dir.join("verifier.log");
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
        let pam_service = pam_service(
            &dir,
            &format!("iamdb-test-{kind}-{id}"),
            &endpoints(port),
            &log,
        );
        Base {
            dir,
            port,
            ca,
            log,
            pam_service,
        }
    }
}

impl Pg {
    /// One server per test process.
    pub fn shared() -> &'static Pg {
        static PG: OnceLock<Pg> = OnceLock::new();
        PG.get_or_init(Pg::start)
    }

    fn start() -> Pg {
        use std::os::unix::fs::PermissionsExt;
        let Base {
            dir,
            port,
            ca,
            log,
            pam_service,
        } = Base::prepare("pg", |port| {
            format!("localhost:{port},{RDS_NAME}:{port},{DSQL_NAME}")
        });
        let data = dir.join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        let sock = dir.join("sock");
        std::fs::create_dir(&sock).unwrap();
        run(Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&data)
            .arg(&sock)
            .arg(dir.join("server.key"))
            .arg(dir.join("server.crt")));
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        run(Command::new("runuser")
            .args(["-u", "postgres", "--", &bin("initdb"), "-D"])
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]));
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{d}/sock'\nssl = on\n\
             ssl_cert_file = '{d}/server.crt'\nssl_key_file = '{d}/server.key'\nfsync = off\nlog_connections = on\n",
            d = dir.display()
        );
        let mut pg_conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        pg_conf.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), pg_conf).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            format!("local all postgres trust\nhostssl all +rds_iam 127.0.0.1/32 pam pamservice={pam_service}\nhost all all 0.0.0.0/0 reject\n"),
        )
        .unwrap();

        let mut server = Command::new("setpriv");
        server
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--pdeathsig",
                "KILL",
                "--",
            ])
            .arg(bin("postgres"))
            .arg("-D")
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log")).unwrap());
        spawn_helper(server, false);
        let start = Instant::now();
        loop {
            let ready = Command::new(bin("pg_isready"))
                .arg("-h")
                .arg(dir.join("sock"))
                .arg("-p")
                .arg(port.to_string())
                .output()
                .unwrap();
            if ready.status.success() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let pg = Pg {
            dir,
            port,
            ca,
            log,
            pam_service,
        };
        pg.sql("CREATE DATABASE shop");
        pg.sql("CREATE ROLE rds_iam; \
                CREATE USER app; GRANT rds_iam TO app; CREATE USER \"a+b c\"; GRANT rds_iam TO \"a+b c\"; \
                CREATE USER other; GRANT rds_iam TO other; \
                CREATE USER admin; GRANT rds_iam TO admin; \
                CREATE USER dsql_app; GRANT rds_iam TO dsql_app;");
        pg
    }

    /// Runs SQL as the superuser over the server's Unix socket.
    pub fn sql(&self, sql: &str) -> String {
        self.sql_in("postgres", sql)
    }

    /// Runs SQL as the superuser in database `db`.
    pub fn sql_in(&self, db: &str, sql: &str) -> String {
        let mut cmd = Command::new("psql");
        cmd.arg("-h")
            .arg(self.dir.join("sock"))
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-tA",
                "-c",
                sql,
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        super::stdout_of(&mut cmd)
    }

    /// The verifier's verdicts so far, one JSON object each.
    pub fn verdicts(&self) -> Vec<serde_json::Value> {
        verdicts(&self.log)
    }

    /// A DSQL profile for this server: tokens signed for [`DSQL_NAME`] (no port), the client
    /// dialling 127.0.0.1 and checking the certificate against the DSQL name; no `database`,
    /// so DSQL's `postgres` is used.
    pub fn dsql_profile(&self, name: &str, role: &str) -> String {
        format!(
            "[profiles.{name}]\nengine = \"dsql\"\nhost = \"{DSQL_NAME}\"\nport = {port}\nuser = \"{role}\"\n\
             ssl_ca = \"{ca}\"\nconnect_host = \"127.0.0.1\"\n",
            port = self.port,
            ca = self.ca.display()
        )
    }

    /// A config profile for this server: the token is signed for `host:<port>`, the client
    /// dials 127.0.0.1 and checks the certificate against `host`.
    pub fn profile(&self, name: &str, host: &str, user: &str) -> String {
        format!(
            "[profiles.{name}]\nengine = \"postgres\"\nhost = \"{host}\"\nport = {port}\nuser = \"{user}\"\ndatabase = \"shop\"\n\
             region = \"{REGION}\"\nssl_ca = \"{ca}\"\nconnect_host = \"127.0.0.1\"\n",
            port = self.port,
            ca = self.ca.display()
        )
    }
}

/// PAM services left by test processes that are gone (a shared server is never dropped).
fn remove_stale_pam_services() {
    let Ok(entries) = std::fs::read_dir("/etc/pam.d") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("iamdb-test-") else {
            continue;
        };
        let pid = rest.split('-').find_map(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

// What the PostgreSQL tests share.

pub fn sandbox(name: &str, pg: &Pg, profiles: &[(&str, &str, &str, bool)]) -> Sandbox {
    let sb = Sandbox::new(name).with_env_keys();
    let mut text = String::new();
    for (profile, host, user, tunnel) in profiles {
        let mut p = pg.profile(profile, host, user);
        if !tunnel {
            p = p.replace("connect_host = \"127.0.0.1\"\n", "");
        }
        text.push_str(&p);
    }
    sb.write_config(&text);
    sb
}

pub fn refused(run: &Run) {
    assert_ne!(run.code, 0, "logged in with a wrong token: {}", run.stdout);
    assert!(
        run.stderr.contains("PAM authentication failed"),
        "{}",
        run.stderr
    );
}

pub const WHO: &[&str] = &["-X", "-tA", "-c", "SELECT current_user"];

pub fn psql_args<'a>(profile: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["psql", profile, "--"];
    args.extend_from_slice(extra);
    args
}
