//! MFA role sessions: the code reaches STS (moto, its request recorder reading what was
//! sent), is asked for once and serves every profile on the role, from `mfa_process` or a real
//! pseudo-terminal; with no terminal iamdb fails at once; wrong codes and refusals are
//! explained and cache nothing; `iamdb login`, `cache list/clear` and `doctor` know sessions.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

fn role_arn(role: &str) -> String {
    format!("arn:aws:iam::123456789012:role/{role}")
}

/// A sandbox whose AWS profile `dba` assumes `role/<role>` with an MFA device, from the keys
/// of AWS profile `base`, STS being moto (or `sts`).
fn mfa_sandbox(name: &str, role: &str, sts: Option<&str>, extra_aws: &str) -> Sandbox {
    let mut sb = Sandbox::new(name);
    let sts = sts.map_or_else(|| format!("http://127.0.0.1:{}", moto()), String::from);
    sb.set("AWS_ENDPOINT_URL_STS", sts);
    sb.write_aws_config(&format!(
        "[profile base]\nregion = eu-west-1\n\n\
         [profile dba]\nrole_arn = {}\nsource_profile = base\nmfa_serial = {SERIAL}\nregion = eu-west-1\n{extra_aws}",
        role_arn(role)
    ));
    sb.write_aws_credentials(
        "[base]\naws_access_key_id = AKIAMFABASEKEY000001\naws_secret_access_key = base-secret-key\n",
    );
    sb
}

/// `[profiles.pN]` for N in 1..=n, all on AWS profile `dba`, each with `extra`.
fn profiles(n: usize, extra: &str) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "[profiles.p{i}]\nengine = \"postgres\"\nhost = \"db{i}.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\naws_profile = \"dba\"\n{extra}\n"
            )
        })
        .collect()
}

/// An `mfa_process` that prints `code` and counts its runs in `count`.
fn counting_process(count: &std::path::Path, code: &str) -> String {
    format!(
        "mfa_process = \"echo run >> '{}'; echo {code}\"\n",
        count.display()
    )
}

fn runs(count: &std::path::Path) -> usize {
    std::fs::read_to_string(count)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn token_json(sb: &Sandbox, profile: &str) -> serde_json::Value {
    sb.run(&["token", profile, "--format", "json"]).ok().json()
}

fn sessions(sb: &Sandbox) -> Vec<serde_json::Value> {
    let list = sb.run(&["cache", "list", "--format", "json"]).ok().json();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "session")
        .cloned()
        .collect()
}

