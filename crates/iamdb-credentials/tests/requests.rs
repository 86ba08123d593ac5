//! The helper's side of the protocol: one JSON request on stdin, one JSON answer on stdout,
//! whatever the request.

use std::io::Write;
use std::process::{Command, Stdio};

const HELPER: &str = env!("CARGO_BIN_EXE_iamdb-credentials");

fn ask(input: &str) -> serde_json::Value {
    let mut child = Command::new(HELPER)
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_request_gets_one_answer_with_the_protocol_version() {
    let answer = ask(
        "{\"protocol\": 99, \"verbose\": 0, \"call\": {\"type\": \"fetch_bundle\", \"url\": \"x\"}}",
    );
    assert_eq!(answer["protocol"], iamdb_core::protocol::VERSION);
    assert!(
        answer["program"]
            .as_str()
            .unwrap()
            .starts_with("iamdb-credentials ")
    );
    assert_eq!(answer["error"]["kind"], "install");
    assert_eq!(answer["error"]["exit_code"], 7);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the request was version 99")
    );

    let answer = ask("not json");
    assert_eq!(answer["error"]["kind"], "usage");

    // A request iamdb would send: static keys of a profile that does not exist here.
    let answer = ask(&format!(
        "{{\"protocol\": {}, \"verbose\": 0, \"call\": {{\"type\": \"credentials\", \"aws_profile\": \"nowhere\", \"need_region\": false, \"sts_region\": null}}}}",
        iamdb_core::protocol::VERSION
    ));
    assert_eq!(answer["error"]["kind"], "credentials", "{answer}");
    assert!(answer["ok"].is_null());
}

#[test]
fn arguments_are_refused_and_the_version_is_printed() {
    let out = Command::new(HELPER).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("iamdb-credentials 0."));
    let out = Command::new(HELPER).arg("--aws-profile").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
