//! Aurora DSQL: tokens byte-identical to botocore's and the AWS CLI's, lifetimes, and every
//! PostgreSQL bridge end to end through real psql against the test server, whose verifier
//! checks DSQL tokens as DSQL does (no port, service dsql, DbConnectAdmin only for admin,
//! DbConnect for roles granted to the key, up to a week).

use crate::common::pg::{self, DSQL_NAME, Pg, WHO, psql_args, refused};
use crate::common::*;

const HOST: &str = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
const SESSION: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/session=";

fn iamdb_dsql_token(
    instant: &str,
    host: &str,
    role: &str,
    expires_in: u64,
    session: bool,
) -> String {
    let mut sb = Sandbox::new("dsql-conformance").with_env_keys();
    if session {
        sb.set("AWS_SESSION_TOKEN", SESSION);
    }
    let lifetime = expires_in.to_string();
    sb.run_at(
        instant,
        &[
            "token",
            "--no-cache",
            "--engine",
            "dsql",
            "--host",
            host,
            "--user",
            role,
            "--expires-in",
            &lifetime,
        ],
    )
    .ok()
    .token()
    .to_string()
}

#[test]
fn dsql_tokens_match_botocore_byte_for_byte() {
    if !require_faketime() {
        return;
    }
    let hosts = [
        HOST,
        "0123456789abcdefghijklmnop.dsql.ap-southeast-5.on.aws",
        "zyxwvutsrqponmlkjihgfedcba.dsql.us-gov-west-1.on.aws",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ.dsql.eu-central-2.on.aws",
    ];
    let roles = ["admin", "app", "a+b c", "Ünïcode/=&?"];
    let mut cases = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        for (j, role) in roles.iter().enumerate() {
            let expires_in = [900, 3600, 604_800, 1][(i + j) % 4];
            let session = (i + j) % 2 == 0;
            cases.push((*host, *role, expires_in, session));
        }
    }
    let instant = "2026-03-04 05:06:07";
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|(host, role, expires_in, session)| {
            let region = host.split('.').nth(2).unwrap().to_ascii_lowercase();
            serde_json::json!({
                "kind": "dsql", "host": host, "user": role, "region": region,
                "expires_in": expires_in, "access_key": AKID, "secret_key": SECRET,
                "session_token": session.then_some(SESSION),
            })
        })
        .collect();
    let want = botocore_reference(instant, &input);
    assert_eq!(want.len(), cases.len());
    for ((host, role, expires_in, session), want) in cases.iter().zip(&want) {
        let got = iamdb_dsql_token(instant, host, role, *expires_in, *session);
        assert_eq!(&got, want, "{host} {role:?} {expires_in} s");
    }
}

