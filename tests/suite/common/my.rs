//! A private MariaDB server that checks IAM tokens the way RDS does: its own data directory,
//! 127.0.0.1, a free port, TLS with a test CA, and users `IDENTIFIED VIA pam` through the same
//! verifier as the PostgreSQL server (tests/common/pg.rs). MariaDB's auth_pam runs PAM in a
//! setuid helper that only works when the server runs as `mysql`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::pg::{Base, RDS_NAME, REGION, run};
use super::*;

pub struct My {
    pub dir: PathBuf,
    pub port: u16,
    pub ca: PathBuf,
    pub log: PathBuf,
    pub pam_service: String,
}

pub fn available() -> bool {
    present(
        "mariadb",
        "the MariaDB server",
        Path::new("/usr/sbin/mariadbd").exists(),
    ) && require("mysql")
        && present(
            "mariadb",
            "MariaDB's auth_pam plugin",
            Path::new("/usr/lib/mysql/plugin/auth_pam.so").exists(),
        )
        && super::pg::available()
}

impl My {
    pub fn shared() -> &'static My {
        static MY: OnceLock<My> = OnceLock::new();
        MY.get_or_init(My::start)
    }

    fn start() -> My {
        use std::os::unix::fs::PermissionsExt;
        let Base {
            dir,
            port,
            ca,
            log,
            pam_service,
        } = Base::prepare("my", |port| {
            format!("localhost:{port},127.0.0.1:{port},{RDS_NAME}:{port}")
        });
        let data = dir.join("data");
        let sock = dir.join("sock");
        for d in [&data, &sock] {
            std::fs::create_dir(d).unwrap();
        }
        run(Command::new("chown")
            .args(["-R", "mysql:mysql"])
            .arg(&data)
            .arg(&sock)
            .arg(dir.join("server.key"))
            .arg(dir.join("server.crt")));
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        run(Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--user=mysql",
                "--skip-test-db",
                "--auth-root-authentication-method=socket",
            ])
            .arg(format!("--datadir={}", data.display())));
        let socket = sock.join("mysqld.sock");
        let mut server = Command::new("setpriv");
        server
            .args([
                "--reuid=mysql",
                "--regid=mysql",
                "--init-groups",
                "--pdeathsig",
                "KILL",
                "--",
                "/usr/sbin/mariadbd",
                "--no-defaults",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", sock.join("mysqld.pid").display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--plugin-load-add=auth_pam.so",
                "--pam-use-cleartext-plugin=ON",
            ])
            .arg(format!("--ssl-ca={}", ca.display()))
            .arg(format!("--ssl-cert={}", dir.join("server.crt").display()))
            .arg(format!("--ssl-key={}", dir.join("server.key").display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log")).unwrap());
        spawn_helper(server, false);
        let my = My {
            dir,
            port,
            ca,
            log,
            pam_service,
        };
        let start = Instant::now();
        while !socket.exists()
            || Command::new("mysql")
                .arg(format!("--socket={}", socket.display()))
                .args(["-uroot", "-e", "SELECT 1"])
                .output()
                .map(|o| !o.status.success())
                .unwrap_or(true)
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "MariaDB did not start: {}",
                std::fs::read_to_string(my.dir.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let svc = &my.pam_service;
        my.sql(&format!(
            "CREATE DATABASE shop; \
             CREATE USER 'app'@'%' IDENTIFIED VIA pam USING '{svc}' REQUIRE SSL; GRANT ALL ON shop.* TO 'app'@'%'; \
             CREATE USER 'a+b c'@'%' IDENTIFIED VIA pam USING '{svc}' REQUIRE SSL; GRANT ALL ON shop.* TO 'a+b c'@'%'; \
             CREATE USER 'other'@'%' IDENTIFIED VIA pam USING '{svc}' REQUIRE SSL;"
        ));
        my
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("sock/mysqld.sock")
    }

    /// Runs SQL as root over the server's Unix socket.
    pub fn sql(&self, sql: &str) -> String {
        super::stdout_of(
            Command::new("mysql")
                .arg(format!("--socket={}", self.socket().display()))
                .args(["-uroot", "-N", "-B", "-e", sql]),
        )
    }

    /// The verifier's verdicts so far, one JSON object each.
    pub fn verdicts(&self) -> Vec<serde_json::Value> {
        super::pg::verdicts(&self.log)
    }

    /// A profile for this server: the token is signed for `host:<port>`.
    pub fn profile(&self, name: &str, host: &str, user: &str, engine: &str) -> String {
        format!(
            "[profiles.{name}]\nengine = \"{engine}\"\nhost = \"{host}\"\nport = {port}\nuser = \"{user}\"\ndatabase = \"shop\"\n\
             region = \"{REGION}\"\nssl_ca = \"{ca}\"\n",
            port = self.port,
            ca = self.ca.display()
        )
    }
}

// What the MySQL tests share.

pub const WHO: &[&str] = &[
    "-N",
    "-B",
    "-e",
    "SELECT SUBSTRING_INDEX(USER(), '@', 1), DATABASE()",
];

pub fn sandbox(name: &str, my: &My, profiles: &[(&str, &str, &str)]) -> Sandbox {
    let sb = Sandbox::new(name).with_env_keys();
    let text: String = profiles
        .iter()
        .map(|(p, host, user)| my.profile(p, host, user, "mariadb"))
        .collect();
    sb.write_config(&text);
    sb
}

pub fn client_args<'a>(client: &'a str, profile: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![client, profile, "--"];
    args.extend_from_slice(extra);
    args
}

pub fn refused(run: &Run) {
    assert_ne!(run.code, 0, "logged in with a wrong token: {}", run.stdout);
    assert!(run.stderr.contains("Access denied"), "{}", run.stderr);
}
