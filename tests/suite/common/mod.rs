//! Shared test harness: every test runs the real `iamdb` binary in a sandbox of its own (its
//! own HOME, config, runtime directory and AWS files), against real helpers started here:
//! moto's STS server, protocol-speaking EC2/ECS metadata stubs, gnome-keyring.
//!
//! A helper program the machine lacks fails the test loudly under CI (CI=true); outside CI the
//! test says what is missing and stops.

#![allow(dead_code)]

pub mod dns;
pub mod my;
pub mod pg;
pub mod pgadmin;
pub mod redis;
pub mod users;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_iamdb");
pub const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const HOST: &str = "db1.c9akciq32.eu-west-1.rds.amazonaws.com";

pub fn support(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("support")
        .join(name)
}

/// Whether `what`, a piece of the machine a test needs (a program, a package, a server), is
/// there (`ok`). A test never passes by skipping: a missing piece fails it, unless the run
/// names `key` in `IAMDB_TEST_SKIP` (comma-separated keys, or `all`). Then the test records
/// the skip in `$IAMDB_TEST_SKIPPED_LOG` (tests/run.sh counts them in its summary) and
/// returns early.
pub fn present(key: &str, what: &str, ok: bool) -> bool {
    if ok {
        return true;
    }
    let opted_out = std::env::var("IAMDB_TEST_SKIP")
        .unwrap_or_default()
        .split(',')
        .any(|k| k.trim() == key || k.trim() == "all");
    if !opted_out {
        panic!(
            "{what} is missing; tests/run.sh installs it (or name `{key}` in IAMDB_TEST_SKIP to skip the tests that need it)"
        );
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed)")
        .to_string();
    eprintln!("SKIPPED by IAMDB_TEST_SKIP={key}: {test} needs {what}");
    if let Ok(log) = std::env::var("IAMDB_TEST_SKIPPED_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            // One write, so that lines of tests running at once do not interleave (O_APPEND).
            let _ = f.write_all(format!("{test}\t{key}: {what}\n").as_bytes());
        }
    }
    false
}

/// Is `program` on PATH? (See [`present`]: the key is the program's name.)
pub fn require(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    present(program, program, found)
}

/// What to undo when the test process ends, in order: a helper process to stop, a file or
/// directory to remove (a server's data, its PAM service).
pub enum Cleanup {
    Stop(u32),
    Remove(PathBuf),
}

static CLEANUP: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());

/// Undoes `what` when the test binary exits (its servers outlive every test, so no Drop runs).
pub fn at_exit(what: Cleanup) {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        extern "C" fn run() {
            let Ok(mut list) = CLEANUP.try_lock() else {
                return;
            };
            let (stops, removes): (Vec<_>, Vec<_>) =
                list.drain(..).partition(|c| matches!(c, Cleanup::Stop(_)));
            for c in &stops {
                if let Cleanup::Stop(pid) = c {
                    // SAFETY: kill on a process this test binary started.
                    unsafe { libc::kill(*pid as libc::pid_t, libc::SIGTERM) };
                }
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            for c in &stops {
                if let Cleanup::Stop(pid) = c {
                    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    // SAFETY: as above; a process that is gone is not signalled.
                    unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
                }
            }
            for c in removes {
                if let Cleanup::Remove(path) = c {
                    let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
                }
            }
        }
        // SAFETY: registers a function with no arguments that the C runtime calls at exit.
        unsafe { libc::atexit(run) };
    });
    CLEANUP.lock().unwrap_or_else(|e| e.into_inner()).push(what);
}

