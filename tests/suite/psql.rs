//! `iamdb psql`, end to end: real psql (libpq) against a real PostgreSQL that checks each token
//! the way RDS does (common/pg.rs). Every way in has a negative twin that proves a wrong token
//! is refused.

use crate::common::pg::{self, Pg, WHO, psql_args, refused, sandbox};
use crate::common::*;

#[test]
fn iamdb_psql_logs_in_with_verified_tls() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let mut sb = sandbox(
        "psql",
        pg,
        &[
            ("db", "localhost", "app", false),
            ("odd", "localhost", "a+b c", false),
        ],
    );
    assert_eq!(sb.run(&psql_args("db", WHO)).ok().stdout, "app\n");
    assert_eq!(sb.run(&psql_args("odd", WHO)).ok().stdout, "a+b c\n");
    let ssl = sb
        .run(&psql_args(
            "db",
            &[
                "-X",
                "-tA",
                "-c",
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            ],
        ))
        .ok();
    assert_eq!(ssl.stdout, "t\n");

    // The negative twin: a token signed with the wrong secret key.
    sb.set("AWS_SECRET_ACCESS_KEY", "not-the-right-secret");
    refused(&sb.run(&psql_args("db", WHO)));
    assert!(pg.verdicts().iter().any(|v| v["why"] == "bad signature"));
}

#[test]
fn long_session_credential_tokens_are_accepted() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let mut sb = sandbox("session", pg, &[("db", "localhost", "app", false)]);
    sb.set("AWS_ACCESS_KEY_ID", pg::SESSION_AKID)
        .set("AWS_SECRET_ACCESS_KEY", pg::SESSION_SECRET)
        .set("AWS_SESSION_TOKEN", pg::session_token());
    let token = sb.run(&["token", "db"]).ok().stdout;
    assert!(
        token.len() > 1500,
        "a session token makes a long token: {} bytes",
        token.len()
    );
    assert_eq!(sb.run(&psql_args("db", WHO)).ok().stdout, "app\n");

    sb.set("AWS_SESSION_TOKEN", format!("{}x", pg::session_token()));
    refused(&sb.run(&psql_args("db", WHO)));
}

#[test]
fn a_tunnel_keeps_the_certificate_checked_against_the_rds_name() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let tunnel = tunnel_to(pg.port);
    let sb = Sandbox::new("tunnel").with_env_keys();
    sb.write_config(&format!(
        "{}connect_port = {tunnel}\n{}connect_port = {tunnel}\n",
        pg.profile("rds", pg::RDS_NAME, "app"),
        pg.profile(
            "wrongname",
            "pg9.c9akciq32.eu-west-1.rds.amazonaws.com",
            "app"
        )
    ));
    assert_eq!(sb.run(&psql_args("rds", WHO)).ok().stdout, "app\n");
    // The token is signed for the RDS name and database port, not the tunnel end.
    let token = sb.run(&["token", "rds"]).ok().stdout;
    assert!(
        token.starts_with(&format!("{}:{}/?", pg::RDS_NAME, pg.port)),
        "{token}"
    );

    // The negative twin: a name the certificate does not carry fails TLS verification.
    let run = sb.run(&psql_args("wrongname", WHO));
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("does not match host name"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_token_appears_on_a_command_line() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = sandbox("cmdline", pg, &[("db", "localhost", "app", false)]);
    // Debian's psql wrapper execs the versioned binary in the same process.
    let seen = scan_command_lines(
        sb.iamdb(&psql_args("db", &["-X", "-tA", "-c", "SELECT pg_sleep(3)"])),
        |cmdline| {
            cmdline
                .split('\0')
                .next()
                .unwrap_or_default()
                .ends_with("psql")
        },
    );
    assert!(seen, "iamdb replaced itself with psql");
}

