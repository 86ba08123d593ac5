//! `iamdb setup`: the resource id looked up in moto's RDS, the account from moto's STS, the
//! policy accepted by moto's IAM, and the SQL run on the real test servers, where the user it
//! creates then logs in with an iamdb token.

use crate::common::*;

fn moto_env(sb: &mut Sandbox, moto: u16) {
    let url = format!("http://127.0.0.1:{moto}");
    sb.set("AWS_ENDPOINT_URL_STS", &url)
        .set("AWS_ENDPOINT_URL_RDS", &url);
}

fn fixtures(moto: u16, suffix: &str) -> serde_json::Value {
    let out = stdout_of(
        std::process::Command::new("python3")
            .arg(support("rds_fixtures.py"))
            .arg(format!("http://127.0.0.1:{moto}"))
            .args(["eu-west-1", suffix]),
    );
    serde_json::from_str(&out).unwrap()
}

/// moto's IAM validates a policy document the way IAM does (version, effect, action, ARN).
fn iam_accepts(moto: u16, name: &str, policy: &serde_json::Value) {
    let out = Run::with_input(
        std::process::Command::new("python3").args([
            "-c",
            "import sys, boto3\n\
             iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                 aws_access_key_id='AKIAIOSFODNN7EXAMPLE', aws_secret_access_key='x')\n\
             iam.create_policy(PolicyName=sys.argv[2], PolicyDocument=sys.stdin.read())",
            &format!("http://127.0.0.1:{moto}"),
            name,
        ]),
        policy.to_string().as_bytes(),
    );
    assert_eq!(out.code, 0, "IAM refused the policy: {}", out.stderr);
}

