//! The config file as every command reads it: errors that name the file, line and column,
//! `IAMDB_CONFIG`, and one answer, for every command, to which engine a profile is.

use crate::common::*;

#[test]
fn config_errors_name_file_line_and_column() {
    let sb = Sandbox::new("configerr").with_env_keys();
    let path = sb.config_path().display().to_string();
    for (text, want) in [
        (
            "[profiles.db]\nhots = \"x\"\n",
            format!("{path}:2:1: unknown field `hots`"),
        ),
        (
            "[profiles.db]\nhost = \"x\"\nport = 99999\n",
            format!("{path}:3:8: port must be between 1 and 65535, not 99999"),
        ),
        ("[profiles.db\n", format!("{path}:1:")),
        (
            "[profiles.db]\nengine = \"oracle\"\n",
            format!(
                "{path}:2:10: engine \"oracle\" is not one of postgres, mysql, mariadb, dsql, elasticache or memorydb"
            ),
        ),
    ] {
        sb.write_config(text);
        let run = sb.run(&["token", "db"]).fails(3);
        assert!(
            run.stderr.starts_with(&format!("iamdb: error: {want}")),
            "{text:?}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    }

    std::fs::write(sb.config_path(), b"[profiles.db]\nhost = \"\xff\"\n").unwrap();
    let run = sb.run(&["token", "db"]).fails(3);
    assert!(run.stderr.contains("not UTF-8"), "{}", run.stderr);

    let run = sb
        .run(&["--config", "/nonexistent/iamdb.toml", "token", "db"])
        .fails(3);
    assert!(
        run.stderr
            .contains("cannot read config file /nonexistent/iamdb.toml: no such file"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["--config", "/", "token", "db"]).fails(3);
    assert!(
        run.stderr.contains("cannot read config file /"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_region_typo_in_the_config_file_names_file_line_column_and_the_region() {
    let sb = Sandbox::new("configregion").with_env_keys();
    let path = sb.config_path().display().to_string();
    for (text, want) in [
        (
            "[profiles.db]\nhost = \"h\"\nregion = \"eu-wset-1\"\n",
            format!(
                "{path}:3:10: region eu-wset-1 is not an AWS region; did you mean eu-west-1?\n"
            ),
        ),
        (
            "[defaults]\nregion = \"ap-sotheast-2\"\n[profiles.db]\nhost = \"h\"\n",
            format!(
                "{path}:2:10: region ap-sotheast-2 is not an AWS region; did you mean ap-southeast-2?\n"
            ),
        ),
    ] {
        sb.write_config(text);
        for args in [&["token", "db"][..], &["profile", "list"][..]] {
            let run = sb.run(args).fails(3);
            assert_eq!(run.stderr, format!("iamdb: error: {want}"), "{args:?}");
        }
    }

    // A region newer than iamdb: the profile works, with a warning; a known one says nothing.
    sb.write_config(&format!(
        "[profiles.db]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\nregion = \"xy-moon-1\"\n[profiles.ok]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\nregion = \"eu-west-1\"\n"
    ));
    let run = sb.run(&["profile", "show", "db"]).ok();
    assert!(
        run.stderr
            .contains("warning: region xy-moon-1 is not one iamdb")
            && run.stderr.contains("newer than this release"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["token", "ok", "--no-cache"]).ok();
    assert_eq!(run.stderr, "");
}

#[test]
fn iamdb_config_names_another_file() {
    let mut sb = Sandbox::new("envconfig").with_env_keys();
    let other = sb.root.join("team.toml");
    std::fs::write(
        &other,
        format!("[profiles.team]\nengine = \"mysql\"\nhost = \"{HOST}\"\nuser = \"t\"\n"),
    )
    .unwrap();
    sb.set("IAMDB_CONFIG", other.display().to_string());
    let doc = sb
        .run(&["token", "team", "--format", "json", "--no-cache"])
        .ok()
        .json();
    assert_eq!(
        (doc["port"].as_i64(), doc["user"].as_str()),
        (Some(3306), Some("t"))
    );
}

#[test]
fn a_profile_that_says_only_port_5432_is_postgres_for_every_command() {
    // No `engine`: the port says PostgreSQL, and every command agrees (`pgpass sync` of all
    // profiles once skipped it while `psql` took it).
    let sb = Sandbox::new("port-only").with_env_keys();
    sb.write_config(&format!(
        "[profiles.legacy]\nhost = \"{HOST}\"\nport = 5432\nuser = \"app\"\n\
         [profiles.odd]\nhost = \"{HOST}\"\nport = 6000\nuser = \"app\"\n"
    ));
    let run = sb.run(&["pgpass", "sync"]).ok();
    assert!(
        run.stdout.starts_with("wrote 1 profile in "),
        "{}",
        run.stdout
    );
    let pgpass = std::fs::read_to_string(sb.home().join(".pgpass")).unwrap();
    assert!(pgpass.contains("# iamdb profile legacy\n"), "{pgpass}");
    let run = sb.run(&["pgservice", "sync"]).ok();
    assert!(
        run.stdout.starts_with("wrote 1 profile in "),
        "{}",
        run.stdout
    );
    let run = sb.run(&["shell-init", "bash"]).ok();
    assert!(run.stdout.contains("psql-legacy"), "{}", run.stdout);
    assert!(!run.stdout.contains("-odd"), "{}", run.stdout);
    let run = sb
        .run(&[
            "exec",
            "legacy",
            "--",
            "sh",
            "-c",
            "echo $PGPORT $PGSSLMODE",
        ])
        .ok();
    assert_eq!(run.stdout, "5432 verify-full\n");
    let run = sb.run(&["mycnf", "sync", "legacy"]).fails(2);
    assert!(
        run.stderr
            .contains("profile 'legacy' is a PostgreSQL profile"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["psql", "odd"]).fails(2);
    assert!(run.stderr.contains("sets no engine"), "{}", run.stderr);
}
