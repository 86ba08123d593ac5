//! Network failures on the way to AWS, each said in one line that names the endpoint and the
//! cause, with a hint that fits it: a name that does not resolve, a closed port, a server that
//! never answers, one that answers HTTP 503, and one that does not speak TLS, behind an
//! assume-role profile (aws-config's STS call), an MFA role (iamdb's own AssumeRole) and
//! `setup` (STS GetCallerIdentity). The SDK's error chain is kept for `-v`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::common::*;

/// What the SDK's errors are made of: none of it is for the person at the terminal.
const INTERNALS: &[&str] = &[
    "DispatchFailure",
    "dispatch failure",
    "ConnectorError",
    "hyper",
    "io error",
];

/// A sandbox whose AWS profile `db-role` assumes a role from the keys of profile `base`,
/// through aws-config, with STS at `sts`.
fn role_sandbox(name: &str, sts: &str) -> Sandbox {
    let mut sb = Sandbox::new(name);
    sb.set("AWS_ENDPOINT_URL_STS", sts);
    sb.write_aws_config(
        "[profile base]\naws_access_key_id = AKIANETWORKBASE00001\naws_secret_access_key = base-secret\n\n\
         [profile db-role]\nrole_arn = arn:aws:iam::123456789012:role/db-connect\nsource_profile = base\nregion = eu-west-1\n",
    );
    sb
}

fn token(sb: &Sandbox, verbose: bool) -> Run {
    let mut args = vec![
        "token",
        "--no-cache",
        "--host",
        HOST,
        "--engine",
        "postgres",
        "--user",
        "app",
        "--aws-profile",
        "db-role",
    ];
    if verbose {
        args.insert(0, "-v");
    }
    sb.run(&args)
}

/// Exit 4, nothing on stdout, and on stderr one error line that says all of `says`, then at
/// most one `hint:` line that says all of `hint_says`; none of the SDK's internals, and no
/// advice to check the credentials.
#[track_caller]
fn assert_one_line(run: Run, says: &[&str], hint_says: &[&str]) {
    let run = run.fails(4);
    assert!(run.stdout.is_empty(), "printed {}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        !lines.is_empty() && lines.len() <= 2,
        "one error line and at most one hint:\n{}",
        run.stderr
    );
    assert!(lines[0].starts_with("iamdb: error: "), "{}", run.stderr);
    for s in says {
        assert!(lines[0].contains(s), "missing {s:?}:\n{}", run.stderr);
    }
    let hint = lines.get(1).copied().unwrap_or_default();
    assert!(hint.trim_start().starts_with("hint: "), "{}", run.stderr);
    for s in hint_says {
        assert!(hint.contains(s), "hint missing {s:?}:\n{}", run.stderr);
    }
    for internal in INTERNALS {
        assert!(
            !run.stderr.contains(internal),
            "shows {internal:?}:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.stderr.contains("get-caller-identity")
            && !run.stderr.contains("check your credentials"),
        "blames the credentials:\n{}",
        run.stderr
    );
}

/// `-v` keeps what the one line leaves out.
#[track_caller]
fn assert_verbose_keeps(run: Run, raw: &[&str]) {
    let run = run.fails(4);
    for r in raw {
        assert!(run.stderr.contains(r), "-v lacks {r:?}:\n{}", run.stderr);
    }
}

/// A loopback server that serves each connection with `serve` on a thread of its own, for
/// as long as the test binary runs; its port.
fn loopback(serve: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn));
        }
    });
    port
}

/// Reads one HTTP request, body included (a socket closed with unread input is reset, and
/// the client would see that instead of the answer).
fn read_request(conn: &mut TcpStream) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Accepts, reads the request, and never answers (the connection stays open).
fn never_answer(mut conn: TcpStream) {
    read_request(&mut conn);
    std::thread::sleep(Duration::from_secs(600));
}

/// Answers every request (or whatever comes) with 503 and a body that is no AWS error.
fn unavailable(mut conn: TcpStream) {
    read_request(&mut conn);
    let _ = conn.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nmaintenance\n",
    );
}

/// Answers the first bytes it gets (a TLS ClientHello too) with plain HTTP.
fn plain_http(mut conn: TcpStream) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let _ = conn.read(&mut [0u8; 4096]);
    let _ = conn.write_all(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    std::thread::sleep(Duration::from_millis(500));
}

