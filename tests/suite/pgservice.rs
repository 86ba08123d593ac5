//! `iamdb pgservice sync`: `psql service=NAME` logs in after a `pgservice sync` and a
//! `pgpass sync`.

use crate::common::pg::{self, Pg, sandbox};
use crate::common::*;

#[test]
fn psql_service_logs_in_after_pgservice_and_pgpass_sync() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = sandbox(
        "service",
        pg,
        &[
            ("db", "localhost", "app", false),
            ("rds", pg::RDS_NAME, "a+b c", true),
        ],
    );
    let services = sb.home().join(".pg_service.conf");
    let foreign = "# my services\n[legacy]\nhost=old.example\nport=5432\n";
    std::fs::write(&services, foreign).unwrap();
    sb.run(&["pgservice", "sync"]).ok();
    sb.run(&["pgpass", "sync"]).ok();
    let text = std::fs::read_to_string(&services).unwrap();
    assert!(text.starts_with(foreign), "{text}");
    assert!(
        text.contains("[rds]\n") && text.contains("hostaddr=127.0.0.1\n"),
        "{text}"
    );

    let service = |name: &str| {
        sb.command("psql")
            .args([
                &format!("service={name}"),
                "-X",
                "-tA",
                "-c",
                "SELECT current_user",
            ])
            .output()
            .map(Run::from)
            .unwrap()
    };
    assert_eq!(service("db").ok().stdout, "app\n");
    assert_eq!(service("rds").ok().stdout, "a+b c\n");

    // The negative twin: the service without iamdb's .pgpass lines has no password to send.
    sb.run(&["pgpass", "sync", "--remove"]).ok();
    let run = service("db");
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("no password supplied"),
        "{}",
        run.stderr
    );

    // Removing the sections leaves the user's own exactly as they were.
    sb.run(&["pgservice", "sync", "--remove"]).ok();
    let left = std::fs::read_to_string(&services).unwrap();
    assert!(
        left.starts_with(foreign) && left.trim_end() == foreign.trim_end(),
        "{left:?}"
    );

    // A section iamdb did not write is never overwritten.
    std::fs::write(&services, "[db]\nhost=mine\n").unwrap();
    let run = sb.run(&["pgservice", "sync", "db"]).fails(3);
    assert!(
        run.stderr
            .contains("line 1: a [db] section that iamdb did not write"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&services).unwrap(),
        "[db]\nhost=mine\n"
    );
}

const PG_PROFILES: &str = "[profiles.db]\nengine = \"postgres\"\nhost = \"db1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n\
                           [profiles.db2]\nengine = \"postgres\"\nhost = \"db2.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n";

#[test]
fn remove_deletes_a_service_file_iamdb_made_and_keeps_the_users_own() {
    let sb = Sandbox::new("service-leftover").with_env_keys();
    sb.write_config(PG_PROFILES);
    let services = sb.home().join(".pg_service.conf");

    sb.run(&["pgservice", "sync"]).ok();
    let text = std::fs::read_to_string(&services).unwrap();
    assert!(
        text.contains("[db]\n") && text.contains("[db2]\n"),
        "{text}"
    );
    // One section out: the file stays, with the other.
    sb.run(&["pgservice", "sync", "--remove", "db"]).ok();
    assert!(
        std::fs::read_to_string(&services)
            .unwrap()
            .contains("[db2]\n")
    );
    // The last one out: only the blank line iamdb put between sections would be left.
    let run = sb.run(&["pgservice", "sync", "--remove"]).ok();
    assert!(
        !services.exists(),
        "an empty pg_service.conf was left behind"
    );
    assert!(
        run.stdout.contains("nothing but iamdb's own lines"),
        "{}",
        run.stdout
    );
    sb.run(&["pgservice", "sync", "--remove"]).ok();
    assert!(
        !services.exists(),
        "--remove created an empty pg_service.conf"
    );

    // The user's file stays, byte for byte, even when all it holds is a comment.
    let mine = "# my services go here\n";
    std::fs::write(&services, mine).unwrap();
    sb.run(&["pgservice", "sync"]).ok();
    sb.run(&["pgservice", "sync", "--remove"]).ok();
    let left = std::fs::read_to_string(&services).unwrap();
    assert!(
        left.starts_with(mine) && left[mine.len()..].trim().is_empty(),
        "{left:?}"
    );
}
