//! `iamdb mysql` and `iamdb mariadb`, end to end: the real mysql and mariadb clients against a
//! real MariaDB server that checks each token the way RDS does (common/my.rs). Every way in
//! has a negative twin that proves a wrong token is refused.

use crate::common::my::{self, My, WHO, client_args, refused, sandbox};
use crate::common::*;

#[test]
fn iamdb_mysql_and_mariadb_log_in_with_verified_tls() {
    if !my::available() {
        return;
    }
    let my = My::shared();
    let mut sb = sandbox(
        "mysql",
        my,
        &[("db", "localhost", "app"), ("odd", "localhost", "a+b c")],
    );
    for client in ["mysql", "mariadb"] {
        let run = sb.run(&client_args(client, "db", WHO)).ok();
        assert_eq!(run.stdout, "app\tshop\n");
        assert!(
            !run.stderr.contains("obsolete"),
            "no obsolete-option warning: {}",
            run.stderr
        );
    }
    assert_eq!(
        sb.run(&client_args(
            "mysql",
            "odd",
            &["-N", "-B", "-e", "SELECT SUBSTRING_INDEX(USER(), '@', 1)"]
        ))
        .ok()
        .stdout,
        "a+b c\n"
    );
    let tls = sb
        .run(&client_args(
            "mysql",
            "db",
            &["-N", "-B", "-e", "SHOW STATUS LIKE 'Ssl_version'"],
        ))
        .ok();
    assert!(tls.stdout.contains("TLSv1"), "{}", tls.stdout);
    // Nothing is left on disk: the option file lived only as an open descriptor.
    let leftovers = std::fs::read_dir(sb.root.join("runtime/iamdb/mysql"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 0);

    sb.set("AWS_SECRET_ACCESS_KEY", "not-the-right-secret");
    refused(&sb.run(&client_args("mysql", "db", WHO)));
    assert!(my.verdicts().iter().any(|v| v["why"] == "bad signature"));
}

#[test]
fn long_session_credential_tokens_are_accepted() {
    if !my::available() {
        return;
    }
    let my = My::shared();
    let mut sb = sandbox("mysession", my, &[("db", "localhost", "app")]);
    sb.set("AWS_ACCESS_KEY_ID", pg::SESSION_AKID)
        .set("AWS_SECRET_ACCESS_KEY", pg::SESSION_SECRET)
        .set("AWS_SESSION_TOKEN", pg::session_token());
    assert_eq!(
        sb.run(&client_args("mysql", "db", WHO)).ok().stdout,
        "app\tshop\n"
    );
    sb.set("AWS_SESSION_TOKEN", "forged");
    refused(&sb.run(&client_args("mysql", "db", WHO)));
}

#[test]
fn a_tunnel_says_what_is_verified() {
    if !my::available() {
        return;
    }
    let my = My::shared();
    let tunnel = tunnel_to(my.port);
    let sb = Sandbox::new("mytunnel").with_env_keys();
    sb.write_config(&format!(
        "{}connect_host = \"127.0.0.1\"\nconnect_port = {tunnel}\n",
        my.profile("rds", pg::RDS_NAME, "app", "mariadb")
    ));
    let run = sb.run(&client_args("mysql", "rds", WHO)).ok();
    assert_eq!(run.stdout, "app\tshop\n");
    assert!(
        run.stderr
            .contains("cannot check the server certificate against pg1.c9akciq32"),
        "{}",
        run.stderr
    );
    let token = sb.run(&["token", "rds"]).ok().stdout;
    assert!(
        token.starts_with(&format!("{}:{}/?", pg::RDS_NAME, my.port)),
        "signed for the RDS endpoint: {token}"
    );
}

#[test]
fn no_token_appears_on_a_command_line() {
    if !my::available() {
        return;
    }
    let my = My::shared();
    let sb = sandbox("mycmdline", my, &[("db", "localhost", "app")]);
    let seen = scan_command_lines(
        sb.iamdb(&client_args(
            "mysql",
            "db",
            &["-N", "-B", "-e", "SELECT SLEEP(3)"],
        )),
        |cmdline| cmdline.starts_with("mysql\0--defaults-file=/dev/fd/"),
    );
    assert!(seen, "iamdb replaced itself with mysql reading /dev/fd");
}

#[test]
fn the_users_option_files_cannot_send_the_token_elsewhere() {
    if !my::available() {
        return;
    }
    let my = My::shared();
    let sb = sandbox("mycnf-override", my, &[("db", "localhost", "app")]);
    let fake = FakeServer::start(&sb, "mysql");
    // An untidy ~/.my.cnf: a local server in [client], TLS off, a password of its own, and a
    // preference of the user's (XML output) that must still apply.
    std::fs::write(
        sb.home().join(".my.cnf"),
        format!(
            "[client]\nhost=127.0.0.1\nport={}\nskip-ssl\nskip-ssl-verify-server-cert\npassword=userpw\n\n\
             [mysql]\nxml\n[mariadb-client]\nprotocol=socket\n",
            fake.port
        ),
    )
    .unwrap();
    let who = "SELECT SUBSTRING_INDEX(USER(), '@', 1) AS who";
    for client in ["mysql", "mariadb"] {
        let run = sb.run(&client_args(client, "db", &["-e", who])).ok();
        assert!(
            run.stdout.contains("<field name=\"who\">app</field>"),
            "{client}: logged in, with the user's own settings: {}",
            run.stdout
        );
    }
    let run = sb
        .run(&[
            "exec",
            "db",
            "--",
            "sh",
            "-c",
            &format!("mariadb --defaults-file=\"$IAMDB_MYSQL_DEFAULTS_FILE\" -N -B -e \"{who}\""),
        ])
        .ok();
    assert!(run.stdout.contains("app"), "{}", run.stdout);
    let mut c = sb.command("bash");
    c.arg("-c").arg(format!(
        "mariadb --defaults-file=<({BIN} mycnf db) -N -B -e \"{who}\""
    ));
    let run = Run::from(c.output().unwrap()).ok();
    assert!(run.stdout.contains("app"), "{}", run.stdout);
    fake.assert_untouched();
}
