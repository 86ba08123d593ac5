//! `iamdb refresh`: tokens in synced files are renewed before they expire, once or for as long
//! as `--watch` runs, proven with the real clients against the real test servers.

use std::time::{Duration, Instant};

use crate::common::my::{self, My};
use crate::common::pg::{self, Pg};
use crate::common::*;

/// A sandbox with one PostgreSQL and one MariaDB profile, both synced 1000 s ago: the tokens
/// in .pgpass and in iamdb's option file have expired.
fn synced_long_ago(name: &str) -> Sandbox {
    let (pg, my) = (Pg::shared(), My::shared());
    let sb = Sandbox::new(name).with_env_keys();
    sb.write_config(&format!(
        "{}{}",
        pg.profile("pgdb", "localhost", "app")
            .replace("connect_host = \"127.0.0.1\"\n", ""),
        my.profile("mydb", "localhost", "app", "mariadb")
    ));
    std::fs::write(sb.home().join(".pgpass"), "# mine\n*:*:*:me:secret\n").unwrap();
    sb.run_at("-1000", &["pgpass", "sync"]).ok();
    sb.run_at("-1000", &["mycnf", "sync"]).ok();
    sb
}

fn psql(sb: &Sandbox) -> Run {
    let conninfo = format!(
        "host=localhost port={} dbname=shop user=app sslmode=verify-full sslrootcert={}",
        Pg::shared().port,
        Pg::shared().ca.display()
    );
    Run::from(
        sb.command("psql")
            .args([conninfo.as_str(), "-X", "-tA", "-c", "SELECT current_user"])
            .output()
            .unwrap(),
    )
}

fn mysql(sb: &Sandbox) -> Run {
    Run::from(
        sb.command("mysql")
            .args([
                "--defaults-group-suffix=_mydb",
                "-N",
                "-B",
                "-e",
                "SELECT SUBSTRING_INDEX(USER(), '@', 1)",
            ])
            .output()
            .unwrap(),
    )
}

#[test]
fn refresh_renews_expired_tokens_in_synced_files() {
    if !pg::available() || !my::available() || !require_faketime() {
        return;
    }
    let sb = synced_long_ago("refresh");
    // The negative twins first: expired tokens are refused.
    let run = psql(&sb);
    assert!(
        run.code != 0 && run.stderr.contains("PAM authentication failed"),
        "{}",
        run.stderr
    );
    assert_ne!(mysql(&sb).code, 0);
    assert!(
        Pg::shared()
            .verdicts()
            .iter()
            .any(|v| v["why"] == "expired")
    );

    let run = sb.run(&["refresh"]).ok();
    assert!(
        run.stdout
            .starts_with("refreshed 2 profiles; next refresh due at "),
        "{}",
        run.stdout
    );
    assert_eq!(psql(&sb).ok().stdout, "app\n");
    assert_eq!(mysql(&sb).ok().stdout, "app\n");
    assert!(
        std::fs::read_to_string(sb.home().join(".pgpass"))
            .unwrap()
            .starts_with("# mine\n*:*:*:me:secret\n")
    );
}

#[test]
fn refresh_watch_renews_and_stops_cleanly_on_sigterm() {
    if !pg::available() || !my::available() || !require_faketime() {
        return;
    }
    let sb = synced_long_ago("watch");
    let before = std::fs::read_to_string(sb.home().join(".pgpass")).unwrap();
    let mut child = sb
        .iamdb(&["refresh", "--watch"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(sb.home().join(".pgpass")).unwrap() == before {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "--watch did not refresh"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(psql(&sb).ok().stdout, "app\n");
    assert_eq!(mysql(&sb).ok().stdout, "app\n");
    assert!(child.try_wait().unwrap().is_none(), "--watch keeps running");

    // SAFETY: kill sends a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let stopped = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "SIGTERM took {:?}",
        stopped.elapsed()
    );
    assert!(out.status.success(), "exit {:?}", out.status);
    assert!(String::from_utf8_lossy(&out.stderr).contains("refresh stopped"));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("refreshed 2 profiles"));
}