/// Runs `cmd` (an iamdb client command that holds a connection for a few seconds) and scans
/// every process's command line while it runs: no token may appear in any of them. Returns
/// whether the child's own command line, once iamdb replaced itself, satisfied `is_client`.
pub fn scan_command_lines(mut cmd: Command, is_client: impl Fn(&str) -> bool) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = false;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&cmdline);
            assert!(
                !text.contains("X-Amz-Signature") && !text.contains("Action=connect"),
                "token on a command line: {text}"
            );
            if entry.file_name().to_string_lossy() == child.id().to_string() && is_client(&text) {
                seen = true;
            }
        }
    }
    assert!(child.wait().unwrap().success());
    seen
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A private world for one test.
pub struct Sandbox {
    pub root: PathBuf,
    pub env: BTreeMap<String, String>,
    userns: UserNs,
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root =
            std::env::temp_dir().join(format!("iamdb-test-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["home/.aws", "config/iamdb", "runtime", "tmp"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("runtime"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .unwrap();
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        env.insert("HOME".into(), root.join("home").display().to_string());
        env.insert(
            "XDG_CONFIG_HOME".into(),
            root.join("config").display().to_string(),
        );
        env.insert(
            "XDG_RUNTIME_DIR".into(),
            root.join("runtime").display().to_string(),
        );
        env.insert("LANG".into(), "C.UTF-8".into());
        // Where a runtime directory falls back to is the sandbox's too, never the real /tmp.
        env.insert("TMPDIR".into(), root.join("tmp").display().to_string());
        // There is no EC2 here; tests that want IMDS point it at a stub.
        env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
        Sandbox {
            root,
            env,
            userns: UserNs::new(),
        }
    }

    /// Static keys in the environment, the most common credential source.
    pub fn with_env_keys(mut self) -> Sandbox {
        self.set("AWS_ACCESS_KEY_ID", AKID)
            .set("AWS_SECRET_ACCESS_KEY", SECRET);
        self
    }

    pub fn set(&mut self, k: &str, v: impl AsRef<str>) -> &mut Sandbox {
        self.env.insert(k.into(), v.as_ref().into());
        self
    }

    pub fn unset(&mut self, k: &str) -> &mut Sandbox {
        self.env.remove(k);
        self
    }

    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config/iamdb/config.toml")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    pub fn write_aws_config(&self, text: &str) {
        std::fs::write(self.home().join(".aws/config"), text).unwrap();
    }

    pub fn write_aws_credentials(&self, text: &str) {
        std::fs::write(self.home().join(".aws/credentials"), text).unwrap();
    }

    /// A command running `program` in this sandbox's environment (and nothing else of ours),
    /// inside the sandbox's own user namespace: its kernel keyring is the sandbox's, never the
    /// keyring of the user running the tests.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .envs(&self.env)
            .current_dir(&self.root)
            .stdin(Stdio::null());
        self.userns.enter(&mut c);
        c
    }

    /// Like [`Sandbox::command`], run as `user` (its uid, gid and groups), in the same user
    /// namespace.
    pub fn command_as(&self, user: &users::OsUser, program: &str) -> Command {
        let mut c = self.command("setpriv");
        c.arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.gid))
            .arg("--init-groups")
            .arg("--")
            .arg(program);
        c
    }

    /// `iamdb` run as `user`.
    pub fn iamdb_as(&self, user: &users::OsUser, args: &[&str]) -> Command {
        let mut c = self.command_as(user, BIN);
        c.args(args);
        c
    }

    /// Hands the whole sandbox to `user`, as if it were that user's home.
    pub fn give_to(&self, user: &users::OsUser) {
        users::chown_tree(&self.root, user.uid, user.gid);
    }

    pub fn iamdb(&self, args: &[&str]) -> Command {
        let mut c = self.command(BIN);
        c.args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.iamdb(args).output().unwrap())
    }

    /// `iamdb` with the wall clock frozen at `instant` (libfaketime), as the reference
    /// signers are in the conformance tests. The monotonic clock keeps running so that
    /// timeouts still work.
    pub fn run_at(&self, instant: &str, args: &[&str]) -> Run {
        let mut c = self.iamdb(args);
        fake_time(&mut c, instant);
        Run::from(c.output().unwrap())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Runs `cmd` with `input` on its stdin and collects what it printed.
    pub fn with_input(cmd: &mut Command, input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        Run::from(child.wait_with_output().unwrap())
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "iamdb failed\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        self
    }

    pub fn token(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// `s` escaped for the inside of a TOML basic string (`"..."`).
pub fn toml_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// A query parameter of a token (still percent-encoded).
pub fn param<'a>(token: &'a str, name: &str) -> Option<&'a str> {
    let query = token.split_once("/?")?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a helper that must die with the test process: it is spawned, with PDEATHSIG set,
/// from a thread that then waits on it, so the thread lives as long as the helper. With
/// `port_on_stdout`, the helper prints the port it listens on as its first line.
pub fn spawn_helper(mut cmd: Command, port_on_stdout: bool) -> Option<u16> {
    let (tx, rx) = std::sync::mpsc::channel();
    if port_on_stdout {
        cmd.stdout(Stdio::piped());
    }
    std::thread::spawn(move || {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and only affects the child.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child: Child = cmd.spawn().expect("cannot start helper");
        at_exit(Cleanup::Stop(child.id()));
        let port = child.stdout.take().map(|out| {
            let mut line = String::new();
            BufReader::new(out).read_line(&mut line).unwrap();
            line.trim().parse::<u16>().expect("helper printed no port")
        });
        tx.send(port).unwrap();
        let _ = child.wait();
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("helper did not start")
}

pub fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// moto's server on loopback, answering STS; one per test process. Its request recorder is
/// on from the start (see [`sts_requests`]).
pub fn moto() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let port = free_port();
        let recording = moto_recording();
        at_exit(Cleanup::Remove(recording.clone()));
        let mut c = Command::new("python3");
        c.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .env("MOTO_RECORDER_FILEPATH", &recording)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        spawn_helper(c, false);
        wait_for_port(port, "moto");
        let started = Command::new("python3")
            .args([
                "-c",
                "import sys,urllib.request\n\
                 urllib.request.urlopen(urllib.request.Request(sys.argv[1], method='POST'))",
                &format!("http://127.0.0.1:{port}/moto-api/recorder/start-recording"),
            ])
            .status()
            .unwrap();
        assert!(started.success(), "moto's recorder did not start");
        port
    })
}

