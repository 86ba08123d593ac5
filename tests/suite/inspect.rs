//! `iamdb inspect` on tokens made by iamdb itself and by botocore, whole and damaged the
//! ways tokens get damaged in practice: expired, cut at the first `:` by an unescaped
//! .pgpass line, signed by a clock in the future. The signature and the session token never
//! appear in what it prints.

use crate::common::*;

const HOST: &str = "db1.c9akciq32.eu-west-1.rds.amazonaws.com";

fn inspect(sb: &Sandbox, token: &str, args: &[&str]) -> Run {
    Run::with_input(
        &mut sb.iamdb(&[&["inspect"], args].concat()),
        token.as_bytes(),
    )
}

fn make(sb: &Sandbox, at: &str) -> String {
    let args = [
        "token",
        "--host",
        HOST,
        "--engine",
        "postgres",
        "--user",
        "app",
        "--no-cache",
    ];
    let run = if at.is_empty() {
        sb.run(&args)
    } else {
        sb.run_at(at, &args)
    };
    run.ok().token().to_string()
}

#[test]
fn a_fresh_token_reads_back_without_its_secrets() {
    let mut sb = Sandbox::new("inspect-fresh").with_env_keys();
    sb.set("AWS_SESSION_TOKEN", "FQoGZXIvYXdzEXAMPLESESSION");
    let token = make(&sb, "");
    let run = inspect(&sb, &format!("{token}\n"), &[]).ok();
    let out = &run.stdout;
    assert!(out.contains(&format!("endpoint     {HOST}:5432")), "{out}");
    assert!(out.contains("user         app\n"), "{out}");
    assert!(out.contains("region       eu-west-1\n"), "{out}");
    assert!(out.contains("access key   AKIA…MPLE\n"), "{out}");
    assert!(out.contains("with a session token"), "{out}");
    assert!(
        out.contains("(in 14m 5") || out.contains("(in 15m 00s)"),
        "{out}"
    );
    assert!(out.contains("ok: nothing wrong"), "{out}");
    let signature = param(&token, "X-Amz-Signature").unwrap();
    for secret in [signature, "FQoGZXIvYXdzEXAMPLESESSION", AKID, SECRET] {
        assert!(!out.contains(secret), "{secret} in {out}");
    }

    let json = inspect(&sb, &token, &["--format", "json"]).ok().json();
    assert_eq!(json["usable"], true);
    assert_eq!(json["port"], 5432);
    assert_eq!(json["session_token"], true);
    assert!(json["expires_in"].as_i64().unwrap() > 800, "{json}");
    assert!(!json.to_string().contains(signature));

    // The argument works too (`-` is stdin).
    sb.run(&["inspect", &token]).ok();
}

#[test]
fn damaged_tokens_are_named_and_exit_6() {
    if !require_faketime() {
        return;
    }
    let sb = Sandbox::new("inspect-damaged").with_env_keys();
    let expired = make(&sb, "-1000");
    let future = make(&sb, "+3600");
    let good = make(&sb, "");
    let cases = [
        (expired.as_str(), "expired 1m 4"),
        (future.as_str(), "in the future"),
        // What libpq reads from an unescaped .pgpass line: the token up to its first ':'.
        (good.split(':').next().unwrap(), "unescaped `:`"),
        (&good[..good.len() - 10], "signature has 54 characters"),
        ("", "empty input"),
    ];
    for (token, want) in cases {
        let run = inspect(&sb, token, &[]).fails(6);
        assert!(run.stdout.contains(want), "{want}: {}", run.stdout);
        assert_eq!(run.stderr, "", "the report is the message");
    }
    let json = inspect(&sb, &expired, &["--format", "json"])
        .fails(6)
        .json();
    assert_eq!(json["usable"], false);
    assert!(json["expires_in"].as_i64().unwrap() < -60, "{json}");
}

#[test]
fn botocore_tokens_read_the_same() {
    if !require("python3") || !require_faketime() {
        return;
    }
    let sb = Sandbox::new("inspect-boto").with_env_keys();
    let instant = "2026-11-21 10:00:00";
    let boto = botocore_tokens(
        instant,
        &[BotoCase {
            host: "proxy.proxy-c9akciq32.ap-south-1.rds.amazonaws.com",
            port: 3306,
            user: "weird user:#",
            region: "ap-south-1",
            access_key: AKID,
            secret_key: SECRET,
            session_token: None,
        }],
    );
    let json = inspect(&sb, &boto[0], &["--format", "json"]).json();
    assert_eq!(
        json["host"],
        "proxy.proxy-c9akciq32.ap-south-1.rds.amazonaws.com"
    );
    assert_eq!(json["user"], "weird user:#");
    assert_eq!(json["region"], "ap-south-1");
    assert_eq!(json["signed_at"], "2026-11-21T10:00:00Z");
    assert_eq!(json["expires_at"], "2026-11-21T10:15:00Z");
    assert_eq!(json["credentials"], "long-term");
}

#[test]
fn oversized_input_is_refused() {
    let sb = Sandbox::new("inspect-big");
    let run = inspect(&sb, &"x".repeat(70_000), &[]).fails(2);
    assert!(run.stderr.contains("not a token"), "{}", run.stderr);
}

#[test]
fn text_that_is_no_token_is_called_so() {
    let sb = Sandbox::new("inspect-word");
    // `echo hello | iamdb inspect`: not a token at all, not one cut in a .pgpass.
    let run = inspect(&sb, "hello\n", &[]).fails(6);
    assert!(
        run.stdout.contains("problem: not an IAM token"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(".pgpass"), "{}", run.stdout);
    assert!(run.stdout.contains("endpoint     -\n"), "{}", run.stdout);
    assert_eq!(run.stderr, "", "the report is the message");
    let json = inspect(&sb, "hello\n", &["--format", "json"])
        .fails(6)
        .json();
    assert_eq!(json["usable"], false);
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("not an IAM token"),
        "{json}"
    );
    // A token cut at its first `:` is still named for what it is.
    let run = inspect(&sb, &format!("{HOST}\n"), &[]).fails(6);
    assert!(run.stdout.contains("unescaped `:`"), "{}", run.stdout);
}
