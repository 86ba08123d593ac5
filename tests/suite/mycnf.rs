//! `iamdb mycnf` (an option file for `--defaults-file`), `iamdb mycnf sync` (groups for
//! `--defaults-group-suffix`), and `iamdb exec` for MySQL profiles, which hands programs the same
//! option file.

use crate::common::my::{self, My, refused, sandbox};
use crate::common::*;

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

const MY_PROFILE: &str = "[profiles.m]\nengine = \"mariadb\"\nhost = \"my1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n";

#[test]
fn remove_deletes_the_option_files_iamdb_made_and_keeps_the_users_own() {
    let sb = Sandbox::new("mycnf-leftover").with_env_keys();
    sb.write_config(MY_PROFILE);
    let user_cnf = sb.home().join(".my.cnf");
    let tokens = sb.root.join("config/iamdb/my.cnf");
    let sync = ["mycnf", "sync", "--flavour", "mariadb"];
    let remove = ["mycnf", "sync", "--remove", "--flavour", "mariadb"];

    // No ~/.my.cnf before: iamdb makes it for its include, and takes it away again.
    sb.run(&sync).ok();
    assert!(user_cnf.is_file() && tokens.is_file());
    let run = sb.run(&remove).ok();
    assert!(
        !tokens.exists(),
        "iamdb's option file with no group was left"
    );
    assert!(!user_cnf.exists(), "the ~/.my.cnf iamdb made was left");
    for gone in [&tokens, &user_cnf] {
        assert!(
            run.stdout.contains(&format!("removed {}:", gone.display())),
            "{}",
            run.stdout
        );
    }
    sb.run(&remove).ok();
    assert!(
        !user_cnf.exists() && !tokens.exists(),
        "--remove created empty files"
    );

    // The user's own ~/.my.cnf stays byte for byte, even when all it holds is a comment.
    for mine in ["# mine\n", "; a comment without a newline"] {
        std::fs::write(&user_cnf, mine).unwrap();
        sb.run(&sync).ok();
        assert!(
            std::fs::read_to_string(&user_cnf)
                .unwrap()
                .contains("!include ")
        );
        sb.run(&remove).ok();
        assert!(!tokens.exists());
        let left = std::fs::read_to_string(&user_cnf).unwrap();
        assert!(
            left.starts_with(mine) && left[mine.len()..].trim().is_empty(),
            "{left:?}"
        );
    }
}
