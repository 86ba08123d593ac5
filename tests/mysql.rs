//! MySQL/MariaDB bridges, end to end: the real mysql and mariadb clients against a real
//! MariaDB server that checks each token the way RDS does (tests/common/my.rs). Every way in
//! has a negative twin that proves a wrong token is refused.

mod common;

use common::my::{self, My};
use common::pg;
use common::*;

const WHO: &[&str] = &[
    "-N",
    "-B",
    "-e",
    "SELECT SUBSTRING_INDEX(USER(), '@', 1), DATABASE()",
];

fn sandbox(name: &str, my: &My, profiles: &[(&str, &str, &str)]) -> Sandbox {
    let sb = Sandbox::new(name).with_env_keys();
    let text: String = profiles
        .iter()
        .map(|(p, host, user)| my.profile(p, host, user, "mariadb"))
        .collect();
    sb.write_config(&text);
    sb
}

fn client_args<'a>(client: &'a str, profile: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![client, profile, "--"];
    args.extend_from_slice(extra);
    args
}

fn refused(run: &Run) {
    assert_ne!(run.code, 0, "logged in with a wrong token: {}", run.stdout);
    assert!(run.stderr.contains("Access denied"), "{}", run.stderr);
}

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
fn exec_and_mycnf_give_other_programs_the_login() {
    if !my::available() {
        return;
    }
    let my = My::shared();
    let mut sb = sandbox("myexec", my, &[("db", "localhost", "app")]);
    let via_env = "mysql --defaults-file=\"$IAMDB_MYSQL_DEFAULTS_FILE\" -N -B -e \"SELECT SUBSTRING_INDEX(USER(), '@', 1)\"";
    assert_eq!(
        sb.run(&["exec", "db", "--", "bash", "-c", via_env])
            .ok()
            .stdout,
        "app\n"
    );
    let env = sb
        .run(&[
            "exec",
            "db",
            "--",
            "sh",
            "-c",
            "echo $MYSQL_HOST $MYSQL_TCP_PORT",
        ])
        .ok();
    assert_eq!(env.stdout, format!("localhost {}\n", my.port));

    let process_substitution = format!(
        "mysql --defaults-file=<({BIN} mycnf db) -N -B -e \"SELECT SUBSTRING_INDEX(USER(), '@', 1)\""
    );
    let run = Run::from(
        sb.command("bash")
            .args(["-c", &process_substitution])
            .output()
            .unwrap(),
    )
    .ok();
    assert_eq!(run.stdout, "app\n");
    let printed = sb.run(&["mycnf", "db"]).ok().stdout;
    // The client's own option files first (so the user's settings still apply), iamdb's
    // group last (so it wins).
    assert!(
        printed.starts_with("!include /etc/mysql/my.cnf\n[client]\nhost=\"localhost\"\n")
            && printed.ends_with("ssl-verify-server-cert\n"),
        "{printed}"
    );
    let oracle = sb.run(&["mycnf", "db", "--flavour", "mysql"]).ok().stdout;
    assert!(
        oracle.contains("ssl-mode=VERIFY_IDENTITY\nenable-cleartext-plugin\n"),
        "{oracle}"
    );

    sb.set("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000001");
    refused(&Run::from(
        sb.command("bash")
            .args(["-c", &process_substitution])
            .output()
            .unwrap(),
    ));
    refused(&sb.run(&["exec", "db", "--", "bash", "-c", via_env]));
}

#[test]
fn mycnf_sync_serves_defaults_group_suffix() {
    if !my::available() {
        return;
    }
    let my = My::shared();
    let sb = sandbox(
        "mycnfsync",
        my,
        &[("db", "localhost", "app"), ("odd", "localhost", "a+b c")],
    );
    let user_cnf = sb.home().join(".my.cnf");
    let foreign = "# mine\n[mysql]\nprompt=\"\\\\u@\\\\h> \"\n";
    std::fs::write(&user_cnf, foreign).unwrap();
    sb.run(&["mycnf", "sync"]).ok();
    let text = std::fs::read_to_string(&user_cnf).unwrap();
    assert!(text.starts_with(foreign), "{text}");
    assert_eq!(text.matches("!include ").count(), 1, "{text}");
    sb.run(&["mycnf", "sync", "db"]).ok();
    assert_eq!(
        std::fs::read_to_string(&user_cnf).unwrap(),
        text,
        "the include line is added once"
    );
    let tokens = sb.root.join("config/iamdb/my.cnf");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&tokens).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let suffix = |name: &str| {
        Run::from(
            sb.command("mysql")
                .args([
                    &format!("--defaults-group-suffix=_{name}"),
                    "-N",
                    "-B",
                    "-e",
                    "SELECT SUBSTRING_INDEX(USER(), '@', 1)",
                ])
                .output()
                .unwrap(),
        )
    };
    assert_eq!(suffix("db").ok().stdout, "app\n");
    assert_eq!(suffix("odd").ok().stdout, "a+b c\n");

    // The negative twin: with iamdb's groups removed, mysql has no token to send.
    sb.run(&["mycnf", "sync", "--remove"]).ok();
    assert_eq!(std::fs::read_to_string(&user_cnf).unwrap(), foreign);
    let run = suffix("db");
    assert_ne!(run.code, 0);
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