fn moto_recording() -> PathBuf {
    std::env::temp_dir().join(format!("iamdb-test-moto-{}.jsonl", std::process::id()))
}

/// Runs `cmd`, fails the test naming it and what it printed unless it exits 0, and
/// returns its standard output.
#[track_caller]
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The STS requests moto has been sent with `Action=action` and `RoleArn=role_arn`, in order,
/// each as its form parameters (moto's recorder, read from its file). Tests give each of
/// their roles a name of its own, so they see only their own calls.
pub fn sts_requests(action: &str, role_arn: &str) -> Vec<BTreeMap<String, String>> {
    moto();
    let out = stdout_of(Command::new("python3").args([
            "-c",
            "import base64,json,sys,urllib.parse\n\
             out=[]\n\
             for line in open(sys.argv[1]):\n\
             \x20 r=json.loads(line)\n\
             \x20 body=r.get('body') or ''\n\
             \x20 if r.get('body_encoded'): body=base64.b64decode(body).decode()\n\
             \x20 q={k:v[0] for k,v in urllib.parse.parse_qs(body).items()}\n\
             \x20 if q.get('Action')==sys.argv[2] and q.get('RoleArn')==sys.argv[3]: out.append(q)\n\
             print(json.dumps(out))",
        ])
        .arg(moto_recording())
        .args([action, role_arn]));
    serde_json::from_str(&out).unwrap()
}

/// moto's record of the session credentials it issued for an access key id.
pub fn moto_credentials(port: u16, access_key_id: &str) -> (String, String) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,urllib.request\n\
             d=json.load(urllib.request.urlopen(sys.argv[1]))\n\
             for r in d['sts']['AssumedRole']:\n\
             \x20 if r['access_key_id']==sys.argv[2]: print(r['secret_access_key']); print(r['session_token'])",
            &format!("http://127.0.0.1:{port}/moto-api/data.json"),
            access_key_id,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let secret = lines
        .next()
        .unwrap_or_else(|| panic!("moto issued no key {access_key_id}"))
        .to_string();
    let token = lines.next().unwrap().to_string();
    (secret, token)
}

/// The token botocore makes for the same inputs at the same frozen instant.
pub struct BotoCase<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub region: &'a str,
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
}

pub fn botocore_tokens(instant: &str, cases: &[BotoCase<'_>]) -> Vec<String> {
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "host": c.host, "port": c.port, "user": c.user, "region": c.region,
                "access_key": c.access_key, "secret_key": c.secret_key, "session_token": c.session_token,
            })
        })
        .collect();
    botocore_reference(instant, &input)
}

/// botocore's tokens for cases as tests/support/botocore_tokens.py reads them (any kind).
pub fn botocore_reference(instant: &str, input: &[serde_json::Value]) -> Vec<String> {
    let mut cmd = Command::new("python3");
    cmd.arg(support("botocore_tokens.py"));
    fake_time(&mut cmd, instant);
    let out = Run::with_input(&mut cmd, &serde_json::to_vec(&input).unwrap());
    assert_eq!(out.code, 0, "botocore failed: {}", out.stderr);
    out.stdout.lines().map(String::from).collect()
}

/// A loopback stub of the EC2 instance metadata service (IMDSv2) or the ECS container
/// credentials endpoint, as started by tests/support/metadata_server.py. It logs each request
/// it answered, one JSON object a line.
pub struct MetadataStub {
    pub port: u16,
    pub log: PathBuf,
}

