//! `iamdb doctor` against real parts: moto's STS for the identity and the clock, the test
//! PostgreSQL and MariaDB servers for DNS, TCP and a verified TLS handshake (right CA, wrong
//! CA, nothing listening), libfaketime for a skewed clock.

use crate::common::*;
use serde_json::Value;

fn doctor(sb: &Sandbox, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["doctor", "--format", "json"];
    all.extend_from_slice(args);
    let run = sb.run(&all);
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run, doc)
}

fn check<'a>(doc: &'a Value, profile: usize, name: &str) -> &'a Value {
    doc["profiles"][profile]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {doc}"))
}

/// A check's `detail` or `fix`.
fn text<'a>(check: &'a Value, field: &str) -> &'a str {
    check[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {check}"))
}

fn status(doc: &Value, name: &str) -> String {
    check(doc, 0, name)["status"].as_str().unwrap().to_string()
}

fn with_moto(name: &str) -> Sandbox {
    let moto = moto();
    let mut sb = Sandbox::new(name).with_env_keys();
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{moto}"))
        .set("IAMDB_CACHE", "file");
    sb
}

#[test]
fn every_check_passes_against_a_working_postgres_setup() {
    if !crate::common::pg::available() {
        return;
    }
    let pg = crate::common::pg::Pg::shared();
    let sb = with_moto("doctor-pg");
    // Through a tunnel: the certificate is checked for the RDS name, the socket goes to 127.0.0.1.
    sb.write_config(&pg.profile("db", crate::common::pg::RDS_NAME, "app"));
    let (run, doc) = doctor(&sb, &["db"]);
    assert_eq!(run.code, 0, "{doc}");
    assert_eq!(doc["ok"], true);
    let names: Vec<&str> = doc["profiles"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "config",
            "region",
            "credentials",
            "identity",
            "clock",
            "dns",
            "tcp",
            "tls",
            "cache",
            "client",
            "files"
        ]
    );
    for name in &names[..10] {
        assert_eq!(status(&doc, name), "pass", "{name}: {doc}");
    }
    assert_eq!(status(&doc, "files"), "skip");
    assert!(text(check(&doc, 0, "identity"), "detail").contains("123456789012"));
    let tls = check(&doc, 0, "tls")["detail"].as_str().unwrap();
    assert!(
        tls.contains("TLS 1.3") && tls.contains(crate::common::pg::RDS_NAME),
        "{tls}"
    );
    assert!(text(check(&doc, 0, "client"), "detail").contains("psql (PostgreSQL) 15"));

    // A synced .pgpass is checked for its mode and its token's expiry.
    sb.run(&["pgpass", "sync", "db"]).ok();
    let (_, doc) = doctor(&sb, &["db"]);
    let files = check(&doc, 0, "files");
    assert_eq!(files["status"], "pass", "{doc}");
    assert!(
        text(files, "detail").contains("token valid for 1"),
        "{files}"
    );
    let pgpass = sb.home().join(".pgpass");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (run, doc) = doctor(&sb, &["db"]);
    assert_eq!(run.code, 6);
    assert_eq!(status(&doc, "files"), "fail");
    assert!(text(check(&doc, 0, "files"), "fix").starts_with("chmod 600"));
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Sixteen minutes later the synced token has expired and nothing refreshed it.
    let later = sb.run_at("+16m", &["doctor", "db", "--format", "json"]);
    let doc: Value = serde_json::from_str(&later.stdout).unwrap();
    assert_eq!(status(&doc, "files"), "fail", "{doc}");
    assert!(text(check(&doc, 0, "files"), "fix").contains("iamdb refresh --watch"));

    // The text report: one line per check, the summary last, no secrets anywhere.
    let text = sb.run(&["doctor", "db"]).ok();
    assert!(
        text.stdout.starts_with("profile db\n  ok    config"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.ends_with("All checks passed.\n"),
        "{}",
        text.stdout
    );
    for secret in [SECRET, "X-Amz-Signature"] {
        assert!(!text.stdout.contains(secret) && !text.stderr.contains(secret));
    }
}