#[test]
fn lifetimes_are_checked_against_the_engine() {
    let sb = Sandbox::new("dsql-lifetimes").with_env_keys();
    sb.write_config(&format!(
        "[profiles.d]\nhost = \"{HOST}\"\nuser = \"admin\"\n\
         [profiles.r]\nengine = \"postgres\"\nhost = \"{}\"\nuser = \"app\"\n",
        crate::common::HOST
    ));
    let run = sb.run(&["token", "d", "--expires-in", "604801"]).fails(2);
    assert!(
        run.stderr
            .contains("--expires-in: must be between 1 and 604800 seconds (a week)"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["token", "r", "--expires-in", "3600"]).fails(2);
    assert!(
        run.stderr
            .contains("RDS, Aurora and RDS Proxy tokens always live 900 s"),
        "{}",
        run.stderr
    );
    sb.run(&["token", "r", "--expires-in", "900"]).ok();

    // A week-long token: its expiry, and the cache serves it.
    let doc = sb
        .run(&["token", "d", "--expires-in", "604800", "--format", "json"])
        .ok()
        .json();
    assert!(
        doc["token"]
            .as_str()
            .unwrap()
            .contains("X-Amz-Expires=604800")
    );
    let again = sb
        .run(&["token", "d", "--expires-in", "604800", "--format", "json"])
        .ok()
        .json();
    assert_eq!(again["cached"], true);
    assert_eq!(again["expires_at"], doc["expires_at"]);
    let listed = sb.run(&["cache", "list", "--format", "json"]).ok().json();
    let left = listed[0]["expires_in"].as_i64().unwrap();
    assert!((604_700..=604_800).contains(&left), "{left}");

    // A lifetime within the refresh margin is signed but never cached, and -v says why.
    let run = sb.run(&["-v", "token", "d", "--expires-in", "60"]).ok();
    assert!(run.stderr.contains("not caching"), "{}", run.stderr);
    let doc = sb
        .run(&["token", "d", "--expires-in", "60", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["cached"], false);

    // The engine comes from the endpoint; naming another is an error that says so.
    let token = sb.run(&["token", "d"]).ok();
    assert!(
        token.token().contains("/?Action=DbConnectAdmin&"),
        "{}",
        token.stdout
    );
    sb.write_config(&format!(
        "[profiles.d]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"admin\"\n"
    ));
    let run = sb.run(&["token", "d"]).fails(3);
    assert!(
        run.stderr.contains("is an Aurora DSQL endpoint")
            && run.stderr.contains("engine = \"dsql\""),
        "{}",
        run.stderr
    );
}

fn dsql_sandbox(name: &str, pg: &Pg) -> Sandbox {
    let sb = Sandbox::new(name).with_env_keys();
    sb.write_config(&format!(
        "{}{}",
        pg.dsql_profile("dsql-admin", "admin"),
        pg.dsql_profile("dsql-app", "dsql_app")
    ));
    sb
}

#[test]
fn dsql_roles_log_in_through_every_postgres_bridge() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let mut sb = dsql_sandbox("dsql-e2e", pg);
    // iamdb psql: the admin role and a granted role, on DSQL's `postgres` database.
    assert_eq!(sb.run(&psql_args("dsql-admin", WHO)).ok().stdout, "admin\n");
    let who = sb
        .run(&psql_args(
            "dsql-app",
            &[
                "-X",
                "-tA",
                "-c",
                "SELECT current_user || ' ' || current_database()",
            ],
        ))
        .ok();
    assert_eq!(who.stdout, "dsql_app postgres\n");
    let verdict = pg
        .verdicts()
        .into_iter()
        .rev()
        .find(|v| v["user"] == "dsql_app");
    assert_eq!(verdict.unwrap()["ok"], true);

    // iamdb exec: libpq's environment for any program.
    let exec = sb
        .run(&[
            "exec",
            "dsql-app",
            "--",
            "psql",
            "-X",
            "-tA",
            "-c",
            "SELECT current_user",
        ])
        .ok();
    assert_eq!(exec.stdout, "dsql_app\n");

    // pgpass sync and pgservice sync: plain psql afterwards.
    let pgpass = sb.root.join("pgpass");
    let services = sb.root.join("pg_service.conf");
    sb.set("PGPASSFILE", pgpass.display().to_string())
        .set("PGSERVICEFILE", services.display().to_string());
    sb.run(&["pgpass", "sync", "dsql-app"]).ok();
    sb.run(&["pgservice", "sync", "dsql-app"]).ok();
    let mut psql = sb.command("psql");
    psql.args(["service=dsql-app", "-X", "-tA", "-c", "SELECT current_user"]);
    let out = Run::from(psql.output().unwrap());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "dsql_app\n");
    let line = std::fs::read_to_string(&pgpass).unwrap();
    assert!(
        line.contains(&format!("{DSQL_NAME}/?Action=DbConnect&")),
        "{line}"
    );

    // A key the role was never granted to is refused.
    sb.set("AWS_ACCESS_KEY_ID", pg::UNGRANTED_AKID)
        .set("AWS_SECRET_ACCESS_KEY", pg::UNGRANTED_SECRET);
    refused(&sb.run(&["psql", "dsql-app", "--", "-X", "-tA", "-c", "SELECT 1"]));
    assert!(pg.verdicts().iter().any(|v| {
        v["why"]
            .as_str()
            .is_some_and(|w| w.contains("never granted"))
    }));
}

#[test]
fn an_admin_token_does_not_log_in_as_another_role() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = dsql_sandbox("dsql-admin-other", pg);
    let admin_token = sb.run(&["token", "dsql-admin"]).ok().stdout;
    let mut psql = sb.command("psql");
    psql.args([
        &format!(
            "host={DSQL_NAME} hostaddr=127.0.0.1 port={} user=dsql_app dbname=postgres sslmode=verify-full sslrootcert={}",
            pg.port,
            pg.ca.display()
        ),
        "-X",
        "-tA",
        "-c",
        "SELECT 1",
    ])
    .env("PGPASSWORD", admin_token.trim());
    let out = Run::from(psql.output().unwrap());
    refused(&out);
    assert!(pg.verdicts().iter().any(|v| {
        v["why"]
            .as_str()
            .is_some_and(|w| w.contains("needs DbConnect"))
    }));
}