#[test]
fn an_sts_name_that_does_not_resolve_is_said_to_be_dns() {
    let sb = role_sandbox("net-dns", "http://sts.nowhere.invalid");
    assert_one_line(
        token(&sb, false),
        &["db-role", "cannot resolve sts.nowhere.invalid (DNS)"],
        &["AWS_ENDPOINT_URL_STS", "VPN", "not about the credentials"],
    );
    assert_verbose_keeps(token(&sb, true), &["DispatchFailure", "dns error"]);
}

#[test]
fn a_closed_sts_port_is_a_refused_connection() {
    let port = free_port();
    let sb = role_sandbox("net-refused", &format!("http://127.0.0.1:{port}"));
    assert_one_line(
        token(&sb, false),
        &[
            "db-role",
            &format!("connection refused by 127.0.0.1:{port}"),
        ],
        &["AWS_ENDPOINT_URL_STS"],
    );
    assert_verbose_keeps(token(&sb, true), &["DispatchFailure", "ConnectionRefused"]);
}

#[test]
fn an_sts_that_never_answers_is_named_with_the_time_waited() {
    let port = loopback(never_answer);
    let mut sb = role_sandbox("net-hang", &format!("http://127.0.0.1:{port}"));
    sb.set("IAMDB_CREDENTIALS_TIMEOUT", "2");
    let start = Instant::now();
    assert_one_line(
        token(&sb, false),
        &[
            "db-role",
            &format!("no answer from 127.0.0.1:{port} within 2 s"),
        ],
        &["firewall"],
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_verbose_keeps(
        token(&sb, true),
        &[
            "the request sent there had no answer",
            &format!("http://127.0.0.1:{port}"),
        ],
    );
}

#[test]
fn an_sts_that_answers_503_is_named_with_the_status() {
    let port = loopback(unavailable);
    let sb = role_sandbox("net-503", &format!("http://127.0.0.1:{port}"));
    assert_one_line(
        token(&sb, false),
        &["db-role", &format!("127.0.0.1:{port} answered HTTP 503")],
        &["try again later"],
    );
    assert_verbose_keeps(token(&sb, true), &["ServiceError", "StatusCode(503)"]);
}

#[test]
fn https_to_a_plain_http_server_is_a_failed_tls_handshake() {
    let port = loopback(plain_http);
    let sb = role_sandbox("net-tls", &format!("https://127.0.0.1:{port}"));
    assert_one_line(
        token(&sb, false),
        &[&format!(
            "TLS handshake with 127.0.0.1:{port} failed: the answer is not TLS"
        )],
        &["https://", "SSL_CERT_FILE"],
    );
    assert_verbose_keeps(token(&sb, true), &["DispatchFailure", "InvalidContentType"]);
}

#[test]
fn an_mfa_roles_assume_role_names_the_refusing_endpoint() {
    // iamdb assumes roles with an MFA device itself, with its own STS client.
    let port = free_port();
    let mut sb = Sandbox::new("net-mfa");
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{port}"));
    sb.write_aws_config(
        "[profile base]\naws_access_key_id = AKIANETWORKBASE00001\naws_secret_access_key = base-secret\n\n\
         [profile db-role]\nrole_arn = arn:aws:iam::123456789012:role/db-connect\nsource_profile = base\n\
         mfa_serial = arn:aws:iam::123456789012:mfa/alice\nmfa_process = echo 123456\nregion = eu-west-1\n",
    );
    assert_one_line(
        token(&sb, false),
        &[
            "AssumeRole of arn:aws:iam::123456789012:role/db-connect for AWS profile 'db-role' failed",
            &format!("connection refused by 127.0.0.1:{port}"),
        ],
        &["AWS_ENDPOINT_URL_STS"],
    );
    assert_verbose_keeps(token(&sb, true), &["DispatchFailure", "ConnectionRefused"]);
}

#[test]
fn setups_sts_call_names_the_endpoint_it_could_not_resolve() {
    let mut sb = Sandbox::new("net-setup").with_env_keys();
    sb.set("AWS_ENDPOINT_URL_STS", "http://sts.nowhere.invalid:8080");
    sb.write_config(&format!(
        "[profiles.p]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n"
    ));
    assert_one_line(
        sb.run(&["setup", "p", "--resource-id", "db-ABCDEFGHIJKLMNOP"]),
        &["STS GetCallerIdentity failed: cannot resolve sts.nowhere.invalid (DNS)"],
        &["AWS_ENDPOINT_URL_STS"],
    );
}