#[test]
fn one_code_reaches_sts_and_its_session_serves_every_profile_on_the_role() {
    let sb = mfa_sandbox("mfa-once", "mfa-once", None, "");
    let count = sb.root.join("count");
    sb.write_config(&profiles(2, &counting_process(&count, "123456")));

    let first = token_json(&sb, "p1");
    assert_eq!(first["cached"], false);
    assert_eq!(runs(&count), 1, "mfa_process ran once");
    let calls = sts_requests("AssumeRole", &role_arn("mfa-once"));
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["SerialNumber"], SERIAL);
    assert_eq!(calls[0]["TokenCode"], "123456");
    assert_eq!(calls[0]["DurationSeconds"], "3600");

    // The token is signed with the role session's keys, not the base keys.
    let token = first["token"].as_str().unwrap();
    let credential = param(token, "X-Amz-Credential").unwrap();
    assert!(credential.starts_with("ASIA"), "{credential}");
    assert!(param(token, "X-Amz-Security-Token").is_some());

    // Another database profile on the same role: no code, no STS call.
    let second = token_json(&sb, "p2");
    assert_eq!(second["cached"], false);
    assert_eq!(runs(&count), 1, "no second code");
    assert_eq!(sts_requests("AssumeRole", &role_arn("mfa-once")).len(), 1);
    let key = param(second["token"].as_str().unwrap(), "X-Amz-Credential").unwrap();
    assert_eq!(
        key.split("%2F").next(),
        credential.split("%2F").next(),
        "the same session's key"
    );

    let cached = sessions(&sb);
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert_eq!(cached[0]["aws_profile"], "dba");
    assert_eq!(cached[0]["role_arn"], role_arn("mfa-once"));
    assert_eq!(cached[0]["mfa_serial"], SERIAL);
    let left = cached[0]["expires_in"].as_i64().unwrap();
    assert!((3500..=3600).contains(&left), "{left}");

    // `cache list` never shows a secret of the session.
    let access_key = credential.split("%2F").next().unwrap();
    let (secret, session_token) = moto_credentials(moto(), access_key);
    let text = sb.run(&["cache", "list"]).ok();
    assert!(text.stdout.contains("AWS PROFILE (MFA)"), "{}", text.stdout);
    assert!(
        text.stdout.contains(&role_arn("mfa-once")),
        "{}",
        text.stdout
    );
    let json = sb.run(&["cache", "list", "--format", "json"]).ok();
    for shown in [&text.stdout, &json.stdout] {
        assert!(!shown.contains(&secret) && !shown.contains(&session_token));
    }
    // Nor is the session in a file anyone else could read: the kernel keyring holds it here.
    let file_cache = sb.root.join("runtime/iamdb/cache");
    assert!(
        !file_cache.exists() || std::fs::read_dir(&file_cache).unwrap().next().is_none(),
        "nothing in the file cache while the keyring works"
    );
}

#[test]
fn the_file_store_keeps_sessions_private() {
    use std::os::unix::fs::PermissionsExt;
    let mut sb = mfa_sandbox("mfa-file", "mfa-file", None, "");
    sb.set("IAMDB_CACHE", "file");
    let count = sb.root.join("count");
    sb.write_config(&profiles(1, &counting_process(&count, "123456")));
    token_json(&sb, "p1");
    let dir = sb.root.join("runtime/iamdb/cache");
    let session = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("@session"))
        .expect("a session file");
    let mode = std::fs::metadata(&session).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
}

