//! `iamdb token`: errors that name the flag and exit with the documented code, JSON output,
//! flags over the profile, and a closed pipe.

use crate::common::*;

#[test]
fn token_usage_errors_name_the_flag() {
    let sb = Sandbox::new("usage").with_env_keys();
    sb.write_config(&format!(
        "[profiles.production]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n"
    ));
    for (args, code, want) in [
        (&["token"][..], 2, "no host given: give --host"),
        (&["token", "--host", HOST], 2, "no user given: give --user"),
        (
            &["token", "--host", HOST, "--user", "u"],
            2,
            "give --port or --engine",
        ),
        (
            &["token", "--host", "db host", "--user", "u", "--port", "1"],
            2,
            "--host contains ' '",
        ),
        (
            &["token", "--host", HOST, "--user", "", "--port", "1"],
            2,
            "--user is empty",
        ),
        (
            &["token", "--host", HOST, "--user", "a\nb", "--port", "1"],
            2,
            "control character",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--port", "0"],
            2,
            "--port must be between 1 and 65535, not 0",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--port", "70000"],
            2,
            "70000",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--engine", "oracle"],
            2,
            "invalid value 'oracle'",
        ),
        (&["token", "producton"], 3, "no profile named 'producton'"),
        (&["token", "producton"], 3, "did you mean 'production'"),
        (
            &["token", "production", "--format", "yaml"],
            2,
            "invalid value 'yaml'",
        ),
    ] {
        let run = sb.run(args).fails(code);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn json_output_has_every_field() {
    let sb = Sandbox::new("json").with_env_keys();
    let doc = sb
        .run(&[
            "token", "--host", HOST, "--engine", "postgres", "--user", "app", "--format", "json",
        ])
        .ok()
        .json();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "cached",
            "expires_at",
            "host",
            "port",
            "profile",
            "region",
            "token",
            "user"
        ]
    );
    assert_eq!(doc["profile"], serde_json::Value::Null);
    assert_eq!(doc["region"], "eu-west-1");
    assert_eq!(doc["port"], 5432);
    let expires = doc["expires_at"].as_str().unwrap();
    assert!(
        expires.len() == 20 && expires.ends_with('Z') && expires.contains('T'),
        "{expires}"
    );
}

#[test]
fn text_is_one_line_and_raw_has_no_newline() {
    let sb = Sandbox::new("raw").with_env_keys();
    let args = [
        "token", "--host", HOST, "--engine", "postgres", "--user", "app",
    ];
    let text = sb.run(&args).ok().stdout;
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "{text:?}"
    );
    let raw = sb
        .run(&[&args[..], &["--format", "raw"]].concat())
        .ok()
        .stdout;
    assert_eq!(
        raw,
        text.trim_end(),
        "the cached token, without its newline"
    );
    assert!(!raw.contains(['\n', '\r']));
}

#[test]
fn flags_override_the_profile() {
    let sb = Sandbox::new("override").with_env_keys();
    sb.write_config(&format!("[profiles.db]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\nregion = \"eu-west-1\"\n"));
    let doc = sb
        .run(&[
            "token",
            "db",
            "--user",
            "admin",
            "--port",
            "6432",
            "--format",
            "json",
            "--no-cache",
        ])
        .ok()
        .json();
    assert_eq!(
        (doc["user"].as_str(), doc["port"].as_i64()),
        (Some("admin"), Some(6432))
    );
    assert!(
        doc["token"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{HOST}:6432/?Action=connect&DBUser=admin&"))
    );

    // A region that contradicts the host is used, with a warning: the login would fail.
    let run = sb
        .run(&["token", "db", "--region", "us-east-1", "--no-cache"])
        .ok();
    assert!(
        run.stderr
            .contains("warning: signing for region us-east-1, but"),
        "{}",
        run.stderr
    );
    assert!(run.token().contains("%2Fus-east-1%2Frds-db"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let sb = Sandbox::new("pipe").with_env_keys();
    let out = sb
        .command("sh")
        .args(["-c", &format!("{BIN} token --host {HOST} --engine postgres --user app --no-cache | head -c 5; echo \" rc=${{PIPESTATUS:-0}}\"")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("db1.c"));
}
