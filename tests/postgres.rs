//! PostgreSQL bridges, end to end: real psql (libpq) against a real PostgreSQL that checks
//! each token the way RDS does (tests/common/pg.rs). Every way in has a negative twin that
//! proves a wrong token is refused.

mod common;

use common::pg::{self, Pg};
use common::*;

fn sandbox(name: &str, pg: &Pg, profiles: &[(&str, &str, &str, bool)]) -> Sandbox {
    let sb = Sandbox::new(name).with_env_keys();
    let mut text = String::new();
    for (profile, host, user, tunnel) in profiles {
        let mut p = pg.profile(profile, host, user);
        if !tunnel {
            p = p.replace("connect_host = \"127.0.0.1\"\n", "");
        }
        text.push_str(&p);
    }
    sb.write_config(&text);
    sb
}

fn refused(run: &Run) {
    assert_ne!(run.code, 0, "logged in with a wrong token: {}", run.stdout);
    assert!(
        run.stderr.contains("PAM authentication failed"),
        "{}",
        run.stderr
    );
}

const WHO: &[&str] = &["-X", "-tA", "-c", "SELECT current_user"];

fn psql_args<'a>(profile: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["psql", profile, "--"];
    args.extend_from_slice(extra);
    args
}

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
fn iamdb_exec_gives_any_program_the_connection() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let mut sb = sandbox("exec", pg, &[("db", "localhost", "app", false)]);
    let run = sb
        .run(&[
            "exec",
            "db",
            "--",
            "psql",
            "-X",
            "-tA",
            "-c",
            "SELECT current_user || '@' || current_database()",
        ])
        .ok();
    assert_eq!(run.stdout, "app@shop\n");
    let env = sb
        .run(&[
            "exec",
            "db",
            "--",
            "sh",
            "-c",
            "echo $PGHOST $PGPORT $PGUSER $PGDATABASE $PGSSLMODE",
        ])
        .ok();
    assert_eq!(
        env.stdout,
        format!("localhost {} app shop verify-full\n", pg.port)
    );

    let run = sb
        .run(&["exec", "db", "--", "no-such-program-iamdb"])
        .fails(2);
    assert!(
        run.stderr.contains("cannot run no-such-program-iamdb"),
        "{}",
        run.stderr
    );

    sb.set("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000001");
    refused(&sb.run(&["exec", "db", "--", "psql", "-X", "-tA", "-c", "SELECT 1"]));
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
fn pgpass_sync_feeds_plain_psql() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = sandbox(
        "pgpass",
        pg,
        &[
            ("db", "localhost", "app", false),
            ("viatunnel", pg::RDS_NAME, "a+b c", true),
        ],
    );
    let pgpass = sb.home().join(".pgpass");
    let foreign = "# my own lines\nlocalhost:5432:*:me:hunter2\n*:*:*:legacy:pa\\:ss\n";
    std::fs::write(&pgpass, foreign).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();

    let run = sb.run(&["pgpass", "sync"]).ok();
    assert!(
        run.stderr.contains("was readable by others"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&pgpass).unwrap();
    assert!(
        text.starts_with(foreign),
        "foreign lines kept byte for byte:\n{text}"
    );
    assert_eq!(
        std::fs::metadata(&pgpass).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        text.contains(&format!(
            "localhost:{}:shop:app:localhost\\:{}/?Action=connect",
            pg.port, pg.port
        )),
        "escaped:\n{text}"
    );

    let plain = |conninfo: &str| {
        sb.command("psql")
            .args([conninfo, "-X", "-tA", "-c", "SELECT current_user"])
            .output()
            .map(Run::from)
            .unwrap()
    };
    let conninfo = format!(
        "host=localhost port={} dbname=shop user=app sslmode=verify-full sslrootcert={}",
        pg.port,
        pg.ca.display()
    );
    assert_eq!(plain(&conninfo).ok().stdout, "app\n");
    let tunnel = format!(
        "host={} hostaddr=127.0.0.1 port={} dbname=shop user='a+b c' sslmode=verify-full sslrootcert={}",
        pg::RDS_NAME,
        pg.port,
        pg.ca.display()
    );
    assert_eq!(plain(&tunnel).ok().stdout, "a+b c\n");

    // The negative twin: once iamdb's lines are removed, libpq has no password to send.
    sb.run(&["pgpass", "sync", "--remove"]).ok();
    assert_eq!(std::fs::read_to_string(&pgpass).unwrap(), foreign);
    let run = plain(&conninfo);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("no password supplied"),
        "{}",
        run.stderr
    );

    // A symlinked .pgpass stays a link; only the named profile is written.
    let real = sb.root.join("dotfiles-pgpass");
    std::fs::rename(&pgpass, &real).unwrap();
    std::os::unix::fs::symlink(&real, &pgpass).unwrap();
    sb.run(&["pgpass", "sync", "db"]).ok();
    assert!(
        std::fs::symlink_metadata(&pgpass)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(
        text.contains("# iamdb profile db\n") && !text.contains("viatunnel"),
        "{text}"
    );
    assert_eq!(plain(&conninfo).ok().stdout, "app\n");
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