#[test]
fn client_commands_check_the_profile_engine() {
    let sb = Sandbox::new("engine").with_env_keys();
    sb.write_config(&format!(
        "[profiles.my]\nengine = \"mysql\"\nhost = \"{HOST}\"\nuser = \"u\"\n"
    ));
    let run = sb.run(&["psql", "my"]).fails(2);
    assert!(
        run.stderr
            .contains("profile 'my' is a mysql profile; iamdb psql needs a PostgreSQL one"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["psql", "nope"]).fails(3);
    assert!(
        run.stderr.contains("no profile named 'nope'"),
        "{}",
        run.stderr
    );
    sb.run(&["exec", "my"]).fails(2);
}

#[test]
fn the_server_refuses_tokens_for_another_user_endpoint_or_region() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = Sandbox::new("rules").with_env_keys();
    let port = pg.port.to_string();
    let login = |token_args: &[&str], why: &str| {
        let mut args = vec!["token", "--no-cache", "--port", &port];
        args.extend_from_slice(token_args);
        let token = sb.run(&args).ok().stdout;
        // The token goes to psql through its environment, as iamdb does.
        let conninfo = format!(
            "host=localhost port={port} dbname=shop user=app sslmode=verify-full sslrootcert={}",
            pg.ca.display()
        );
        let run = Run::from(
            sb.command("psql")
                .args([conninfo.as_str(), "-X", "-tA", "-c", "SELECT 1"])
                .env("PGPASSWORD", token.trim())
                .output()
                .unwrap(),
        );
        (
            run,
            pg.verdicts()
                .iter()
                .any(|v| v["why"].as_str().is_some_and(|w| w.contains(why))),
        )
    };
    let (run, _) = login(
        &[
            "--host",
            "localhost",
            "--user",
            "app",
            "--region",
            pg::REGION,
        ],
        "ok",
    );
    assert_eq!(run.ok().stdout, "1\n", "the control: a right token logs in");
    for (args, why) in [
        (
            &[
                "--host",
                "localhost",
                "--user",
                "other",
                "--region",
                pg::REGION,
            ][..],
            "for user 'other', not 'app'",
        ),
        (
            &[
                "--host",
                "db9.c9akciq32.eu-west-1.rds.amazonaws.com",
                "--user",
                "app",
            ],
            "signed for db9.c9akciq32",
        ),
        (
            &[
                "--host",
                "localhost",
                "--user",
                "app",
                "--region",
                "eu-west-2",
            ],
            "not eu-west-1/rds-db",
        ),
    ] {
        let (run, logged) = login(args, why);
        refused(&run);
        assert!(
            logged,
            "the verifier gave the reason {why:?}: {:?}",
            pg.verdicts()
        );
    }
}

#[test]
fn libpq_settings_in_the_environment_cannot_send_the_token_elsewhere() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let mut sb = sandbox("pgservice-env", pg, &[("db", "localhost", "app", false)]);
    // Another server the user also uses, in the service file libpq reads, and PGSERVICE set:
    // a service's values outrank every PG* variable iamdb sets.
    let fake = FakeServer::start(&sb, "pg");
    let dev = format!(
        "[dev]\nhost=127.0.0.1\nport={}\nsslmode=disable\n",
        fake.port
    );
    std::fs::write(sb.home().join(".pg_service.conf"), &dev).unwrap();
    let sysconf = sb.root.join("etc");
    std::fs::create_dir(&sysconf).unwrap();
    std::fs::write(sysconf.join("pg_service.conf"), &dev).unwrap();
    sb.set("PGSERVICE", "dev")
        .set("PGSYSCONFDIR", sysconf.display().to_string())
        .set("PGSSLNEGOTIATION", "direct")
        .set("PGREQUIRESSL", "0")
        .set("PGAPPNAME", "kept-as-it-is");
    let who = [
        "-X",
        "-tA",
        "-c",
        "SELECT current_user || ' ' || application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    ];
    let mut args = vec!["-v", "psql", "db", "--"];
    args.extend(who);
    let run = sb.run(&args).ok();
    assert_eq!(run.stdout, "app kept-as-it-is\n");
    assert!(
        run.stderr.contains("removed from the client's environment")
            && run.stderr.contains("PGSERVICE")
            && run.stderr.contains("PGSYSCONFDIR"),
        "-v names what was removed: {}",
        run.stderr
    );
    let mut args = vec!["exec", "db", "--", "psql"];
    args.extend(who);
    assert_eq!(sb.run(&args).ok().stdout, "app kept-as-it-is\n");
    // The service file named by PGSERVICEFILE is no way round it either.
    let services = sb.root.join("services.conf");
    std::fs::write(&services, &dev).unwrap();
    sb.set("PGSERVICEFILE", services.display().to_string());
    let mut args = vec!["psql", "db", "--"];
    args.extend(who);
    assert_eq!(sb.run(&args).ok().stdout, "app kept-as-it-is\n");
    fake.assert_untouched();
}
