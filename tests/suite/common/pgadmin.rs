//! Real pgAdmin 4 (PyPI `pgadmin4` 9.x), headless: tests/support/pgadmin.py run with the python
//! of the virtual environment tests/run.sh installs it in (`$IAMDB_TEST_PGADMIN`), in a data
//! directory of the test's own. pgAdmin's own `setup.py load-servers` / `dump-servers` read and
//! write servers.json; its own `PasswordExec` (pgadmin/utils/passexec.py) runs a server's
//! `PasswordExecCommand`, and its own driver logs in with the password, as the desktop app does
//! when it connects.
//!
//! Every command runs through [`Sandbox::command`], so a password command (`iamdb token
//! PROFILE`) sees the sandbox's HOME, config and AWS credentials, and runs in the sandbox's
//! directory and user namespace.
//!
//! ```ignore
//! if !pgadmin::available() { return; }
//! let admin = PgAdmin::new(&sandbox);
//! admin.load(&sandbox, &servers_json);          // fails the test with pgAdmin's refusal
//! let dumped = admin.dump(&sandbox);            // pgAdmin's own dump-servers, parsed
//! let got = admin.password(&sandbox, "prod");   // got.password, got.server["conninfo"]
//! assert_eq!(admin.login(&sandbox, "prod"), "app");
//! ```

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// The virtual environment pgAdmin is installed in: `$IAMDB_TEST_PGADMIN` (tests/run.sh sets
/// it), else where tests/run.sh puts it by default (`$IAMDB_TEST_TOOLS/pgadmin-venv`,
/// `target/test-tools/pgadmin-venv`), so that a `cargo test` after a run finds it too.
pub fn venv() -> PathBuf {
    if let Some(venv) = std::env::var_os("IAMDB_TEST_PGADMIN") {
        return PathBuf::from(venv);
    }
    std::env::var_os("IAMDB_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools"))
        .join("pgadmin-venv")
}

/// The virtual environment's python.
pub fn python() -> PathBuf {
    venv().join("bin/python")
}

/// Is pgAdmin 4 installed in [`venv`]? (A python there and pgAdmin's setup.py beside it.)
fn installed() -> bool {
    let venv = venv();
    python().is_file()
        && std::fs::read_dir(venv.join("lib")).is_ok_and(|dirs| {
            dirs.flatten()
                .any(|d| d.path().join("site-packages/pgadmin4/setup.py").is_file())
        })
}

/// Is pgAdmin there? Under the suite's rule a missing one fails the test, unless the run names
/// `pgadmin` in IAMDB_TEST_SKIP.
pub fn available() -> bool {
    present(
        "pgadmin",
        &format!(
            "pgAdmin 4 (PyPI pgadmin4) in a virtual environment at {} ($IAMDB_TEST_PGADMIN, made by tests/run.sh)",
            venv().display()
        ),
        installed(),
    )
}

/// What pgAdmin's password command returned for a server, and the server as pgAdmin stored it.
#[derive(Debug)]
pub struct Password {
    /// PasswordExec's result: the command's standard output, stripped.
    pub password: String,
    /// The stored server: `name`, `group`, `host`, `port`, `maintenance_db`, `username`,
    /// `role`, `service`, `connection_params` (an object), `passexec_cmd`,
    /// `passexec_expiration`, `use_ssh_tunnel`; `conninfo`, the libpq connection string
    /// pgAdmin builds from them (without the password; desktop-mode pgAdmin drops a file
    /// parameter such as `sslrootcert` whose file does not exist); `passexec_cmd_run`, the
    /// command after pgAdmin replaced `%HOSTNAME%`, `%PORT%` and `%USERNAME%`; `password`.
    pub server: serde_json::Value,
}

/// A private pgAdmin: its configuration database, sessions and log in a directory of the
/// sandbox (removed with it; kept, like the sandbox, when the test fails).
pub struct PgAdmin {
    pub data: PathBuf,
}

impl PgAdmin {
    /// A new, empty data directory. pgAdmin's configuration database is made by the first
    /// [`PgAdmin::load`].
    pub fn new(sandbox: &Sandbox) -> PgAdmin {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let data = sandbox.root.join(format!("pgadmin-{n}"));
        std::fs::create_dir_all(&data).unwrap();
        PgAdmin { data }
    }