#[test]
fn setup_prints_the_policy_and_the_role_grant() {
    let moto = moto();
    let mut sb = Sandbox::new("dsql-setup").with_env_keys();
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{moto}"));
    // The caller of --lookup signs in through a role, as people do: STS names the session.
    sb.write_aws_config(
        "[profile base]\naws_access_key_id = AKIADSQLSETUPBASE001\naws_secret_access_key = base-secret\n\n\
         [profile dsql-role]\nrole_arn = arn:aws:iam::123456789012:role/dsql-app-role\nsource_profile = base\nregion = us-east-1\n",
    );
    sb.write_config(&format!(
        "[profiles.admin]\nhost = \"{HOST}\"\nuser = \"admin\"\n\
         [profiles.app]\nhost = \"{HOST}\"\nuser = \"we\\\"ird'role\"\n\
         [profiles.looked]\nhost = \"{HOST}\"\nuser = \"app\"\naws_profile = \"dsql-role\"\n\
         [profiles.gov]\nhost = \"zyxwvutsrqponmlkjihgfedcba.dsql.us-gov-west-1.on.aws\"\nuser = \"app\"\n"
    ));
    let admin = sb
        .run(&[
            "setup",
            "admin",
            "--account",
            "123456789012",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        admin["policy"]["Statement"][0]["Action"],
        "dsql:DbConnectAdmin"
    );
    assert_eq!(
        admin["policy"]["Statement"][0]["Resource"],
        "arn:aws:dsql:us-east-1:123456789012:cluster/abcdefghijklmnopqrstuvwxyz"
    );
    assert_eq!(admin["sql"], serde_json::json!([]));

    // A role: granted to the principal given (an assumed-role session becomes its role).
    let app = sb
        .run(&[
            "setup",
            "app",
            "--principal",
            "arn:aws:sts::210987654321:assumed-role/app-role/session-1",
        ])
        .ok();
    assert!(
        app.stdout.contains("\"Action\": \"dsql:DbConnect\""),
        "{}",
        app.stdout
    );
    assert!(
        app.stdout
            .contains("CREATE ROLE \"we\"\"ird'role\" WITH LOGIN;")
            && app.stdout.contains(
                "AWS IAM GRANT \"we\"\"ird'role\" TO 'arn:aws:iam::210987654321:role/app-role';"
            )
            && app.stdout.contains(":210987654321:cluster/"),
        "{}",
        app.stdout
    );

    // --lookup: the caller's own identity from STS (moto), its assumed-role session turned
    // into the role.
    let looked = sb
        .run(&["setup", "looked", "--lookup", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        looked["principal"], "arn:aws:iam::123456789012:role/dsql-app-role",
        "{looked}"
    );
    assert_eq!(looked["account"], "123456789012");

    // The partition comes from the region.
    let gov = sb
        .run(&[
            "setup",
            "gov",
            "--principal",
            "arn:aws-us-gov:iam::123456789012:role/app",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        gov["resource_arn"],
        "arn:aws-us-gov:dsql:us-gov-west-1:123456789012:cluster/zyxwvutsrqponmlkjihgfedcba"
    );

    // A role with no principal says how to give one.
    let run = sb
        .run(&["setup", "app", "--account", "123456789012"])
        .fails(2);
    assert!(run.stderr.contains("--principal ARN"), "{}", run.stderr);
}

#[test]
fn doctor_and_inspect_know_dsql() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let moto = moto();
    let mut sb = dsql_sandbox("dsql-doctor", pg);
    sb.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{moto}"));
    let run = sb.run(&["doctor", "dsql-app", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(run.code, 0, "{doc}");
    let checks = doc["profiles"][0]["checks"].as_array().unwrap();
    let detail = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["detail"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert!(
        detail("region").contains("eu-west-1"),
        "{}",
        detail("region")
    );
    assert!(detail("tls").contains("TLS"), "{}", detail("tls"));
    assert!(detail("client").contains("psql"), "{}", detail("client"));

    let token = sb.run(&["token", "dsql-admin"]).ok().stdout;
    let mut inspect = sb.iamdb(&["inspect"]);
    let report = Run::with_input(&mut inspect, token.as_bytes());
    assert_eq!(report.code, 0, "{}", report.stdout);
    assert!(
        report.stdout.contains("Aurora DSQL") && report.stdout.contains("DbConnectAdmin"),
        "{}",
        report.stdout
    );
}
