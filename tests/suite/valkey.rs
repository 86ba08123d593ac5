//! ElastiCache and MemoryDB (Valkey, Redis OSS): tokens byte-identical to botocore's request
//! signer, the cache name, region and serverless flag read from endpoint names (or given),
//! `setup` against moto (and a stub for the serverless API moto lacks), `inspect`, and the
//! clients end to end through a TLS front that checks tokens as ElastiCache does
//! (common/redis.rs).

use std::process::{Command, Stdio};

use crate::common::*;

const EC_NODE: &str = "master.orders-rg.abc123.use1.cache.amazonaws.com";
const EC_SERVERLESS: &str = "sessions-a1b2c3.serverless.euw1.cache.amazonaws.com";
const MEMORYDB: &str = "clustercfg.ledger.abc123.memorydb.eu-west-1.amazonaws.com";
const SESSION: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/session=";

fn iamdb_cache_token(instant: &str, args: &[&str], session: bool) -> String {
    let mut sb = Sandbox::new("cache-conformance").with_env_keys();
    if session {
        sb.set("AWS_SESSION_TOKEN", SESSION);
    }
    let mut all = vec!["token", "--no-cache"];
    all.extend_from_slice(args);
    sb.run_at(instant, &all).ok().token().to_string()
}

#[test]
fn cache_tokens_match_botocore_byte_for_byte() {
    if !require_faketime() {
        return;
    }
    // (iamdb's arguments, botocore's kind, signed name, region, user, serverless)
    type Case<'a> = (Vec<&'a str>, &'a str, &'a str, &'a str, &'a str, bool);
    let cases: Vec<Case<'_>> = vec![
        (
            vec!["--host", EC_NODE, "--user", "app"],
            "elasticache",
            "orders-rg",
            "us-east-1",
            "app",
            false,
        ),
        (
            vec!["--host", EC_NODE, "--user", "app user+1"],
            "elasticache",
            "orders-rg",
            "us-east-1",
            "app user+1",
            false,
        ),
        (
            vec![
                "--host",
                "orders-rg-002.orders-rg.abc123.apse2.cache.amazonaws.com",
                "--user",
                "u",
            ],
            "elasticache",
            "orders-rg",
            "ap-southeast-2",
            "u",
            false,
        ),
        (
            vec!["--host", EC_SERVERLESS, "--user", "app"],
            "elasticache",
            "sessions",
            "eu-west-1",
            "app",
            true,
        ),
        (
            vec!["--host", MEMORYDB, "--user", "app"],
            "memorydb",
            "ledger",
            "eu-west-1",
            "app",
            false,
        ),
        // A CNAME: the profile names the cache, its region and that it is serverless.
        (
            vec![
                "--host",
                "cache.internal.example.com",
                "--engine",
                "elasticache",
                "--cache-name",
                "Sessions",
                "--serverless",
                "true",
                "--region",
                "ca-central-1",
                "--user",
                "a/b=c",
            ],
            "elasticache",
            "sessions",
            "ca-central-1",
            "a/b=c",
            true,
        ),
    ];
    let instant = "2026-03-04 05:06:07";
    for session in [false, true] {
        let input: Vec<serde_json::Value> = cases
            .iter()
            .map(|(_, kind, name, region, user, serverless)| {
                serde_json::json!({
                    "kind": kind, "host": name, "user": user, "region": region,
                    "serverless": serverless, "access_key": AKID, "secret_key": SECRET,
                    "session_token": session.then_some(SESSION),
                })
            })
            .collect();
        let want = botocore_reference(instant, &input);
        assert_eq!(want.len(), cases.len());
        for ((args, ..), want) in cases.iter().zip(&want) {
            let got = iamdb_cache_token(instant, args, session);
            assert_eq!(&got, want, "{args:?}");
        }
    }
}