impl MetadataStub {
    pub fn start(sandbox: &Sandbox, mode: &str, extra: &[&str]) -> MetadataStub {
        let log = sandbox.root.join(format!("{mode}-requests.log"));
        let mut c = Command::new("python3");
        c.arg(support("metadata_server.py"))
            .arg(mode)
            .arg(&log)
            .args(extra)
            .stderr(Stdio::inherit());
        let port = spawn_helper(c, true).unwrap();
        MetadataStub { port, log }
    }

    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Serialises tests that must not run at the same time as each other.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A loopback TCP forwarder (a tunnel end, as `ssh -L` would make): returns its port.
pub fn tunnel_to(port: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let local = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for inbound in listener.incoming().flatten() {
            let Ok(outbound) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let (mut a, mut b) = (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
            let (mut c, mut d) = (inbound, outbound);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut a, &mut b);
                let _ = b.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut d, &mut c);
                let _ = c.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    local
}

/// A user namespace that maps every uid and gid to itself, so that inside it files, users and
/// permissions are what they are outside, with one difference: since Linux 5.3 the kernel
/// keeps the user keyrings (`@u`) per user namespace, so iamdb's kernel-keyring cache in a
/// sandbox never reaches the keyring of the user running the tests. The namespace lives as
/// long as the descriptor.
pub struct UserNs {
    fd: std::os::fd::OwnedFd,
}

impl UserNs {
    pub fn new() -> UserNs {
        use std::io::Write;
        let mut child = Command::new("unshare")
            .args(["--user", "sh", "-c", "read line"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux) is needed for the tests' user namespaces");
        let pid = child.id();
        let ours = std::fs::read_link("/proc/self/ns/user").unwrap();
        let start = Instant::now();
        while std::fs::read_link(format!("/proc/{pid}/ns/user"))
            .ok()
            .as_ref()
            == Some(&ours)
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "unshare --user did not start"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        for map in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{pid}/{map}"), "0 0 4294967295\n")
                .unwrap_or_else(|e| panic!("cannot write {map} of a test user namespace: {e}"));
        }
        let fd = std::fs::File::open(format!("/proc/{pid}/ns/user"))
            .unwrap()
            .into();
        child.stdin.take().unwrap().write_all(b"\n").unwrap();
        child.wait().unwrap();
        UserNs { fd }
    }

    /// Makes `cmd` start inside this namespace.
    pub fn enter(&self, cmd: &mut Command) {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let fd = self.fd.as_raw_fd();
        // SAFETY: setns is async-signal-safe; the child is single-threaded after fork, and the
        // descriptor stays open in it until exec (it is close-on-exec).
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWUSER) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

/// Where Debian's libfaketime is.
pub fn libfaketime() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Is libfaketime there? Under CI a missing piece is a failure, not a skip.
pub fn require_faketime() -> bool {
    present(
        "faketime",
        "libfaketime (Debian's faketime)",
        libfaketime().is_some(),
    )
}

/// Runs `cmd` with the wall clock at `instant` (libfaketime's format: an absolute time freezes
/// it, `+10m` shifts it), by preloading libfaketime directly rather than through the `faketime`
/// program, whose shared semaphores in /dev/shm can collide with stale ones. The monotonic
/// clock keeps running so that timeouts still work.
pub fn fake_time(cmd: &mut Command, instant: &str) {
    let lib = libfaketime().expect("libfaketime is not installed");
    cmd.env("LD_PRELOAD", lib)
        .env("FAKETIME", instant)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("FAKETIME_NO_CACHE", "1");
}

/// tests/support/fake_db_server.py: a server that logs what a client sends it and serves
/// nothing, to prove that a token never reaches it.
pub struct FakeServer {
    pub port: u16,
    pub log: PathBuf,
}

impl FakeServer {
    /// `mode` is `pg` or `mysql`.
    pub fn start(sandbox: &Sandbox, mode: &str) -> FakeServer {
        let log = sandbox.root.join(format!("fake-{mode}.log"));
        std::fs::write(&log, "").unwrap();
        let mut c = Command::new("python3");
        c.arg(support("fake_db_server.py"))
            .arg(mode)
            .arg(&log)
            .stderr(Stdio::inherit());
        let port = spawn_helper(c, true).unwrap();
        FakeServer { port, log }
    }

    /// What clients did, one JSON object each.
    pub fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Fails when any client connected at all.
    #[track_caller]
    pub fn assert_untouched(&self) {
        let events = self.events();
        assert!(
            events.is_empty(),
            "a client connected to the fake server: {events:?}"
        );
    }
}