#[test]
fn the_session_caps_the_tokens_signed_from_it() {
    require_faketime();
    // A 15-minute session: a token signed from it 4 minutes later ends with the session.
    let sb = mfa_sandbox("mfa-cap", "mfa-cap", None, "duration_seconds = 900\n");
    let count = sb.root.join("count");
    sb.write_config(&profiles(2, &counting_process(&count, "123456")));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = |secs: u64| {
        let out = Command::new("date")
            .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d %H:%M:%S"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    sb.run_at(&at(now), &["token", "p1"]).ok();
    assert_eq!(
        sts_requests("AssumeRole", &role_arn("mfa-cap"))[0]["DurationSeconds"],
        "900"
    );
    let session_end = sessions(&sb)[0]["expires_at"].as_u64().unwrap();
    let later = sb
        .run_at(&at(now + 240), &["token", "p2", "--format", "json"])
        .ok()
        .json();
    assert_eq!(runs(&count), 1, "the session still had 11 minutes");
    let expires = later["expires_at"].as_str().unwrap();
    let out = Command::new("date")
        .args(["-u", "-d", expires, "+%s"])
        .output()
        .unwrap();
    let expires: u64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(expires, session_end, "the token ends with its session");
    assert!(expires < now + 240 + 900);

    // Within 5 minutes of its end the session is not served: a new code is asked for.
    sb.run_at(&at(session_end - 299), &["token", "p2", "--refresh"])
        .ok();
    assert_eq!(runs(&count), 2);
    assert_eq!(sts_requests("AssumeRole", &role_arn("mfa-cap")).len(), 2);
}

#[test]
fn a_session_is_never_served_to_other_source_keys() {
    let sb = mfa_sandbox("mfa-keys", "mfa-keys", None, "");
    let count = sb.root.join("count");
    sb.write_config(&profiles(2, &counting_process(&count, "123456")));
    token_json(&sb, "p1");
    sb.write_aws_credentials(
        "[base]\naws_access_key_id = AKIAMFAOTHERKEY00002\naws_secret_access_key = other-secret\n",
    );
    token_json(&sb, "p2");
    assert_eq!(runs(&count), 2, "other keys, another session, another code");
    let calls = sts_requests("AssumeRole", &role_arn("mfa-keys"));
    assert_eq!(calls.len(), 2);
    assert_eq!(sessions(&sb).len(), 2);
}

#[test]
fn ten_concurrent_calls_on_a_cold_profile_ask_once() {
    let sb = mfa_sandbox("mfa-ten", "mfa-ten", None, "");
    let count = sb.root.join("count");
    // A slow device: the others are all waiting by the time it answers.
    let process = format!(
        "mfa_process = \"sleep 1; echo run >> '{}'; echo 123456\"\n",
        count.display()
    );
    sb.write_config(&profiles(10, &process));
    let children: Vec<_> = (1..=10)
        .map(|i| {
            sb.iamdb(&["token", &format!("p{i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(runs(&count), 1, "one code for ten calls");
    assert_eq!(sts_requests("AssumeRole", &role_arn("mfa-ten")).len(), 1);
}

#[test]
fn without_a_terminal_or_mfa_process_it_fails_at_once_naming_both_fixes() {
    let sb = mfa_sandbox("mfa-notty", "mfa-notty", None, "");
    sb.write_config(&profiles(1, ""));
    let started = Instant::now();
    let mut c = sb.command("setsid");
    c.args([BIN, "token", "p1"]);
    let run = Run::from(c.output().unwrap()).fails(4);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    for part in [
        "AWS profile 'dba' needs an MFA code",
        SERIAL,
        "no terminal",
        "mfa_process",
        "`iamdb login p1`",
    ] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
    assert!(sts_requests("AssumeRole", &role_arn("mfa-notty")).is_empty());
}

/// A program on a real pseudo-terminal (`script`), its output read as it comes.
struct Terminal {
    child: Child,
    input: ChildStdin,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn start(sb: &Sandbox, command: &str) -> Terminal {
        require("script");
        let mut child = sb
            .command("script")
            .args(["-qfec", command, "/dev/null"])
            .env("SHELL", "/bin/sh")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let input = child.stdin.take().unwrap();
        Terminal {
            child,
            input,
            output,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal has shown `text` `times` times.
    fn wait_for(&self, text: &str, times: usize) {
        let start = Instant::now();
        while self.text().matches(text).count() < times {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never saw {text:?}; the terminal showed:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_text(&mut self, text: &str) {
        self.input.write_all(text.as_bytes()).unwrap();
        self.input.flush().unwrap();
    }

    fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), self.text())
    }
}

#[test]
fn the_terminal_is_asked_even_inside_a_command_substitution() {
    let sb = mfa_sandbox("mfa-tty", "mfa-tty", None, "");
    sb.write_config(&profiles(2, ""));
    let prompt = format!("MFA code for {SERIAL} (profile dba): ");
    // stdout is a pipe here, as in `PGPASSWORD=$(iamdb token p1) psql ...`.
    let mut term = Terminal::start(
        &sb,
        &format!("t=$({BIN} token p1) && echo \"token of ${{#t}} bytes\""),
    );
    term.wait_for(&prompt, 1);
    term.type_text("12345x\n");
    term.wait_for("the code is six digits", 1);
    term.type_text("654321\n");
    let (code, text) = term.finish();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("token of "), "{text}");
    let calls = sts_requests("AssumeRole", &role_arn("mfa-tty"));
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0]["TokenCode"], "654321",
        "the typed code reached STS"
    );

    // The second profile asks nothing, even on a terminal.
    let term = Terminal::start(&sb, &format!("{BIN} token p2 >/dev/null && echo done"));
    let (code, text) = term.finish();
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("MFA code"), "{text}");
}

#[test]
fn ctrl_c_at_the_prompt_exits_130_and_caches_nothing() {
    let sb = mfa_sandbox("mfa-ctrlc", "mfa-ctrlc", None, "");
    sb.write_config(&profiles(1, ""));
    let mut term = Terminal::start(&sb, &format!("{BIN} token p1"));
    term.wait_for("MFA code for", 1);
    term.type_text("\x03");
    let (code, text) = term.finish();
    assert_eq!(code, 130, "{text}");
    assert!(sessions(&sb).is_empty());
    assert!(
        sb.run(&["cache", "list", "--format", "json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(sts_requests("AssumeRole", &role_arn("mfa-ctrlc")).is_empty());
}

#[test]
fn login_makes_a_session_that_later_calls_use_without_a_terminal() {
    let sb = mfa_sandbox("mfa-login", "mfa-login", None, "");
    sb.write_config(&profiles(1, ""));

    // doctor says what is missing, and asks nothing.
    let mut c = sb.command("setsid");
    c.args([BIN, "doctor", "p1"]);
    let doctor = Run::from(c.output().unwrap()).fails(6);
    assert!(
        doctor.stdout.contains("needs an MFA code") && doctor.stdout.contains("iamdb login p1"),
        "{}",
        doctor.stdout
    );

    let mut term = Terminal::start(&sb, &format!("{BIN} login p1"));
    term.wait_for("MFA code for", 1);
    term.type_text("111111\n");
    let (code, text) = term.finish();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("MFA session for {}", role_arn("mfa-login")))
            && text.contains("valid until"),
        "{text}"
    );
    assert_eq!(sts_requests("AssumeRole", &role_arn("mfa-login")).len(), 1);

    // A refresher with no terminal now works.
    let mut c = sb.command("setsid");
    c.args([BIN, "token", "p1"]);
    Run::from(c.output().unwrap()).ok();
    assert_eq!(sts_requests("AssumeRole", &role_arn("mfa-login")).len(), 1);

    // doctor reports the session and its time left.
    let mut c = sb.command("setsid");
    c.args([BIN, "doctor", "p1"]);
    let doctor = Run::from(c.output().unwrap());
    let line = doctor
        .stdout
        .lines()
        .find(|l| l.contains("mfa session"))
        .unwrap_or_else(|| panic!("{}", doctor.stdout));
    assert!(
        line.contains("ok") && line.contains("valid for") && line.contains(&role_arn("mfa-login")),
        "{line}"
    );

    // login again: a new session, even though one is cached.
    let mut term = Terminal::start(&sb, &format!("{BIN} login --aws-profile dba"));
    term.wait_for("MFA code for", 1);
    term.type_text("222222\n");
    let (code, text) = term.finish();
    assert_eq!(code, 0, "{text}");
    let calls = sts_requests("AssumeRole", &role_arn("mfa-login"));
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["TokenCode"], "222222");

    // cache clear PROFILE removes its AWS profile's sessions.
    let cleared = sb.run(&["cache", "clear", "p1"]).ok();
    assert!(
        cleared.stdout.contains("role session"),
        "{}",
        cleared.stdout
    );
    assert!(sessions(&sb).is_empty());
}

#[test]
fn login_on_a_profile_without_mfa_says_so() {
    let mut sb = Sandbox::new("mfa-none").with_env_keys();
    sb.unset("AWS_PROFILE");
    sb.write_config(&format!(
        "[profiles.plain]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n"
    ));
    let run = sb.run(&["login", "plain"]).ok();
    assert!(
        run.stdout.contains("needs no MFA code") && run.stdout.contains("environment"),
        "{}",
        run.stdout
    );
}

#[test]
fn mfa_process_failures_name_the_command() {
    let sb = mfa_sandbox("mfa-proc", "mfa-proc", None, "");
    for (process, want) in [
        ("exit 3", "failed (exit status 3)"),
        ("true", "printed no MFA code"),
        ("echo not-a-code", "other than a six-digit MFA code"),
    ] {
        sb.write_config(&profiles(1, &format!("mfa_process = \"{process}\"\n")));
        let run = sb.run(&["token", "p1"]).fails(4);
        assert!(
            run.stderr.contains(&format!("mfa_process `{process}`")) && run.stderr.contains(want),
            "{process}: {}",
            run.stderr
        );
    }
    assert!(sts_requests("AssumeRole", &role_arn("mfa-proc")).is_empty());

    // The AWS profile's own mfa_process (aws-vault's key) serves when iamdb's sets none.
    let sb = mfa_sandbox(
        "mfa-awsproc",
        "mfa-awsproc",
        None,
        "mfa_process = echo 777777\n",
    );
    sb.write_config(&profiles(1, ""));
    sb.run(&["token", "p1"]).ok();
    assert_eq!(
        sts_requests("AssumeRole", &role_arn("mfa-awsproc"))[0]["TokenCode"],
        "777777"
    );
}

#[test]
fn a_role_chain_sends_the_code_on_its_mfa_hop_and_caches_every_hop_after_it() {
    let sb = mfa_sandbox(
        "mfa-chain",
        "mfa-chain-first",
        None,
        &format!(
            "\n[profile second]\nrole_arn = {}\nsource_profile = dba\nregion = eu-west-1\n",
            role_arn("mfa-chain-second")
        ),
    );
    let count = sb.root.join("count");
    let profile = profiles(2, &counting_process(&count, "123456")).replace("\"dba\"", "\"second\"");
    sb.write_config(&profile);
    token_json(&sb, "p1");
    token_json(&sb, "p2");
    let first = sts_requests("AssumeRole", &role_arn("mfa-chain-first"));
    let second = sts_requests("AssumeRole", &role_arn("mfa-chain-second"));
    assert_eq!((first.len(), second.len()), (1, 1), "{first:?} {second:?}");
    assert_eq!(first[0]["TokenCode"], "123456");
    assert!(!second[0].contains_key("TokenCode"));
    assert_eq!(runs(&count), 1);
}

fn bad_sts(mode: &str) -> String {
    let mut c = Command::new("python3");
    c.arg(support("bad_sts.py")).arg(mode);
    let port = spawn_helper(c, true).unwrap();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_wrong_code_and_a_refusal_are_explained_and_cache_nothing() {
    let sts = bad_sts("mfa-denied");
    let sb = mfa_sandbox("mfa-wrong", "mfa-wrong", Some(&sts), "");
    let count = sb.root.join("count");
    sb.write_config(&profiles(1, &counting_process(&count, "000000")));
    let run = sb.run(&["token", "p1"]).fails(4);
    assert!(
        run.stderr
            .contains(&format!("STS refused the MFA code for {SERIAL}"))
            && run.stderr.contains("MultiFactorAuthentication failed"),
        "{}",
        run.stderr
    );
    assert!(sessions(&sb).is_empty());
    // Nothing was kept: the next call asks again (once; it is never retried in a loop).
    sb.run(&["token", "p1"]).fails(4);
    assert_eq!(runs(&count), 2);

    let sts = bad_sts("denied");
    let sb = mfa_sandbox("mfa-denied", "denied-role", Some(&sts), "");
    sb.write_config(&profiles(1, &counting_process(&count, "123456")));
    let run = sb.run(&["token", "p1"]).fails(4);
    assert!(
        run.stderr.contains(&format!(
            "STS refused AssumeRole of {} for AWS profile 'dba' (with an MFA code from {SERIAL})",
            role_arn("denied-role")
        )) && run.stderr.contains("not authorized"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("trust policy"), "{}", run.stderr);
}