#[test]
fn a_cache_name_or_region_that_nothing_says_is_an_error_not_a_guess() {
    let mut sb = Sandbox::new("cache-missing").with_env_keys();
    sb.set("AWS_REGION", "eu-west-1");
    sb.write_config(
        "[profiles.noname]\nengine = \"elasticache\"\nhost = \"cache.internal.example.com\"\nuser = \"app\"\n\
         [profiles.noregion]\nengine = \"elasticache\"\nhost = \"cache.internal.example.com\"\ncache_name = \"orders-rg\"\nuser = \"app\"\n\
         [profiles.wrong]\nengine = \"postgres\"\nhost = \"master.orders-rg.abc123.use1.cache.amazonaws.com\"\nuser = \"app\"\n\
         [profiles.sl]\nengine = \"memorydb\"\nhost = \"cache.internal.example.com\"\ncache_name = \"x\"\nserverless = true\nuser = \"app\"\n",
    );
    let run = sb.run(&["token", "noname"]).fails(3);
    assert!(
        run.stderr.contains("does not say which cache") && run.stderr.contains("cache_name"),
        "{}",
        run.stderr
    );
    // AWS_REGION is set, but a cache's region is what its endpoint says, or the profile.
    let run = sb.run(&["token", "noregion"]).fails(3);
    assert!(
        run.stderr
            .contains("cannot tell which AWS region cache orders-rg"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["token", "wrong"]).fails(3);
    assert!(
        run.stderr.contains("is an ElastiCache endpoint") && run.stderr.contains("elasticache"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["token", "sl"]).fails(3);
    assert!(run.stderr.contains("no serverless"), "{}", run.stderr);
    let run = sb
        .run(&[
            "token",
            "--host",
            EC_NODE,
            "--user",
            "app",
            "--expires-in",
            "3600",
        ])
        .fails(2);
    assert!(
        run.stderr
            .contains("ElastiCache and MemoryDB tokens always live 900 s"),
        "{}",
        run.stderr
    );

    // A cached cache token is served, and inspect reads it.
    sb.write_config(&format!(
        "[profiles.c]\nhost = \"{EC_SERVERLESS}\"\nuser = \"app\"\n"
    ));
    let first = sb.run(&["token", "c", "--format", "json"]).ok().json();
    let again = sb.run(&["token", "c", "--format", "json"]).ok().json();
    assert_eq!(
        (first["cached"].clone(), again["cached"].clone()),
        (false.into(), true.into())
    );
    let token = again["token"].as_str().unwrap();
    assert!(
        token.starts_with("sessions/?Action=connect&User=app&ResourceType=ServerlessCache&"),
        "{token}"
    );
    let mut inspect = sb.iamdb(&["inspect"]);
    let report = Run::with_input(&mut inspect, token.as_bytes());
    assert_eq!(report.code, 0, "{}", report.stdout);
    assert!(
        report.stdout.contains("ElastiCache Serverless")
            && report.stdout.contains("cache sessions"),
        "{}",
        report.stdout
    );
}

/// moto with a replication group and a MemoryDB cluster, and the serverless-cache stub.
fn setup_sandbox(name: &str) -> Sandbox {
    let moto = moto();
    let moto_url = format!("http://127.0.0.1:{moto}");
    stdout_of(Command::new("python3").args([
            "-c",
            "import boto3,sys\n\
             kw=dict(endpoint_url=sys.argv[1],aws_access_key_id='AKIAIOSFODNN7EXAMPLE',aws_secret_access_key='x')\n\
             ec=boto3.client('elasticache',region_name='us-east-1',**kw)\n\
             try: ec.create_replication_group(ReplicationGroupId='orders-rg',ReplicationGroupDescription='t',Engine='valkey',UserGroupIds=['orders-users'])\n\
             except ec.exceptions.ReplicationGroupAlreadyExistsFault: pass\n\
             m=boto3.client('memorydb',region_name='eu-west-1',**kw)\n\
             try: m.create_cluster(ClusterName='ledger',NodeType='db.t4g.small',ACLName='ledger-acl')\n\
             except m.exceptions.ClusterAlreadyExistsFault: pass",
            &moto_url,
        ]));
    let mut sb = Sandbox::new(name).with_env_keys();
    sb.set("AWS_ENDPOINT_URL_STS", &moto_url)
        .set("AWS_ENDPOINT_URL_MEMORYDB", &moto_url)
        .set("AWS_ENDPOINT_URL_ELASTICACHE", &moto_url);
    sb.write_config(&format!(
        "[profiles.node]\nhost = \"{EC_NODE}\"\nuser = \"app\"\n\
         [profiles.sl]\nhost = \"{EC_SERVERLESS}\"\nuser = \"app\"\n\
         [profiles.mdb]\nhost = \"{MEMORYDB}\"\nuser = \"app\"\n\
         [profiles.gone]\nhost = \"master.gone-rg.abc123.use1.cache.amazonaws.com\"\nuser = \"app\"\n\
         [profiles.baduser]\nhost = \"{EC_NODE}\"\nuser = \"app_1\"\n"
    ));
    sb
}

#[test]
fn setup_prints_the_policy_and_the_commands_for_every_kind_of_cache() {
    let mut sb = setup_sandbox("cache-setup");
    // Node-based, through moto: the ARN and the user group come from DescribeReplicationGroups.
    let node = sb
        .run(&["setup", "node", "--lookup", "--format", "json"])
        .ok()
        .json();
    let statement = &node["policy"]["Statement"][0];
    assert_eq!(statement["Action"], "elasticache:Connect");
    assert_eq!(
        statement["Resource"],
        serde_json::json!([
            "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:orders-rg",
            "arn:aws:elasticache:us-east-1:123456789012:user:app"
        ])
    );
    let commands = node["commands"].as_array().unwrap();
    assert!(
        commands[0]
            .as_str()
            .unwrap()
            .starts_with("aws elasticache create-user --user-id app --user-name app --engine valkey --authentication-mode Type=iam")
    );
    assert_eq!(
        commands[1],
        "aws elasticache modify-user-group --user-group-id orders-users --user-ids-to-add app --region us-east-1"
    );

    // MemoryDB, through moto: the ACL from DescribeClusters.
    let text = sb.run(&["setup", "mdb", "--lookup"]).ok().stdout;
    assert!(text.contains("\"memorydb:Connect\""), "{text}");
    assert!(
        text.contains("arn:aws:memorydb:eu-west-1:123456789012:cluster/ledger"),
        "{text}"
    );
    assert!(
        text.contains("arn:aws:memorydb:eu-west-1:123456789012:user/app"),
        "{text}"
    );
    assert!(
        text.contains("aws memorydb update-acl --acl-name ledger-acl --user-names-to-add app --region eu-west-1"),
        "{text}"
    );
    assert!(text.contains("closed after 12 hours"), "{text}");

    // Without --lookup: the account from STS, placeholders for what only the API knows.
    let plain = sb.run(&["setup", "node", "--format", "json"]).ok().json();
    assert!(
        plain["commands"][1]
            .as_str()
            .unwrap()
            .contains("--user-group-id USER-GROUP-ID"),
        "{plain}"
    );

    // A cache that is not there, and a user name IAM cannot have.
    let run = sb.run(&["setup", "gone", "--lookup"]).fails(3);
    assert!(
        run.stderr
            .contains("no ElastiCache replication group named gone-rg"),
        "{}",
        run.stderr
    );
    let run = sb
        .run(&["setup", "baduser", "--account", "123456789012"])
        .fails(3);
    assert!(
        run.stderr.contains("its id must equal its name"),
        "{}",
        run.stderr
    );

    // Serverless: DescribeServerlessCaches, which moto lacks, from a stub that speaks the API.
    let caches = sb.root.join("serverless.json");
    std::fs::write(
        &caches,
        serde_json::json!({"sessions": {
            "arn": "arn:aws:elasticache:eu-west-1:210987654321:serverlesscache:sessions",
            "engine": "redis", "user_group": "sessions-users",
        }})
        .to_string(),
    )
    .unwrap();
    let log = sb.root.join("stub.log");
    let mut stub = Command::new("python3");
    stub.arg(support("elasticache_stub.py"))
        .arg(&caches)
        .arg(&log)
        .stderr(Stdio::inherit());
    let port = spawn_helper(stub, true).unwrap();
    sb.set(
        "AWS_ENDPOINT_URL_ELASTICACHE",
        format!("http://127.0.0.1:{port}"),
    );
    let sl = sb
        .run(&["setup", "sl", "--lookup", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        sl["policy"]["Statement"][0]["Resource"][0],
        "arn:aws:elasticache:eu-west-1:210987654321:serverlesscache:sessions"
    );
    assert_eq!(sl["cache"]["engine"], "redis");
    assert!(
        sl["commands"][0]
            .as_str()
            .unwrap()
            .contains("--engine redis")
            && sl["commands"][1]
                .as_str()
                .unwrap()
                .contains("--user-group-id sessions-users"),
        "{sl}"
    );
    let requests = std::fs::read_to_string(&log).unwrap();
    assert!(
        requests.contains("\"ServerlessCacheName\": \"sessions\"")
            && requests.contains("\"authorization\": true"),
        "{requests}"
    );
}

/// Profiles for the test Redis behind its TLS front: each dials 127.0.0.1 (a tunnel, as far as
/// iamdb knows) and sends the endpoint's name as SNI.
fn redis_sandbox(name: &str, redis: &crate::common::redis::Redis) -> Sandbox {
    use crate::common::redis::{MEMORYDB_ENDPOINT, NODE_ENDPOINT, SERVERLESS_ENDPOINT};
    let sb = Sandbox::new(name).with_env_keys();
    let profile = |name: &str, host: &str, user: &str| {
        format!(
            "[profiles.{name}]\nhost = \"{host}\"\nport = {}\nuser = \"{user}\"\nssl_ca = \"{}\"\n\
             connect_host = \"127.0.0.1\"\nclient = \"redis-cli\"\n",
            redis.port,
            redis.ca.display()
        )
    };
    sb.write_config(&format!(
        "{}{}{}{}",
        profile("node", NODE_ENDPOINT, "app"),
        profile("serverless", SERVERLESS_ENDPOINT, "app"),
        profile("mdb", MEMORYDB_ENDPOINT, "other"),
        profile("nobody", NODE_ENDPOINT, "nobody"),
    ));
    sb
}

#[test]
fn redis_cli_logs_in_through_iamdb_valkey_and_exec() {
    use crate::common::redis::{self, Redis};
    if !redis::available() {
        return;
    }
    let redis = Redis::shared();
    let mut sb = redis_sandbox("valkey-e2e", redis);
    for (profile, user) in [("node", "app"), ("serverless", "app"), ("mdb", "other")] {
        let run = sb.run(&["valkey", profile, "--", "ACL", "WHOAMI"]);
        assert_eq!(run.code, 0, "{profile}: {}", run.stderr);
        assert_eq!(run.stdout.trim(), user, "{profile}: {}", run.stderr);
    }
    let ok: Vec<_> = redis
        .verdicts()
        .into_iter()
        .filter(|v| v["ok"] == true)
        .collect();
    for sni in [
        redis::NODE_ENDPOINT,
        redis::SERVERLESS_ENDPOINT,
        redis::MEMORYDB_ENDPOINT,
    ] {
        assert!(
            ok.iter().any(|v| v["sni"] == sni),
            "no good login through {sni}: {ok:?}"
        );
    }
    // RESP3 too (redis-cli -3).
    let run = sb
        .run(&["valkey", "node", "--", "-3", "ACL", "WHOAMI"])
        .ok();
    assert_eq!(run.stdout.trim(), "app");

    // iamdb exec: the token in REDISCLI_AUTH/VALKEYCLI_AUTH, the connection in IAMDB_*.
    let run = sb
        .run(&[
            "exec",
            "node",
            "--",
            "sh",
            "-c",
            "redis-cli --tls --cacert \"$IAMDB_CA_FILE\" -h \"$IAMDB_HOST\" -p \"$IAMDB_PORT\" \
             --sni \"$IAMDB_TLS_SERVER_NAME\" --user \"$IAMDB_USER\" ACL WHOAMI; \
             [ \"$VALKEYCLI_AUTH\" = \"$REDISCLI_AUTH\" ] && echo same",
        ])
        .ok();
    assert_eq!(run.stdout, "app\nsame\n", "{}", run.stderr);

    // No token on any command line while the client runs (it blocks for two seconds).
    let mut cmd = sb.iamdb(&["valkey", "node", "--", "BLPOP", "iamdb-nothing-here", "2"]);
    cmd.stdin(Stdio::null());
    assert!(scan_command_lines(cmd, |line| line.starts_with("redis-cli")));

    // A user the cache does not have is refused by it; so is a wrong key.
    let run = sb.run(&["valkey", "nobody", "--", "PING"]);
    assert!(!run.stdout.contains("PONG"), "{}", run.stdout);
    assert!(redis.verdicts().iter().any(|v| {
        v["user"] == "nobody"
            && v["ok"] == false
            && v["why"]
                .as_str()
                .is_some_and(|w| w.contains("backend refused"))
    }));
    sb.set("AWS_SECRET_ACCESS_KEY", "not-the-right-secret");
    let run = sb.run(&["valkey", "node", "--", "PING"]);
    assert!(!run.stdout.contains("PONG"), "{}", run.stdout);
    assert!(
        run.stdout.contains("NOAUTH") || run.stderr.contains("WRONGPASS"),
        "{} {}",
        run.stdout,
        run.stderr
    );
    assert!(redis.verdicts().iter().any(|v| v["why"] == "bad signature"));
}

#[test]
fn a_token_for_one_user_or_cache_does_not_log_in_another() {
    use crate::common::redis::{self, Redis, TokenCase};
    if !redis::available() {
        return;
    }
    let redis = Redis::shared();
    let sb = redis_sandbox("valkey-other", redis);
    // iamdb's token for app, presented as user other.
    let token = sb.run(&["token", "node"]).ok().stdout;
    let out = redis
        .cli_as(redis::NODE_ENDPOINT, "other", token.trim())
        .args(["ACL", "WHOAMI"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("other\n") || text.contains("NOAUTH"),
        "{text}"
    );
    assert!(
        redis
            .verdicts()
            .iter()
            .any(|v| v["user"] == "other" && v["ok"] == false)
    );
    // The serverless cache's token without ResourceType (a node-based token) is refused.
    let node_style = TokenCase::new("elasticache", redis::SERVERLESS_CACHE, "app").sign();
    let out = redis
        .cli_as(redis::SERVERLESS_ENDPOINT, "app", &node_style)
        .args(["PING"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PONG"));
}

#[test]
fn doctor_checks_tls_with_the_endpoint_as_sni_and_the_client() {
    use crate::common::redis::{self, Redis};
    if !redis::available() {
        return;
    }
    let redis = Redis::shared();
    let moto = moto();
    let mut sb = redis_sandbox("valkey-doctor", redis);
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{moto}"));
    let run = sb.run(&["doctor", "node", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(run.code, 0, "{doc}");
    let detail = |name: &str| {
        doc["profiles"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["detail"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert!(
        detail("tls").contains(redis::NODE_ENDPOINT),
        "{}",
        detail("tls")
    );
    assert!(
        detail("client").contains("redis-cli") && detail("client").contains("12 hours"),
        "{}",
        detail("client")
    );
    assert!(
        redis
            .verdicts()
            .iter()
            .all(|v| v["sni"] != serde_json::Value::Null)
    );

    // shell-init names a function after the client command.
    let init = sb.run(&["shell-init", "bash"]).ok().stdout;
    assert!(
        init.contains("valkey-node() { command iamdb valkey node -- \"$@\"; }"),
        "{init}"
    );
}