#[test]
fn lookup_finds_instances_clusters_and_proxies_through_the_rds_api() {
    if !require("python3") {
        return;
    }
    let moto = moto();
    let truth = fixtures(moto, "lk");
    let mut sb = Sandbox::new("setup-lookup").with_env_keys();
    moto_env(&mut sb, moto);
    let user = "jane*$?";
    let mut config = String::new();
    for (name, key, engine) in [
        ("inst", "instance", "postgres"),
        ("reader", "cluster", "mysql"),
        ("member", "member", "mysql"),
        ("proxy", "proxy", "postgres"),
    ] {
        config.push_str(&format!(
            "[profiles.{name}]\nengine = \"{engine}\"\nhost = \"{}\"\nuser = \"{user}\"\n",
            truth[key]["host"].as_str().unwrap()
        ));
    }
    config.push_str("[profiles.lost]\nengine = \"postgres\"\nhost = \"gone.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"x\"\n");
    sb.write_config(&config);

    let setup = |profile: &str| {
        sb.run(&["setup", profile, "--lookup", "--format", "json"])
            .ok()
            .json()
    };
    let escaped_user = "jane${*}${$}${?}";
    for (profile, key, kind, enable) in [
        (
            "inst",
            "instance",
            "instance",
            "modify-db-instance --db-instance-identifier",
        ),
        (
            "reader",
            "cluster",
            "cluster",
            "modify-db-cluster --db-cluster-identifier",
        ),
        (
            "member",
            "cluster",
            "cluster",
            "modify-db-cluster --db-cluster-identifier",
        ),
        ("proxy", "proxy", "proxy", "modify-db-proxy --db-proxy-name"),
    ] {
        let doc = setup(profile);
        let rid = truth[key]["resource_id"].as_str().unwrap();
        let id = truth[key]["id"].as_str().unwrap();
        assert_eq!(doc["account"], "123456789012", "{profile}: {doc}");
        assert_eq!(doc["resource"]["kind"], kind, "{profile}: {doc}");
        assert_eq!(doc["resource"]["resource_id"], rid, "{profile}: {doc}");
        assert_eq!(doc["resource"]["identifier"], id, "{profile}: {doc}");
        let arn = format!("arn:aws:rds-db:eu-west-1:123456789012:dbuser:{rid}/{escaped_user}");
        assert_eq!(doc["resource_arn"], arn.as_str());
        assert_eq!(doc["policy"]["Statement"][0]["Resource"], arn.as_str());
        assert_eq!(doc["policy"]["Statement"][0]["Action"], "rds-db:connect");
        assert_eq!(
            doc["enable_iam"],
            format!(
                "aws rds {enable} {id} {}--region eu-west-1",
                match kind {
                    "proxy" => "--default-auth-scheme IAM_AUTH --require-tls ",
                    _ => "--enable-iam-database-authentication --apply-immediately ",
                }
            )
            .as_str()
        );
        iam_accepts(moto, &format!("iamdb-{profile}"), &doc["policy"]);
    }
    // Aurora grants IAM on the cluster: the instance endpoint leads there.
    assert_eq!(
        setup("member")["resource"]["via_instance"],
        truth["member"]["id"]
    );
    assert_eq!(setup("inst")["resource"]["iam_enabled"], true);
    assert_eq!(setup("reader")["resource"]["iam_enabled"], false);

    let text = sb.run(&["setup", "reader", "--lookup"]).ok().stdout;
    assert!(text.contains("(it is OFF now)"), "{text}");
    assert!(
        text.contains("IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;"),
        "{text}"
    );

    let lost = sb.run(&["setup", "lost", "--lookup"]);
    assert_eq!(lost.code, 3, "{}", lost.stderr);
    assert!(
        lost.stderr
            .contains("no RDS instance, Aurora cluster or RDS Proxy in eu-west-1 has the endpoint gone.c9akciq32.eu-west-1.rds.amazonaws.com"),
        "{}",
        lost.stderr
    );

    // Without --account the account comes from STS; STS down is a clear error, not a hang.
    sb.set(
        "AWS_ENDPOINT_URL_STS",
        format!("http://127.0.0.1:{}", free_port()),
    );
    let down = sb.run(&["setup", "inst", "--resource-id", "db-ABC"]);
    assert_eq!(down.code, 4, "{}", down.stderr);
    assert!(
        down.stderr.contains("STS GetCallerIdentity failed"),
        "{}",
        down.stderr
    );
    let offline = sb
        .run(&[
            "setup",
            "inst",
            "--resource-id",
            "db-ABC",
            "--account",
            "210987654321",
            "--format",
            "json",
        ])
        .ok();
    assert!(
        offline
            .stdout
            .contains("arn:aws:rds-db:eu-west-1:210987654321:dbuser:db-ABC/jane${*}${$}${?}")
    );
}

#[test]
fn arguments_are_checked() {
    let sb = Sandbox::new("setup-args").with_env_keys();
    sb.write_config(&format!("[profiles.p]\nengine = \"postgres\"\nhost = \"db.c9akciq32.cn-north-1.rds.amazonaws.com.cn\"\nuser = \"u\"\n\
                     [profiles.bad]\nengine = \"postgres\"\nhost = \"db.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"{}\"\n", "x".repeat(64)));
    let none = sb.run(&["setup", "p"]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("give --resource-id ID, or --lookup"),
        "{}",
        none.stderr
    );
    let name = sb.run(&[
        "setup",
        "p",
        "--resource-id",
        "mydb",
        "--account",
        "123456789012",
    ]);
    assert_eq!(name.code, 2);
    assert!(
        name.stderr
            .contains("--resource-id: \"mydb\" is not a resource id"),
        "{}",
        name.stderr
    );
    let account = sb.run(&["setup", "p", "--resource-id", "db-A", "--account", "12345"]);
    assert_eq!(account.code, 2);
    assert!(
        account.stderr.contains("not an AWS account id"),
        "{}",
        account.stderr
    );
    let bad = sb.run(&[
        "setup",
        "bad",
        "--resource-id",
        "db-A",
        "--account",
        "123456789012",
    ]);
    assert_eq!(bad.code, 3);
    assert!(
        bad.stderr
            .contains("the user name is 64 bytes long; postgres user names have at most 63"),
        "{}",
        bad.stderr
    );
    // China's partition comes from the region.
    let cn = sb
        .run(&[
            "setup",
            "p",
            "--resource-id",
            "cluster-XYZ",
            "--account",
            "123456789012",
        ])
        .ok()
        .stdout;
    assert!(
        cn.contains("\"arn:aws-cn:rds-db:cn-north-1:123456789012:dbuser:cluster-XYZ/u\""),
        "{cn}"
    );
    assert!(
        cn.contains("aws rds modify-db-cluster --db-cluster-identifier CLUSTER-ID"),
        "{cn}"
    );
}

