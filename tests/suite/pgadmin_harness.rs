//! The pgAdmin 4 harness itself (common/pgadmin.rs, tests/support/pgadmin.py), before any iamdb
//! test relies on it, without iamdb: real pgAdmin loads a hand-written servers.json in the shape
//! iamdb writes, dumps it back, runs its password command in the sandbox's environment through
//! its own PasswordExec, and refuses a file it does not accept.

use crate::common::pgadmin::{self, PgAdmin};
use crate::common::*;
use serde_json::json;

#[test]
fn pgadmin_loads_servers_json_and_runs_its_password_command() {
    if !pgadmin::available() {
        return;
    }
    let sandbox = Sandbox::new("pgadmin-harness");
    // desktop-mode pgAdmin drops a TLS file parameter whose file does not exist.
    let ca = sandbox.root.join("ca.pem");
    std::fs::write(&ca, "not read: nothing connects\n").unwrap();
    let ca = ca.display().to_string();
    // The password on stdout; where the command ran and its HOME in a file (relative: the
    // command runs in the sandbox's directory).
    let command = r#"printf '%s\n' "$PWD" "$HOME" > passexec.seen; printf 'secret-pw\n'"#;
    let params = json!({
        "sslmode": "verify-full", "sslrootcert": ca, "hostaddr": "127.0.0.1", "connect_timeout": 10,
    });
    let servers = json!({"Servers": {"1": {
        "Name": "harness", "Group": "iamdb", "Host": HOST, "Port": 5432,
        "MaintenanceDB": "postgres", "Username": "app", "ConnectionParameters": params,
        "PasswordExecCommand": command, "PasswordExecExpiration": 600,
    }}});
    let file = sandbox.root.join("servers.json");
    std::fs::write(&file, servers.to_string()).unwrap();

    let admin = PgAdmin::new(&sandbox);
    admin.load(&sandbox, &file);

    // pgAdmin's own dump: every field as written (plus pgAdmin's defaults).
    let dump = admin.dump(&sandbox);
    let dumped = dump["Servers"].as_object().unwrap();
    assert_eq!(dumped.len(), 1, "{dump:#}");
    let server = &dumped["1"];
    for key in [
        "Name",
        "Group",
        "Host",
        "Port",
        "MaintenanceDB",
        "Username",
        "ConnectionParameters",
        "PasswordExecCommand",
        "PasswordExecExpiration",
    ] {
        assert_eq!(server[key], servers["Servers"]["1"][key], "{key}: {dump:#}");
    }

    // pgAdmin's PasswordExec, in the sandbox.
    let got = admin.password(&sandbox, "harness");
    assert_eq!(got.password, "secret-pw");
    let stored = &got.server;
    assert_eq!(stored["host"], HOST);
    assert_eq!(stored["port"], 5432);
    assert_eq!(stored["maintenance_db"], "postgres");
    assert_eq!(stored["username"], "app");
    assert_eq!(stored["connection_params"], params);
    assert_eq!(stored["passexec_expiration"], 600);
    let conninfo = stored["conninfo"].as_str().unwrap();
    for part in [
        format!("host={HOST} "),
        "port=5432 ".into(),
        "user=app ".into(),
        "sslmode=verify-full ".into(),
        format!("sslrootcert={ca} "),
        "hostaddr=127.0.0.1 ".into(),
    ] {
        assert!(conninfo.contains(&part), "{part:?} not in {conninfo}");
    }
    assert!(!conninfo.contains("password"), "{conninfo}");
    let seen = std::fs::read_to_string(sandbox.root.join("passexec.seen")).unwrap();
    assert_eq!(
        seen,
        format!("{}\n{}\n", sandbox.root.display(), sandbox.home().display())
    );

    // A file pgAdmin refuses: the refusal reaches the test.
    let mut bad = servers.clone();
    bad["Servers"]["1"]["Port"] = json!("5432");
    let bad_file = sandbox.root.join("bad.json");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let refused = admin.try_load(&sandbox, &bad_file);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .contains("Port must be integer for server '1'"),
        "{}",
        refused.stderr
    );
}
