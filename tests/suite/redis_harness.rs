//! The ElastiCache/MemoryDB test server itself (common/redis.rs), before any iamdb test relies
//! on it: real redis-cli through the TLS front with botocore's tokens gets in as the token's
//! user, over AUTH and over HELLO 3 AUTH, and a token signed with a wrong secret does not.

use crate::common::redis::{self, NODE_ENDPOINT, REPLICATION_GROUP, Redis, TokenCase};
use crate::common::*;

#[test]
fn redis_cli_logs_in_through_the_front_with_botocore_tokens() {
    if !redis::available() {
        return;
    }
    let server = Redis::shared();
    let users = server.backend_cli(&["ACL", "USERS"]);
    assert_eq!(users, "admin\napp\ndefault\nother\n");
    assert_eq!(server.backend_cli(&["ACL", "WHOAMI"]), "admin\n");
    let case = TokenCase::new("elasticache", REPLICATION_GROUP, "app");
    let token = case.sign();
    assert!(token.starts_with("iamdb-test-rg/?Action=connect&User=app&"));

    // Not logged in: every command but AUTH and HELLO is refused.
    let out = Run::from(
        server
            .cli(NODE_ENDPOINT)
            .args(["ACL", "WHOAMI"])
            .output()
            .unwrap(),
    );
    assert!(out.stdout.starts_with("NOAUTH"), "{}", out.stdout);

    // AUTH app <token>.
    let out = Run::from(
        server
            .cli_as(NODE_ENDPOINT, "app", &token)
            .args(["ACL", "WHOAMI"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.stdout, "app\n", "{}", out.stderr);

    // A token signed with a wrong secret: redis-cli reports the failed AUTH and its command is
    // refused.
    let bad = TokenCase {
        secret_key: "notTheSecretKey/EXAMPLE+0123456789abcdef",
        ..TokenCase::new("elasticache", REPLICATION_GROUP, "app")
    }
    .sign();
    let out = Run::from(
        server
            .cli_as(NODE_ENDPOINT, "app", &bad)
            .args(["ACL", "WHOAMI"])
            .output()
            .unwrap(),
    );
    assert!(out.stderr.contains("WRONGPASS"), "{}", out.stderr);
    assert!(out.stdout.starts_with("NOAUTH"), "{}", out.stdout);
    let verdicts = server.verdicts();
    assert!(
        verdicts
            .iter()
            .any(|v| v["user"] == "app" && v["ok"] == false && v["why"] == "bad signature"),
        "{verdicts:?}"
    );

    // RESP3: redis-cli -3 logs in with AUTH, then switches with HELLO 3.
    let out = Run::from(
        server
            .cli_as(NODE_ENDPOINT, "app", &token)
            .args(["-3", "ACL", "WHOAMI"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.stdout, "app\n", "{}", out.stderr);

    // HELLO 3 AUTH app <token>, in one command (on stdin, never on a command line).
    let out = Run::with_input(
        &mut server.cli(NODE_ENDPOINT),
        format!("HELLO 3 AUTH app {token}\nACL WHOAMI\n").as_bytes(),
    );
    assert!(out.stdout.contains("proto 3\n"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("app\n"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let verdicts = server.verdicts();
    assert!(
        verdicts
            .iter()
            .any(|v| v["user"] == "app" && v["ok"] == true && v["command"] == "HELLO"),
        "{verdicts:?}"
    );
    assert!(
        verdicts
            .iter()
            .any(|v| v["ok"] == true && v["sni"] == NODE_ENDPOINT),
        "{verdicts:?}"
    );
}