    /// tests/support/pgadmin.py `subcommand` for this data directory, in the sandbox.
    pub fn command(&self, sandbox: &Sandbox, subcommand: &str) -> Command {
        let mut c = sandbox.command(python().to_str().unwrap());
        c.arg(support("pgadmin.py")).arg(subcommand).arg(&self.data);
        c
    }

    /// `subcommand ARG`, whatever comes of it.
    pub fn run(&self, sandbox: &Sandbox, subcommand: &str, arg: impl AsRef<OsStr>) -> Run {
        Run::from(self.command(sandbox, subcommand).arg(arg).output().unwrap())
    }

    /// pgAdmin's log file (a failed password command's standard error goes there too).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("pgadmin4.log")).unwrap_or_default()
    }

    /// `setup.py load-servers FILE`, for the desktop user (after `setup.py setup-db` the first
    /// time). Fails the test, with pgAdmin's message, when pgAdmin refuses the file. Loading
    /// a server again adds a second one of the same name.
    #[track_caller]
    pub fn load(&self, sandbox: &Sandbox, file: &Path) {
        stdout_of(self.command(sandbox, "load").arg(file));
    }

    /// Like [`PgAdmin::load`], but returns what happened: a refused file exits 1 with
    /// pgAdmin's message on stderr (e.g. "Port must be integer for server '1'").
    pub fn try_load(&self, sandbox: &Sandbox, file: &Path) -> Run {
        self.run(sandbox, "load", file)
    }

    /// `setup.py dump-servers`: every server of the desktop user, in pgAdmin's servers.json
    /// format (`{"Servers": {"1": {...}, ...}}`, numbered from 1 in load order; empty values
    /// left out, pgAdmin's defaults such as `"TunnelPort": "22"` added).
    #[track_caller]
    pub fn dump(&self, sandbox: &Sandbox) -> serde_json::Value {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let out = self.data.join(format!("dump-{n}.json"));
        stdout_of(self.command(sandbox, "dump").arg(&out));
        let text = std::fs::read_to_string(&out).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("pgAdmin's dump ({e}): {text}"))
    }

    /// Runs the password command of the server named `name` through pgAdmin's own
    /// `PasswordExec` (from the driver's ServerManager, as when pgAdmin connects). Fails the
    /// test when the command fails.
    #[track_caller]
    pub fn password(&self, sandbox: &Sandbox, name: &str) -> Password {
        let out = stdout_of(self.command(sandbox, "password").arg(name));
        let (first, server) = Self::two_lines(&out);
        let server: serde_json::Value = serde_json::from_str(server).unwrap();
        assert_eq!(server["password"], first, "{out}");
        Password {
            password: first.to_string(),
            server,
        }
    }

    /// Like [`PgAdmin::password`], but returns what happened: a failing command exits 1 with
    /// "pgAdmin's password command failed (CODE): STDERR" on stderr.
    pub fn try_password(&self, sandbox: &Sandbox, name: &str) -> Run {
        self.run(sandbox, "password", name)
    }

    /// pgAdmin's own driver connects to the server named `name` (password from its
    /// password command, TLS and `hostaddr` from its connection parameters) and runs
    /// `SELECT current_user`: returns that user. Fails the test when pgAdmin cannot log in.
    #[track_caller]
    pub fn login(&self, sandbox: &Sandbox, name: &str) -> String {
        let out = stdout_of(self.command(sandbox, "login").arg(name));
        Self::two_lines(&out).0.to_string()
    }

    /// Like [`PgAdmin::login`], but returns what happened: a refused login exits 1 with
    /// "pgAdmin could not connect to NAME: <libpq's message>" on stderr.
    pub fn try_login(&self, sandbox: &Sandbox, name: &str) -> Run {
        self.run(sandbox, "login", name)
    }

    /// pgadmin.py's answer: a value on the first line, the stored server (JSON) on the last.
    fn two_lines(out: &str) -> (&str, &str) {
        let out = out.strip_suffix('\n').unwrap_or(out);
        out.rsplit_once('\n')
            .unwrap_or_else(|| panic!("pgadmin.py printed: {out}"))
    }
}
