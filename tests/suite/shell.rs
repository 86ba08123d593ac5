//! What a shell reads: the POSIX wrappers in shell/ and `iamdb shell-init` output, run by the
//! real shells (dash, bash, zsh, fish) against the real test servers, and checked by
//! shellcheck.

use crate::common::my::{self, My};
use crate::common::pg::{self, Pg};
use crate::common::*;

/// A sandbox whose PATH finds this iamdb, with one PostgreSQL and one MariaDB profile.
fn sandbox(name: &str) -> Sandbox {
    let pg = Pg::shared();
    let my = My::shared();
    let mut sb = Sandbox::new(name).with_env_keys();
    let bin_dir = std::path::Path::new(BIN)
        .parent()
        .unwrap()
        .display()
        .to_string();
    let path = format!("{bin_dir}:{}", sb.env["PATH"]);
    sb.set("PATH", path);
    sb.write_config(&format!(
        "{}{}",
        pg.profile("pgdb", "localhost", "app")
            .replace("connect_host = \"127.0.0.1\"\n", ""),
        my.profile("mydb", "localhost", "app", "mariadb")
    ));
    sb
}

fn shell(sb: &Sandbox, program: &str, args: &[&str]) -> Run {
    Run::from(sb.command(program).args(args).output().unwrap())
}

const PG_WHO: &str = "-X -tA -c 'SELECT current_user'";
const MY_WHO: &str = "-N -B -e 'SELECT SUBSTRING_INDEX(USER(), \"@\", 1)'";

#[test]
fn the_posix_wrappers_log_in_from_every_shell() {
    if !pg::available()
        || !my::available()
        || !require("dash")
        || !require("zsh")
        || !require("fish")
    {
        return;
    }
    let mut sb = sandbox("wrappers");
    let psql_iam = support("../../shell/psql-iam").display().to_string();
    let mysql_iam = support("../../shell/mysql-iam").display().to_string();
    // Interpreted by each POSIX-capable shell...
    for sh in ["dash", "bash", "zsh"] {
        assert_eq!(
            shell(&sb, sh, &["-c", &format!("{psql_iam} pgdb {PG_WHO}")])
                .ok()
                .stdout,
            "app\n",
            "{sh}"
        );
        assert_eq!(
            shell(&sb, sh, &["-c", &format!("{mysql_iam} mydb {MY_WHO}")])
                .ok()
                .stdout,
            "app\n",
            "{sh}"
        );
        let usage = shell(&sb, sh, &[&psql_iam]);
        assert_eq!(usage.code, 2, "{sh}");
        assert!(usage.stderr.contains("usage: psql-iam PROFILE"));
    }
    // ...and called by path from fish, which cannot read sh but runs it through its #!.
    let from_fish = format!(
        "{psql_iam} pgdb -X -tA -c 'SELECT current_user'; and {mysql_iam} mydb -N -B -e 'SELECT 1'"
    );
    assert_eq!(
        shell(&sb, "fish", &["-c", &from_fish]).ok().stdout,
        "app\n1\n"
    );

    sb.set("AWS_SECRET_ACCESS_KEY", "wrong");
    let run = shell(&sb, "dash", &["-c", &format!("{psql_iam} pgdb {PG_WHO}")]);
    assert!(
        run.code != 0 && run.stderr.contains("PAM authentication failed"),
        "{}",
        run.stderr
    );
    let run = shell(&sb, "dash", &["-c", &format!("{mysql_iam} mydb {MY_WHO}")]);
    assert!(
        run.code != 0 && run.stderr.contains("Access denied"),
        "{}",
        run.stderr
    );
}

#[test]
fn shell_init_makes_each_profile_a_command() {
    if !pg::available() || !my::available() || !require("zsh") || !require("fish") {
        return;
    }
    let mut sb = sandbox("shellinit");
    let bash =
        format!("eval \"$(iamdb shell-init bash)\"; psql-pgdb {PG_WHO} && mariadb-mydb {MY_WHO}");
    assert_eq!(shell(&sb, "bash", &["-c", &bash]).ok().stdout, "app\napp\n");
    let zsh =
        format!("eval \"$(iamdb shell-init zsh)\"; psql-pgdb {PG_WHO} && mariadb-mydb {MY_WHO}");
    assert_eq!(shell(&sb, "zsh", &["-c", &zsh]).ok().stdout, "app\napp\n");
    let fish = "iamdb shell-init fish | source; psql-pgdb -X -tA -c 'SELECT current_user'; and mariadb-mydb -N -B -e 'SELECT 1'";
    assert_eq!(shell(&sb, "fish", &["-c", fish]).ok().stdout, "app\n1\n");

    sb.set("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000001");
    let run = shell(&sb, "zsh", &["-c", &zsh]);
    assert!(
        run.code != 0 && run.stderr.contains("PAM authentication failed"),
        "{}",
        run.stderr
    );
    let run = shell(&sb, "fish", &["-c", fish]);
    assert!(
        run.code != 0 && run.stderr.contains("PAM authentication failed"),
        "{}",
        run.stderr
    );

    sb.run(&["shell-init", "tcsh"]).fails(2);
}

#[test]
fn shellcheck_passes_on_every_script() {
    if !require("shellcheck") {
        return;
    }
    let sb = Sandbox::new("shellcheck").with_env_keys();
    sb.write_config("[profiles.a]\nengine = \"postgres\"\nhost = \"h\"\nuser = \"u\"\n[profiles.\"b-2.x\"]\nengine = \"mysql\"\nhost = \"h\"\nuser = \"u\"\n");
    // Every POSIX or bash file in shell/: by shebang, by extension, or (the shell-init
    // template) by name. fish and zsh files are not shellcheck's to judge.
    let mut checked = Vec::new();
    let mut dirs = vec![support("../../shell")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let posix = text.starts_with("#!/bin/sh") || text.starts_with("#!/usr/bin/env sh");
            let bash = text.starts_with("#!/usr/bin/env bash")
                || name.ends_with(".bash")
                || name.ends_with(".sh");
            if !posix && !bash {
                continue;
            }
            let run = Run::from(
                std::process::Command::new("shellcheck")
                    .args(["-s", if bash { "bash" } else { "sh" }])
                    .arg(&path)
                    .output()
                    .unwrap(),
            );
            assert_eq!(run.code, 0, "{}: {}", path.display(), run.stdout);
            checked.push(name);
        }
    }
    checked.sort();
    assert_eq!(
        checked,
        ["bash.sh", "iamdb.bash", "mysql-iam", "psql-iam"],
        "the files shellcheck looked at"
    );
    let init = sb.run(&["shell-init", "bash"]).ok().stdout;
    assert!(init.contains("mysql-b-2.x()"), "{init}");
    let run = Run::with_input(
        std::process::Command::new("shellcheck").args(["-s", "bash", "-"]),
        init.as_bytes(),
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}