#[test]
fn tls_and_tcp_failures_name_the_cause_and_the_fix() {
    if !crate::common::my::available() {
        return;
    }
    let my = crate::common::my::My::shared();
    let sb = with_moto("doctor-tls");
    let closed = free_port();
    let mut config = my.profile("right", "localhost", "app", "mariadb");
    // The Amazon RDS bundle did not sign the test server's certificate.
    config.push_str(
        &my.profile("wrongca", "localhost", "app", "mariadb")
            .replace(
                &my.ca.display().to_string(),
                &format!(
                    "{}/crates/iamdb-core/assets/rds-ca-bundle.pem",
                    env!("CARGO_MANIFEST_DIR")
                ),
            ),
    );
    config.push_str(
        &my.profile("wrongname", "db.example.com", "app", "mariadb")
            .replace(
                "database = \"shop\"\n",
                "database = \"shop\"\nconnect_host = \"127.0.0.1\"\n",
            ),
    );
    config.push_str(
        &my.profile("nobody", "localhost", "app", "mariadb")
            .replace(&format!("port = {}", my.port), &format!("port = {closed}")),
    );
    sb.write_config(&config);

    let (run, doc) = doctor(&sb, &["right"]);
    assert_eq!(run.code, 0, "{doc}");
    assert!(text(check(&doc, 0, "tls"), "detail").contains("certificate valid for localhost"));
    assert!(text(check(&doc, 0, "client"), "detail").contains("MariaDB"));

    let (run, doc) = doctor(&sb, &["wrongca"]);
    assert_eq!(run.code, 6);
    let tls = check(&doc, 0, "tls");
    assert_eq!(tls["status"], "fail");
    assert!(
        text(tls, "detail").contains("not signed by a CA in"),
        "{tls}"
    );
    assert!(text(tls, "detail").contains("rds-ca-bundle.pem"), "{tls}");
    assert!(text(tls, "fix").contains("ssl_ca"), "{tls}");

    let (_, doc) = doctor(&sb, &["wrongname"]);
    let tls = check(&doc, 0, "tls");
    assert_eq!(tls["status"], "fail");
    assert!(
        text(tls, "detail").contains("not valid for db.example.com"),
        "{tls}"
    );

    let (run, doc) = doctor(&sb, &["nobody"]);
    assert_eq!(run.code, 6);
    let tcp = check(&doc, 0, "tcp");
    assert_eq!(tcp["status"], "fail");
    assert!(
        text(tcp, "detail").contains("nothing is listening"),
        "{tcp}"
    );
    assert_eq!(status(&doc, "tls"), "skip");

    // Without a profile name, every profile is checked; the text report counts failures.
    let all = sb.run(&["doctor"]);
    assert_eq!(all.code, 6);
    for p in [
        "profile right",
        "profile wrongca",
        "profile wrongname",
        "profile nobody",
    ] {
        assert!(all.stdout.contains(p), "{}", all.stdout);
    }
    assert!(all.stdout.ends_with("3 checks failed.\n"), "{}", all.stdout);
    assert!(all.stdout.contains("  FAIL  tls"), "{}", all.stdout);
}

#[test]
fn aws_side_failures_clock_skew_and_no_profile() {
    let mut sb = with_moto("doctor-aws");
    sb.write_config("[profiles.p]\nengine = \"postgres\"\nhost = \"db1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"u\"\nregion = \"us-east-1\"\n");
    // A profile region that contradicts the host.
    let (_, doc) = doctor(&sb, &["p"]);
    let region = check(&doc, 0, "region");
    assert_eq!(region["status"], "fail", "{doc}");
    assert!(text(region, "fix").contains("eu-west-1"));

    // Ten minutes ahead of AWS: the clock check says so.
    sb.write_config("");
    let skewed = sb.run_at("+10m", &["doctor", "--format", "json"]);
    let doc: Value = serde_json::from_str(&skewed.stdout).unwrap();
    assert_eq!(doc["profiles"][0]["profile"], Value::Null);
    assert_eq!(status(&doc, "credentials"), "pass", "{doc}");
    assert_eq!(status(&doc, "identity"), "pass", "{doc}");
    let clock = check(&doc, 0, "clock");
    assert_eq!(clock["status"], "fail", "{doc}");
    assert!(
        text(clock, "detail").contains("ahead of the time STS reports"),
        "{clock}"
    );
    assert_eq!(skewed.code, 6);
    let (run, doc) = doctor(&sb, &[]);
    assert_eq!(run.code, 0, "{doc}");
    assert_eq!(status(&doc, "clock"), "pass");

    // STS not answering: a failed identity check within the timeouts, no hang.
    sb.set(
        "AWS_ENDPOINT_URL_STS",
        format!("http://127.0.0.1:{}", free_port()),
    );
    let start = std::time::Instant::now();
    let (run, doc) = doctor(&sb, &[]);
    assert!(start.elapsed() < std::time::Duration::from_secs(40));
    assert_eq!(run.code, 6);
    let identity = check(&doc, 0, "identity");
    assert_eq!(identity["status"], "fail");
    assert!(
        text(identity, "detail").contains("STS GetCallerIdentity failed"),
        "{identity}"
    );
    assert_eq!(status(&doc, "clock"), "skip");

    // No credentials at all: the fix says where they come from.
    sb.unset("AWS_ACCESS_KEY_ID").unset("AWS_SECRET_ACCESS_KEY");
    let (_, doc) = doctor(&sb, &[]);
    let creds = check(&doc, 0, "credentials");
    assert_eq!(creds["status"], "fail", "{doc}");
    assert!(text(creds, "fix").contains("aws configure"), "{creds}");
    assert_eq!(status(&doc, "identity"), "skip");

    // A broken config file: named, with the line, and everything after it skipped.
    sb.write_config("[profiles.p\n");
    let (run, doc) = doctor(&sb, &["p"]);
    assert_eq!(run.code, 6);
    let config = check(&doc, 0, "config");
    assert_eq!(config["status"], "fail");
    assert!(text(config, "detail").contains("config.toml"), "{config}");
    assert_eq!(status(&doc, "credentials"), "skip");
}