/// `setup PROFILE` as JSON, with the resource id and account given: no AWS call.
fn offline_setup(sb: &Sandbox, profile: &str) -> serde_json::Value {
    sb.run(&[
        "setup",
        profile,
        "--resource-id",
        "db-ABC",
        "--account",
        "123456789012",
        "--format",
        "json",
    ])
    .ok()
    .json()
}

/// `s` escaped for the inside of a TOML basic string.
/// Names that break naive quoting: quotes of every kind, a statement separator, a shell
/// substitution, a backslash, non-ASCII.
const NAMES: &[&str] = &[
    "O'Brien \"x\"",
    "a; DROP ROLE rds_iam; --",
    "$(id) `x` \\n",
    "ünï cødé",
];

#[test]
fn postgres_sql_creates_users_that_log_in_with_iamdb() {
    if !crate::common::pg::available() {
        return;
    }
    let pg = crate::common::pg::Pg::shared();
    let sb = Sandbox::new("setup-pg").with_env_keys();
    let mut config = String::new();
    for (i, name) in NAMES.iter().enumerate() {
        let toml_name = toml_escape(name);
        config.push_str(
            &pg.profile(&format!("u{i}"), "localhost", &toml_name)
                .replace("connect_host = \"127.0.0.1\"\n", ""),
        );
    }
    sb.write_config(&config);
    for (i, name) in NAMES.iter().enumerate() {
        let doc = offline_setup(&sb, &format!("u{i}"));
        assert_eq!(doc["user"], *name);
        for statement in doc["sql"].as_array().unwrap() {
            pg.sql(statement.as_str().unwrap());
        }
        // A table from before the grants, and one the master user creates after them (the
        // default privileges); `serial` needs its sequence too.
        pg.sql_in(
            "shop",
            &format!("CREATE TABLE setup_before_{i} (id serial PRIMARY KEY, v text)"),
        );
        for statement in doc["database_sql"].as_array().unwrap() {
            pg.sql_in("shop", statement.as_str().unwrap());
        }
        pg.sql_in(
            "shop",
            &format!("CREATE TABLE setup_after_{i} (id serial PRIMARY KEY, v text)"),
        );
        let as_user = |sql: &str| {
            sb.run(&[
                "psql",
                &format!("u{i}"),
                "--",
                "-X",
                "-qtA",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
        };
        for table in [format!("setup_before_{i}"), format!("setup_after_{i}")] {
            let rows = as_user(&format!(
                "INSERT INTO {table} (v) VALUES ('x'); UPDATE {table} SET v = 'y'; \
                 SELECT count(*) FROM {table} WHERE v = 'y'"
            ))
            .ok()
            .stdout;
            assert_eq!(rows, "1\n", "{name} on {table}");
            as_user(&format!("DELETE FROM {table}")).ok();
        }
        // The application user changes no schema: the broad grant is only a comment.
        for (change, why) in [
            (
                format!("CREATE TABLE setup_mine_{i} (x int)"),
                "permission denied",
            ),
            (format!("DROP TABLE setup_before_{i}"), "must be owner"),
            (
                format!("CREATE SCHEMA setup_schema_{i}"),
                "permission denied",
            ),
        ] {
            let run = as_user(&change);
            assert_ne!(run.code, 0, "{name} could {change}");
            assert!(run.stderr.contains(why), "{change}: {}", run.stderr);
        }
        let member = pg.sql(&format!(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member \
             JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = 'rds_iam' AND u.rolname = $q${name}$q$"
        ));
        assert_eq!(member.trim(), "1", "{name} is not in rds_iam");
        let who = sb
            .run(&[
                "psql",
                &format!("u{i}"),
                "--",
                "-X",
                "-tA",
                "-c",
                "SELECT current_user",
            ])
            .ok()
            .stdout;
        assert_eq!(who, format!("{name}\n"));
        assert!(
            pg.sql("SELECT count(*) FROM pg_roles WHERE rolname = 'rds_iam'")
                .trim()
                == "1"
        );
    }
}

#[test]
fn mariadb_sql_creates_users_that_require_tls() {
    if !crate::common::my::available() {
        return;
    }
    let my = crate::common::my::My::shared();
    let sb = Sandbox::new("setup-my").with_env_keys();
    let mut config = String::new();
    for (i, name) in NAMES.iter().enumerate() {
        let toml_name = toml_escape(name);
        config.push_str(&my.profile(&format!("u{i}"), "localhost", &toml_name, "mariadb"));
    }
    sb.write_config(&config);
    for (i, name) in NAMES.iter().enumerate() {
        let doc = offline_setup(&sb, &format!("u{i}"));
        let sql: Vec<&str> = doc["sql"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        // AWSAuthenticationPlugin exists only on RDS; this server checks tokens through PAM.
        // Everything else (the quoted account name, REQUIRE SSL, the grant) runs as printed.
        let plugin = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'";
        assert!(sql[0].contains(plugin), "{}", sql[0]);
        let create = sql[0].replace(
            plugin,
            &format!("IDENTIFIED VIA pam USING '{}'", my.pam_service),
        );
        my.sql(&create);
        for statement in &sql[1..] {
            my.sql(statement);
        }
        // What an application user does works; changing the schema does not (the broad
        // grant is only a comment).
        my.sql(&format!(
            "CREATE TABLE IF NOT EXISTS shop.setup_grants_{i} (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)"
        ));
        let as_user =
            |sql: &str| sb.run(&["mariadb", &format!("u{i}"), "--", "-N", "-B", "-e", sql]);
        let rows = as_user(&format!(
            "INSERT INTO shop.setup_grants_{i} (v) VALUES ('x'); UPDATE shop.setup_grants_{i} SET v = 'y'; \
             SELECT COUNT(*) FROM shop.setup_grants_{i} WHERE v = 'y'; DELETE FROM shop.setup_grants_{i}"
        ))
        .ok()
        .stdout;
        assert_eq!(rows, "1\n", "{name}");
        for change in [
            format!("CREATE TABLE shop.setup_mine_{i} (x INT)"),
            format!("DROP TABLE shop.setup_grants_{i}"),
            format!("ALTER TABLE shop.setup_grants_{i} ADD COLUMN w INT"),
        ] {
            let run = as_user(&change);
            assert_ne!(run.code, 0, "{name} could {change}");
            assert!(
                run.stderr.contains("command denied"),
                "{change}: {}",
                run.stderr
            );
        }
        let ssl = my.sql(&format!(
            "SELECT ssl_type FROM mysql.user WHERE user = {} AND host = '%'",
            mysql_string(name)
        ));
        assert_eq!(ssl.trim(), "ANY", "{name}");
        let who = sb
            .run(&[
                "mariadb",
                &format!("u{i}"),
                "--",
                "-N",
                "-B",
                "-e",
                "SELECT CURRENT_USER()",
            ])
            .ok()
            .stdout;
        assert_eq!(who, format!("{}@%\n", name.replace('\\', "\\\\")));
    }
}

/// A MySQL string literal that means `s` under any sql_mode: hex.
fn mysql_string(s: &str) -> String {
    let hex: String = s.bytes().map(|b| format!("{b:02X}")).collect();
    format!("CONVERT(X'{hex}' USING utf8mb4)")
}

#[test]
fn mysql_grants_reach_only_the_profiles_database() {
    if !crate::common::my::available() {
        return;
    }
    let my = crate::common::my::My::shared();
    // `_` and `%` are wildcards in a database-level GRANT: `shop_prod` would also match
    // `shopXprod` unless escaped.
    my.sql("CREATE DATABASE IF NOT EXISTS `shop_prod`; CREATE DATABASE IF NOT EXISTS `shopXprod`");
    let sb = Sandbox::new("setup-wildcards").with_env_keys();
    sb.write_config(
        &my.profile("w", "localhost", "wild_user", "mariadb")
            .replace("database = \"shop\"", "database = \"shop_prod\""),
    );
    let doc = offline_setup(&sb, "w");
    let sql: Vec<&str> = doc["sql"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(sql[1].contains("`shop\\_prod`.*"), "{}", sql[1]);
    let plugin = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'";
    my.sql(&sql[0].replace(
        plugin,
        &format!("IDENTIFIED VIA pam USING '{}'", my.pam_service),
    ));
    my.sql(sql[1]);
    let query = |db: &str| {
        sb.run(&[
            "mariadb",
            "w",
            "--",
            "-N",
            "-B",
            "-e",
            &format!("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{db}'; USE `{db}`"),
        ])
    };
    assert_eq!(query("shop_prod").ok().stdout, "1\n");
    let other = query("shopXprod");
    assert_ne!(
        other.code, 0,
        "the grant reached shopXprod: {}",
        other.stdout
    );
    assert!(other.stderr.contains("Access denied"), "{}", other.stderr);
}

#[test]
fn setup_prints_the_narrow_grant_and_the_broad_one_as_a_comment() {
    let sb = Sandbox::new("setup-narrow").with_env_keys();
    sb.write_config(
        "[profiles.pg]\nengine = \"postgres\"\nhost = \"db.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\ndatabase = \"shop\"\n\
         [profiles.my]\nengine = \"mariadb\"\nhost = \"my.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\ndatabase = \"shop\"\n",
    );
    let text = |profile: &str| {
        sb.run(&[
            "setup",
            profile,
            "--resource-id",
            "db-ABC",
            "--account",
            "123456789012",
        ])
        .ok()
        .stdout
    };
    let pg = text("pg");
    for line in [
        "GRANT CONNECT ON DATABASE \"shop\" TO \"app\";",
        "\\connect \"shop\"",
        "GRANT USAGE ON SCHEMA public TO \"app\";",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"app\";",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \"app\";",
        "-- GRANT ALL PRIVILEGES ON DATABASE \"shop\" TO \"app\";",
    ] {
        assert!(pg.lines().any(|l| l == line), "{line:?} missing from\n{pg}");
    }
    let my = text("my");
    for line in [
        "GRANT SELECT, INSERT, UPDATE, DELETE ON `shop`.* TO `app`@`%`;",
        "-- GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`;",
    ] {
        assert!(my.lines().any(|l| l == line), "{line:?} missing from\n{my}");
    }
    // The broad grant is never a statement that runs when the SQL is pasted.
    for out in [&pg, &my] {
        assert!(
            !out.lines().any(|l| l.starts_with("GRANT ALL")),
            "an uncommented broad grant:\n{out}"
        );
    }
    let doc = offline_setup(&sb, "my");
    assert_eq!(
        doc["broad_sql"],
        serde_json::json!(["GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`;"])
    );
    assert!(!doc["sql"].to_string().contains("ALL PRIVILEGES"), "{doc}");
}
