//! Hardening: what happens when the keyring, STS or the machine misbehave, under load, with
//! hostile input, and where secrets could leak. Each test is one promise of the README's
//! "Reliability and security" section.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const PG_PROFILE: &str = "[profiles.p]\nengine = \"postgres\"\nhost = \"db1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n";
const MY_PROFILE: &str = "[profiles.m]\nengine = \"mariadb\"\nhost = \"my1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n";

/// tests/support/no_keyctl.c, built once per test process.
fn no_keyctl() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("iamdb-no-keyctl-{}", std::process::id()));
        at_exit(Cleanup::Remove(out.clone()));
        let status = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&out)
            .arg(support("no_keyctl.c"))
            .status()
            .expect("cc");
        assert!(status.success(), "cannot build no_keyctl.c");
        out
    })
    .clone()
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("warning")).collect()
}

#[test]
fn a_keyring_forbidden_by_seccomp_falls_through_to_the_next_store() {
    if !require("cc") {
        return;
    }
    let mut sb = Sandbox::new("seccomp").with_env_keys();
    sb.set("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    sb.write_config(PG_PROFILE);
    let run = |sb: &Sandbox| {
        let mut c = sb.command(no_keyctl().to_str().unwrap());
        c.args([BIN, "token", "p", "--format", "json"]);
        Run::from(c.output().unwrap()).ok()
    };
    let first = run(&sb);
    let w = warnings(&first.stderr);
    assert_eq!(w.len(), 1, "{}", first.stderr);
    assert!(
        w[0].contains("kernel keyring is unusable (keyctl: operation not permitted)")
            && w[0].contains("using the file cache"),
        "{}",
        w[0]
    );
    let token = first.json()["token"].as_str().unwrap().to_string();
    assert!(token.starts_with(HOST) && token.contains("X-Amz-Signature="));
    let second = run(&sb);
    assert_eq!(second.json()["cached"], true, "the file cache serves it");
    assert_eq!(second.json()["token"].as_str().unwrap(), token);
}

#[test]
fn a_secret_service_that_never_answers_is_given_up_on_its_deadline() {
    if !require("cc") {
        return;
    }
    let mut sb = Sandbox::new("hung-bus").with_env_keys();
    let socket = sb.root.join("bus");
    // A bus that accepts the connection and then says nothing, ever.
    let mut server = Command::new("python3");
    server
        .args([
            "-c",
            "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen(64)\nprint(1,flush=True)\nheld=[]\nwhile True: held.append(s.accept())",
        ])
        .arg(&socket);
    spawn_helper(server, true);
    sb.set(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", socket.display()),
    )
    .set("IAMDB_CACHE", "secret-service")
    .set("IAMDB_KEYRING_TIMEOUT_MS", "1500");
    sb.write_config(PG_PROFILE);
    let start = Instant::now();
    let mut c = sb.command(no_keyctl().to_str().unwrap());
    c.args([BIN, "token", "p"]);
    let run = Run::from(c.output().unwrap()).ok();
    let took = start.elapsed();
    assert!(run.token().starts_with(HOST), "{}", run.stdout);
    assert!(
        took < Duration::from_millis(1500 + 2500),
        "the deadline is 1.5 s; took {took:?}"
    );
    let w = warnings(&run.stderr);
    assert_eq!(w.len(), 1, "{}", run.stderr);
    assert!(
        w[0].contains("the Secret Service is unusable") && w[0].contains("1500 ms"),
        "{}",
        w[0]
    );
}

#[test]
fn a_full_kernel_key_quota_falls_through() {
    if !require("keyctl") || !require("setpriv") {
        return;
    }
    // The quota is per user; a user of this test's own (not root, whose quota is vast).
    let uid = 40_000 + std::process::id() % 20_000;
    let mut sb = Sandbox::new("quota").with_env_keys();
    sb.set("IAMDB_CACHE", "keyutils")
        .set("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    sb.write_config(PG_PROFILE);
    chown_tree(&sb.root, uid);
    let script = format!(
        "keyctl new_session >/dev/null\n\
         n=0; for size in 400 40 1; do\n\
           while keyctl add user fill$n \"$(head -c $size /dev/zero | tr '\\0' x)\" @u >/dev/null 2>&1; do n=$((n+1)); done\n\
         done\n\
         keyctl add user one-more x @u >/dev/null 2>&1 && echo QUOTA-NOT-FULL >&2\n\
         {BIN} token p; status=$?\n\
         keyctl clear @u\n\
         exit $status"
    );
    let mut c = sb.command("setpriv");
    c.args([
        &format!("--reuid={uid}"),
        &format!("--regid={uid}"),
        "--clear-groups",
        "sh",
        "-c",
        &script,
    ]);
    let run = Run::from(c.output().unwrap()).ok();
    assert!(!run.stderr.contains("QUOTA-NOT-FULL"), "{}", run.stderr);
    assert!(run.token().starts_with(HOST), "{}", run.stdout);
    let w = warnings(&run.stderr);
    assert_eq!(w.len(), 1, "{}", run.stderr);
    assert!(
        w[0].contains("the kernel key quota is full") && w[0].contains("using the file cache"),
        "{}",
        w[0]
    );
}

fn chown_tree(root: &Path, uid: u32) {
    let status = Command::new("chown")
        .args(["-R", &format!("{uid}:{uid}")])
        .arg(root)
        .status()
        .unwrap();
    assert!(status.success());
}

/// An assume-role profile whose STS is at `sts`.
fn assume_role_sandbox(name: &str, sts: &str, role: &str) -> Sandbox {
    let mut sb = Sandbox::new(name);
    sb.set("AWS_ENDPOINT_URL_STS", sts);
    sb.write_aws_config(&format!(
        "[profile base]\naws_access_key_id = AKIAHARDENINGBASE001\naws_secret_access_key = base-secret\n\n\
         [profile db-role]\nrole_arn = arn:aws:iam::123456789012:role/{role}\nsource_profile = base\nregion = eu-west-1\n"
    ));
    sb.write_config(&format!("{PG_PROFILE}aws_profile = \"db-role\"\n"));
    sb
}

#[test]
fn sts_that_refuses_hangs_or_talks_nonsense_fails_fast_and_clearly() {
    let closed = free_port();
    let mut hang = Command::new("python3");
    hang.arg(support("bad_sts.py")).arg("hang");
    let hang = spawn_helper(hang, true).unwrap();
    let mut garbage = Command::new("python3");
    garbage.arg(support("bad_sts.py")).arg("garbage");
    let garbage = spawn_helper(garbage, true).unwrap();
    for (what, port, limit) in [
        ("refused", closed, 15),
        ("hang", hang, 3 + 4),
        ("garbage", garbage, 15),
    ] {
        let mut sb = assume_role_sandbox(what, &format!("http://127.0.0.1:{port}"), "faults");
        sb.set("IAMDB_CREDENTIALS_TIMEOUT", "3");
        let start = Instant::now();
        let run = sb.run(&["token", "p"]).fails(4);
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(limit),
            "{what}: took {took:?}\n{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{what}: printed {}", run.stdout);
        assert!(
            run.stderr.starts_with("iamdb: error: ") && run.stderr.contains("db-role"),
            "{what}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("base-secret"),
            "{what}: the source profile's secret leaked"
        );
        if what == "hang" {
            assert!(
                run.stderr
                    .contains(&format!("no answer from 127.0.0.1:{port} within 3 s")),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn a_cached_token_is_never_served_past_its_expiry_when_sts_is_down() {
    if !require_faketime() {
        return;
    }
    // STS (moto) behind a forwarder that the test can take away: the endpoint stays the same,
    // only the answers stop.
    let moto = moto();
    let forwarder = Forwarder::start(moto);
    let mut sb = assume_role_sandbox(
        "stale",
        &format!("http://127.0.0.1:{}", forwarder.port),
        "stale",
    );
    sb.set("IAMDB_CACHE", "file");
    let fresh = sb.run(&["token", "p"]).ok();
    assert!(fresh.token().contains("X-Amz-Security-Token="));
    drop(forwarder);
    // Ten minutes on, the entry is still good and STS is not asked.
    let later = sb.run_at("+10m", &["token", "p", "--format", "json"]).ok();
    assert_eq!(later.json()["cached"], true);
    assert_eq!(later.json()["token"].as_str().unwrap(), fresh.token());
    // Twenty minutes on it has expired: with STS gone, an error, not the dead token.
    let expired = sb.run_at("+20m", &["token", "p"]).fails(4);
    assert!(expired.stdout.is_empty(), "{}", expired.stdout);
}

/// A loopback TCP forwarder to `127.0.0.1:target`; dropping it closes its port.
struct Forwarder {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Forwarder {
    fn start(target: u16) -> Forwarder {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
                        for (mut from, mut to) in [
                            (client.try_clone().unwrap(), server.try_clone().unwrap()),
                            (server, client),
                        ] {
                            std::thread::spawn(move || {
                                let _ = std::io::copy(&mut from, &mut to);
                                let _ = to.shutdown(std::net::Shutdown::Write);
                            });
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Forwarder { port, stop }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // The accept loop notices within 10 ms and drops the listener.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A tiny deterministic generator, so that a failing run can be repeated.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".iamdb-") && n.ends_with(".tmp"))
                .collect()
        })
        .unwrap_or_default()
}

fn read_or_missing(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn killed_syncs_leave_the_old_or_the_new_file_and_no_temporary_files() {
    let mut sb = Sandbox::new("kill").with_env_keys();
    sb.set("IAMDB_CACHE", "file");
    sb.write_config(&format!("{PG_PROFILE}\n{MY_PROFILE}"));
    let pgpass = sb.home().join(".pgpass");
    let mycnf = sb.home().join(".my.cnf");
    let tokens = sb.root.join("config/iamdb/my.cnf");
    let mine = "# my own servers\nlocalhost:5432:*:me:my\\:password\n";
    std::fs::write(&pgpass, mine).unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&mycnf, "[client]\nuser=me\n").unwrap();

    // The two versions of each file: without and with iamdb's part (the token comes from the
    // file cache, so every sync writes the same bytes).
    let sync_pg = ["pgpass", "sync", "p"];
    let remove_pg = ["pgpass", "sync", "--remove", "p"];
    let sync_my = ["mycnf", "sync", "m"];
    let remove_my = ["mycnf", "sync", "--remove", "m"];
    // How long each step takes when left alone: kills land anywhere from its start to half
    // as long again after its normal end.
    let timed = |args: &[&str]| {
        let start = Instant::now();
        sb.run(args).ok();
        start.elapsed().as_micros() as u64 * 3 / 2
    };
    let mut span = [0u64; 4];
    span[0] = timed(&sync_pg);
    span[2] = timed(&sync_my);
    let (pg_new, my_new, tokens_new) = (
        read_or_missing(&pgpass),
        read_or_missing(&mycnf),
        read_or_missing(&tokens),
    );
    span[1] = timed(&remove_pg);
    span[3] = timed(&remove_my);
    let (pg_old, my_old, tokens_old) = (
        read_or_missing(&pgpass),
        read_or_missing(&mycnf),
        read_or_missing(&tokens),
    );
    assert_eq!(pg_old.as_deref(), Some(mine));
    assert_ne!(pg_new, pg_old);
    assert_ne!(my_new, my_old);

    let mut rng = Lcg(u64::from(std::process::id()));
    let mut seen = std::collections::BTreeSet::new();
    let rounds = 160;
    for round in 0..rounds {
        let args: &[&str] = match round % 4 {
            0 => &sync_pg,
            1 => &remove_pg,
            2 => &sync_my,
            _ => &remove_my,
        };
        let signal = if round % 8 < 6 {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        let mut child = sb
            .iamdb(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(span[round % 4])));
        // SAFETY: kill sends a signal to the child this test started.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        seen.insert((round % 4, status.signal().is_some()));

        let pg = read_or_missing(&pgpass);
        assert!(
            pg == pg_old || pg == pg_new,
            "round {round}: .pgpass is {pg:?}"
        );
        let my = read_or_missing(&mycnf);
        assert!(
            my == my_old || my == my_new,
            "round {round}: .my.cnf is {my:?}"
        );
        let tk = read_or_missing(&tokens);
        assert!(
            tk == tokens_old || tk == tokens_new || tk.as_deref() == Some(""),
            "round {round}: iamdb's option file is {tk:?}"
        );
        assert_eq!(
            std::fs::metadata(&pgpass).unwrap().mode() & 0o777,
            0o600,
            "round {round}"
        );
        if signal == libc::SIGTERM {
            // (Files left by earlier SIGKILLs go at the next write of the same file.)
            let mark = format!(".iamdb-{}-", child.id());
            let mut left = temp_files(&sb.home());
            left.extend(temp_files(&sb.root.join("config/iamdb")));
            assert!(
                !left.iter().any(|n| n.contains(&mark)),
                "round {round}: SIGTERM left {left:?}"
            );
        }
    }
    // Kills landed both before each command finished and after: the test covered the write.
    for step in 0..4 {
        assert!(
            seen.contains(&(step, true)) && seen.contains(&(step, false)),
            "step {step}: {seen:?}"
        );
    }
    // Whatever SIGKILL left behind, the next write clears.
    sb.run(&sync_pg).ok();
    sb.run(&sync_my).ok();
    assert!(
        temp_files(&sb.home()).is_empty(),
        "{:?}",
        temp_files(&sb.home())
    );
    assert!(temp_files(&sb.root.join("config/iamdb")).is_empty());
}

/// How many times moto's STS assumed `role`.
fn assumed(moto: u16, role: &str) -> usize {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json,sys,urllib.request\n\
             d=json.load(urllib.request.urlopen(sys.argv[1]))\n\
             print(sum(1 for r in d['sts']['AssumedRole'] if r['role_arn'].endswith('/'+sys.argv[2])))",
            &format!("http://127.0.0.1:{moto}/moto-api/data.json"),
            role,
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_hundred_concurrent_cold_calls_make_one_sts_call_and_one_token() {
    let moto = moto();
    let role = format!("load-{}", std::process::id());
    for store in ["keyutils", "file"] {
        let role = format!("{role}-{store}");
        let mut sb = assume_role_sandbox("load", &format!("http://127.0.0.1:{moto}"), &role);
        sb.set("IAMDB_CACHE", store);
        let children: Vec<_> = (0..100)
            .map(|_| {
                sb.iamdb(&["token", "p"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let tokens: Vec<String> = children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "{store}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8(out.stdout).unwrap()
            })
            .collect();
        assert!(tokens[0].contains("X-Amz-Security-Token="));
        assert!(
            tokens.iter().all(|t| t == &tokens[0]),
            "{store}: different tokens"
        );
        assert_eq!(assumed(moto, &role), 1, "{store}: STS AssumeRole calls");
    }
}

#[test]
fn concurrent_syncs_and_a_program_appending_lose_no_line() {
    let mut sb = Sandbox::new("appends").with_env_keys();
    sb.set("IAMDB_CACHE", "file");
    sb.write_config(PG_PROFILE);
    let pgpass = sb.home().join(".pgpass");
    let mine = "# mine\nlocalhost:5432:*:me:secret\n";
    std::fs::write(&pgpass, mine).unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    sb.run(&["pgpass", "sync", "p"]).ok();

    // Another program appends its own lines, taking the lock the README documents (`iamdb
    // lock FILE -- COMMAND`), while 50 syncs run.
    let appender = format!(
        "for i in $(seq 1 100); do {BIN} lock '{p}' -- sh -c \"printf 'host$i:5432:*:u$i:p$i\\n' >> '{p}'\"; done",
        p = pgpass.display()
    );
    let mut writer = sb.command("sh").args(["-c", &appender]).spawn().unwrap();
    let syncs: Vec<_> = (0..50)
        .map(|_| {
            sb.iamdb(&["pgpass", "sync", "p"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for s in syncs {
        let out = s.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(writer.wait().unwrap().success());
    let text = std::fs::read_to_string(&pgpass).unwrap();
    assert!(text.starts_with(mine), "{text}");
    for i in 1..=100 {
        let line = format!("host{i}:5432:*:u{i}:p{i}");
        assert_eq!(
            text.lines().filter(|l| *l == line).count(),
            1,
            "{line} lost or doubled:\n{text}"
        );
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("# BEGIN iamdb"))
            .count(),
        1
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with(HOST)).count(),
        1,
        "{text}"
    );
    assert_eq!(std::fs::metadata(&pgpass).unwrap().mode() & 0o777, 0o600);
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn refresh_watch_over_many_token_lifetimes_keeps_files_fresh_and_memory_flat() {
    let mut sb = Sandbox::new("watch-long").with_env_keys();
    sb.set("IAMDB_CACHE", "file");
    // A refresh margin of 899 s makes every 900 s token due one second after it is signed:
    // one token lifetime per second, as far as `refresh --watch` can tell.
    sb.write_config(&format!("{PG_PROFILE}refresh_margin = 899\n"));
    sb.run(&["pgpass", "sync", "p"]).ok();
    let pgpass = sb.home().join(".pgpass");
    let mut child = sb
        .iamdb(&["refresh", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut tokens = std::collections::BTreeSet::new();
    let mut early = None;
    while start.elapsed() < Duration::from_secs(40) {
        let text = std::fs::read_to_string(&pgpass).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(HOST))
            .unwrap()
            .to_string();
        tokens.insert(line);
        if early.is_none() && start.elapsed() > Duration::from_secs(5) {
            early = Some(rss_kib(child.id()));
        }
        assert!(child.try_wait().unwrap().is_none(), "--watch stopped");
        std::thread::sleep(Duration::from_millis(100));
    }
    let late = rss_kib(child.id());
    // SAFETY: kill sends a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        tokens.len() >= 15,
        "{} distinct tokens in 40 s of one-second lifetimes",
        tokens.len()
    );
    let early = early.unwrap();
    assert!(
        late <= early + 512,
        "RSS grew from {early} KiB to {late} KiB over {} refreshes",
        tokens.len()
    );
    eprintln!(
        "refresh --watch: {} refreshes, RSS {early} KiB -> {late} KiB",
        tokens.len()
    );
}

/// A TOML basic string holding `s`.
fn toml_str(s: &str) -> String {
    format!("\"{}\"", toml_escape(s))
}

/// The fields of a `.pgpass` line as libpq reads them (`\` escapes the next character).
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[test]
fn hostile_user_and_database_names_are_written_safely_everywhere() {
    if !require("my_print_defaults") {
        return;
    }
    let user = r#"a:b\c#d;e[f]"g'h$(id)`id`"#;
    let db = r#"shop:1\2#3;[client]"#;
    let mut sb = Sandbox::new("hostile").with_env_keys();
    sb.set("IAMDB_CACHE", "file");
    sb.write_config(&format!(
        "[profiles.p]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = {u}\ndatabase = {d}\n\n\
         [profiles.m]\nengine = \"mariadb\"\nhost = \"{HOST}\"\nport = 3306\nuser = {u}\ndatabase = {d}\n",
        u = toml_str(user),
        d = toml_str(db),
    ));
    let pg_token = sb.run(&["token", "p"]).ok().token().to_string();
    let my_token = sb.run(&["token", "m"]).ok().token().to_string();
    sb.run(&["pgpass", "sync", "p"]).ok();
    sb.run(&["pgservice", "sync", "p"]).ok();
    sb.run(&["mycnf", "sync", "m"]).ok();

    // .pgpass: one line, whose fields are exactly the profile's.
    let pgpass = std::fs::read_to_string(sb.home().join(".pgpass")).unwrap();
    assert_eq!(pgpass.lines().count(), 4, "{pgpass}");
    let line = pgpass.lines().nth(2).unwrap();
    assert_eq!(
        pgpass_fields(line),
        [HOST, "5432", db, user, pg_token.as_str()],
        "{line}"
    );

    // The option file, read by MariaDB's own parser.
    let tokens = sb.root.join("config/iamdb/my.cnf");
    let out = sb
        .command("my_print_defaults")
        .arg(format!("--defaults-file={}", tokens.display()))
        .arg("client_m")
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    for expected in [
        format!("--user={user}"),
        format!("--password={my_token}"),
        format!("--database={db}"),
    ] {
        assert!(
            printed.lines().any(|l| l == expected),
            "{expected} not in:\n{printed}"
        );
    }
    assert_eq!(
        printed.lines().filter(|l| l.starts_with("--user=")).count(),
        1
    );

    // pg_service.conf: one section of nine lines, the values as they are (libpq takes the
    // rest of the line).
    let service = std::fs::read_to_string(sb.home().join(".pg_service.conf")).unwrap();
    assert_eq!(service.lines().count(), 9, "{service}");
    assert!(service.lines().any(|l| l == format!("user={user}")));
    assert!(service.lines().any(|l| l == format!("dbname={db}")));
    assert_eq!(service.lines().filter(|l| l.starts_with('[')).count(), 1);
}

#[test]
fn values_that_could_inject_lines_are_refused_with_their_place() {
    let sb = Sandbox::new("refused").with_env_keys();
    for (key, value) in [
        ("user", "app\n[client]"),
        ("database", "shop\nhost=evil.example"),
        ("ssl_ca", "/etc/ca.pem\nsslmode=disable"),
        ("aws_profile", "ops\r"),
        ("host", "db.example:5432"),
        ("host", "$(id).example"),
        ("connect_host", "127.0.0.1;rm"),
    ] {
        let mut text =
            format!("[profiles.p]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n");
        if key == "host" || key == "user" {
            text = text.replace(
                &format!("{key} = "),
                &format!("{key} = {} # was ", toml_str(value)),
            );
        } else {
            text.push_str(&format!("{key} = {}\n", toml_str(value)));
        }
        sb.write_config(&text);
        let run = sb.run(&["token", "p"]).fails(3);
        let place = format!("{}:", sb.config_path().display());
        assert!(
            run.stderr.starts_with(&format!("iamdb: error: {place}")) && run.stderr.contains(key),
            "{key}={value:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    let long = "x".repeat(2000);
    sb.write_config(&format!(
        "[profiles.p]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\ndatabase = \"{long}\"\n"
    ));
    let run = sb.run(&["token", "p"]).fails(3);
    assert!(
        run.stderr.contains("longer than 1024 bytes"),
        "{}",
        run.stderr
    );

    // The same values as flags name the flag (and nothing is added).
    sb.write_config("");
    for (flag, value) in [
        ("--user", "app\nx"),
        ("--database", "db\nx"),
        ("--aws-profile", "a\tb"),
        ("--ssl-ca", "/x\n"),
    ] {
        let mut args = vec!["profile", "add", "q", "--host", HOST, flag, value];
        if flag != "--user" {
            args.extend(["--user", "app"]);
        }
        let run = sb.run(&args).fails(2);
        assert!(
            run.stderr.contains(flag) && run.stderr.contains("control character"),
            "{flag}: {}",
            run.stderr
        );
    }

    // Profile names become file names, option groups and shell functions: only a safe set.
    for name in [
        "a\nb",
        "a:b",
        "$(id)",
        "[client]",
        "a;b",
        "a b",
        ".hidden",
        &"n".repeat(65),
    ] {
        let run = sb
            .run(&["profile", "add", name, "--host", HOST, "--user", "app"])
            .fails(2);
        assert!(
            run.stderr.contains("profile name"),
            "{name:?}: {}",
            run.stderr
        );
    }

    // Bytes that are not UTF-8 on the command line.
    use std::os::unix::ffi::OsStrExt;
    let out = sb
        .iamdb(&["token"])
        .arg(std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .output()
        .unwrap();
    let run = Run::from(out).fails(2);
    assert!(run.stderr.contains("UTF-8"), "{}", run.stderr);
}

#[test]
fn broken_config_files_get_a_clear_error_and_untrusted_ones_a_refusal() {
    let mut sb = Sandbox::new("badfiles").with_env_keys();
    let dir = sb.root.clone();
    let cases: Vec<(&str, PathBuf, &str)> = {
        let huge = dir.join("huge.toml");
        std::fs::write(&huge, "# padding\n".repeat(200_000)).unwrap();
        let binary = dir.join("binary.toml");
        std::fs::write(&binary, b"\x00\x9f\x92\x96\xff\xfe").unwrap();
        let a = dir.join("loop-a.toml");
        let b = dir.join("loop-b.toml");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let open = dir.join("world.toml");
        std::fs::write(&open, PG_PROFILE).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o666)).unwrap();
        let group = dir.join("group.toml");
        std::fs::write(&group, PG_PROFILE).unwrap();
        std::fs::set_permissions(&group, std::fs::Permissions::from_mode(0o664)).unwrap();
        std::os::unix::fs::chown(&group, None, Some(54_321)).unwrap();
        let theirs = dir.join("theirs.toml");
        std::fs::write(&theirs, PG_PROFILE).unwrap();
        std::os::unix::fs::chown(&theirs, Some(54_321), None).unwrap();
        vec![
            ("huge", huge, "a config file is at most 1048576 bytes"),
            (
                "binary",
                binary,
                "not UTF-8 text (invalid byte at offset 1)",
            ),
            (
                "device",
                PathBuf::from("/dev/zero"),
                "it is not a regular file",
            ),
            ("directory", dir.clone(), "it is a directory"),
            ("loop", a, "its symbolic links form a loop"),
            (
                "world-writable",
                open,
                "it is writable by every user (mode 0666)",
            ),
            (
                "group-writable",
                group,
                "it is writable by group 54321, which other users are in (mode 0664)",
            ),
            ("someone else's", theirs, "it belongs to uid 54321"),
        ]
    };
    for (what, path, message) in cases {
        sb.set("IAMDB_CONFIG", path.display().to_string());
        let start = Instant::now();
        let run = sb.run(&["token", "p"]).fails(3);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{what}: {:?}",
            start.elapsed()
        );
        let first = run.stderr.lines().next().unwrap();
        assert!(
            first.starts_with("iamdb: error: ")
                && first.contains(&path.display().to_string())
                && first.contains(message),
            "{what}: {}",
            run.stderr
        );
        if what.contains("writable") || what.contains("else") {
            assert!(run.stderr.contains("chmod go-w"), "{}", run.stderr);
            // A profile cannot be added to it either.
            sb.run(&["profile", "add", "q", "--host", HOST, "--user", "app"])
                .fails(3);
        }
    }
    sb.unset("IAMDB_CONFIG");

    // Unreadable: another user's file of mode 0600, read as a user who is not root.
    if require("setpriv") {
        let secret = dir.join("private.toml");
        std::fs::write(&secret, PG_PROFILE).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut c = sb.command("setpriv");
        c.args([
            "--reuid=54321",
            "--regid=54321",
            "--clear-groups",
            BIN,
            "--config",
        ])
        .arg(&secret)
        .args(["token", "p"]);
        let run = Run::from(c.output().unwrap()).fails(3);
        assert!(
            run.stderr.contains("permission denied") && run.stderr.contains("private.toml"),
            "{}",
            run.stderr
        );
    }

    // A .pgpass that belongs to someone else never receives a token.
    sb.write_config(PG_PROFILE);
    let pgpass = sb.home().join(".pgpass");
    std::fs::write(&pgpass, "theirs:5432:*:u:p\n").unwrap();
    std::os::unix::fs::chown(&pgpass, Some(54_321), None).unwrap();
    let run = sb.run(&["pgpass", "sync", "p"]).fails(3);
    assert!(
        run.stderr.contains("belongs to uid 54321")
            && run.stderr.contains("will not write a token"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&pgpass).unwrap(),
        "theirs:5432:*:u:p\n"
    );
}

/// Every file under `dir`, recursively (symbolic links not followed).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let ty = entry.file_type().unwrap();
        if ty.is_dir() {
            files_under(&entry.path(), out);
        } else if ty.is_file() {
            out.push(entry.path());
        }
    }
}

#[test]
fn no_command_shows_a_secret_and_only_iamdbs_private_files_hold_one() {
    const SESSION: &str = "IQoJb3JpZ2luX2VjEHardeningSessionToken0123456789abcdef";
    let mut sb = Sandbox::new("audit").with_env_keys();
    sb.set("AWS_SESSION_TOKEN", SESSION)
        .set("IAMDB_CACHE", "file")
        .set(
            "AWS_ENDPOINT_URL_STS",
            format!("http://127.0.0.1:{}", free_port()),
        )
        .set("IAMDB_CREDENTIALS_TIMEOUT", "3");
    sb.write_config(&format!("{PG_PROFILE}\n{MY_PROFILE}"));
    let mut signatures: Vec<String> = Vec::new();
    let mut note = |stdout: &str| {
        for t in stdout.split(|c: char| c.is_whitespace() || c == '"') {
            if let Some(s) = param(t, "X-Amz-Signature") {
                signatures.push(s.to_string());
            }
        }
    };
    // (arguments, may stdout hold the token: only where printing it is the command's job)
    let commands: &[(&[&str], bool)] = &[
        (&["-vv", "token", "p"], true),
        (&["-vv", "token", "p", "--format", "json"], true),
        (&["-vv", "token", "p", "--refresh"], true),
        (&["-vv", "token", "m"], true),
        (&["-vv", "mycnf", "m"], true),
        (&["-vv", "pgpass", "sync"], false),
        (&["-vv", "pgservice", "sync"], false),
        (&["-vv", "mycnf", "sync"], false),
        (&["-vv", "refresh"], false),
        (&["-vv", "cache", "list"], false),
        (&["-vv", "profile", "show", "p"], false),
        (&["-vv", "profile", "list"], false),
        (&["-vv", "shell-init", "bash"], false),
        (
            &[
                "-vv",
                "setup",
                "p",
                "--resource-id",
                "db-ABCDEFGHIJKLMNOP",
                "--account",
                "123456789012",
            ],
            false,
        ),
        (&["-vv", "doctor", "p"], false),
        (&["-vv", "ca", "path"], false),
        (
            &["-vv", "token", "--host", "bad host", "--user", "app"],
            false,
        ),
        (&["-vv", "token", "p", "--region", "mars-1"], false),
        (
            &["-vv", "token", "p", "--aws-profile", "nonexistent"],
            false,
        ),
        (&["-vv", "exec", "p", "--", "sh", "-c", "exit 3"], false),
    ];
    let mut outputs = Vec::new();
    for (args, may_print) in commands {
        let run = sb.run(args);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        if *may_print {
            note(&run.stdout);
        }
        outputs.push((args.join(" "), *may_print, run));
    }
    // inspect, reading the token from stdin: the report never repeats its secrets.
    let token = sb.run(&["token", "p"]).ok().token().to_string();
    note(&token);
    let inspected = Run::with_input(&mut sb.iamdb(&["-vv", "inspect", "-"]), token.as_bytes());
    outputs.push(("inspect -".to_string(), false, inspected));
    // And cache clear, last.
    let cleared = sb.run(&["-vv", "cache", "clear"]);
    outputs.push(("cache clear".to_string(), false, cleared));

    assert!(!signatures.is_empty());
    for (args, may_print, run) in &outputs {
        let mut secrets = vec![SECRET, SESSION];
        secrets.extend(signatures.iter().map(String::as_str));
        for secret in &secrets {
            assert!(
                !run.stderr.contains(secret),
                "{args:?} logged a secret:\n{}",
                run.stderr
            );
            assert!(
                *may_print || !run.stdout.contains(secret),
                "{args:?} printed a secret:\n{}",
                run.stdout
            );
        }
        assert!(
            !run.stdout.contains(SECRET),
            "{args:?} printed the secret key"
        );
    }

    // Files: the secret key is nowhere; tokens (which carry the session token) only in the
    // 0600 files iamdb owns, in private directories.
    let allowed = [
        sb.home().join(".pgpass"),
        sb.root.join("config/iamdb/my.cnf"),
    ];
    let cache = sb.root.join("runtime/iamdb/cache");
    let mut files = Vec::new();
    files_under(&sb.root, &mut files);
    let mut holders = 0;
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(SECRET),
            "{} holds the secret key",
            file.display()
        );
        let holds = text.contains(SESSION) || signatures.iter().any(|s| text.contains(s.as_str()));
        if !holds {
            continue;
        }
        holders += 1;
        assert!(
            allowed.contains(&file) || file.starts_with(&cache),
            "{} holds a token",
            file.display()
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().mode() & 0o777,
            0o600,
            "{}",
            file.display()
        );
    }
    assert!(holders >= 2, "the synced files hold tokens");
    assert_eq!(
        std::fs::metadata(sb.root.join("runtime/iamdb"))
            .unwrap()
            .mode()
            & 0o777,
        0o700
    );
}

#[test]
fn a_file_that_cannot_be_written_exits_3_from_every_command() {
    // One failure, one exit code: every command that writes a file says which file and why,
    // on one line, and exits 3 (the README's table), whatever the file is.
    let mut sb = Sandbox::new("unwritable").with_env_keys();
    sb.write_config(
        "[profiles.pg]\nengine = \"postgres\"\nhost = \"db.abc.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n\
         [profiles.my]\nengine = \"mysql\"\nhost = \"my.abc.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n",
    );
    // A regular file where a directory should be: nothing can be created below it, not even
    // by root.
    let blocker = sb.root.join("blocker");
    std::fs::write(&blocker, "a file").unwrap();
    let under = |name: &str| blocker.join(name).display().to_string();

    sb.set("PGPASSFILE", under("pgpass"));
    sb.set("PGSERVICEFILE", under("pg_service.conf"));
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["pgpass".into(), "sync".into(), "pg".into()],
            under("pgpass"),
        ),
        (
            vec!["pgservice".into(), "sync".into(), "pg".into()],
            under("pg_service.conf"),
        ),
        (vec!["man".into(), under("man")], under("man")),
        (vec!["ca".into(), "install".into()], under("data")),
        (
            vec![
                "--config".into(),
                under("config.toml"),
                "profile".into(),
                "add".into(),
                "new".into(),
                "--host".into(),
                "db.abc.eu-west-1.rds.amazonaws.com".into(),
                "--user".into(),
                "app".into(),
                "--engine".into(),
                "postgres".into(),
            ],
            under("config.toml"),
        ),
    ];
    let blocked = format!("{} is a regular file, not a directory", blocker.display());
    for (args, path) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if args[0] == "ca" {
            sb.set("XDG_DATA_HOME", under("data"));
        }
        let run = sb.run(&args).fails(3);
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("iamdb: error: ")
                && first.contains(path.as_str())
                && first.contains(&blocked),
            "{args:?} names {path} and what is in the way: {}",
            run.stderr
        );
        let rest: Vec<&str> = run.stderr.lines().skip(1).collect();
        assert!(
            rest.iter().all(|l| l.starts_with("  hint: ")),
            "{args:?}: one error line, then hints only: {}",
            run.stderr
        );
    }

    // The MySQL option file: iamdb's own my.cnf below a config directory that is a file.
    let mut sb2 = Sandbox::new("unwritable-my").with_env_keys();
    let config = sb2.root.join("config-file");
    std::fs::write(&config, "a file").unwrap();
    let cfg = sb2.root.join("iamdb.toml");
    std::fs::write(
        &cfg,
        "[profiles.my]\nengine = \"mysql\"\nhost = \"my.abc.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n",
    )
    .unwrap();
    sb2.set("XDG_CONFIG_HOME", config.display().to_string());
    let cfg = cfg.display().to_string();
    let run = sb2.run(&["--config", &cfg, "mycnf", "sync", "my"]).fails(3);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&config.display().to_string()),
        "names the directory it could not write below: {}",
        run.stderr
    );
}
