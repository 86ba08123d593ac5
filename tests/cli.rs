//! The command line as users and scripts meet it: profiles edited without disturbing the
//! rest of the file, errors that name the file, line and flag, and documented exit codes.

mod common;

use common::*;

const ORIGINAL: &str = "# Databases of the payments team.\n\
[defaults]\n\
aws_profile = \"payments\"   # SSO role\n\
\n\
# Production, through the bastion.\n\
[profiles.prod]\n\
engine = \"postgres\"\n\
host = \"prod.c9akciq32.eu-west-1.rds.amazonaws.com\"\n\
user = \"app\"\n";

#[test]
fn profile_add_and_remove_keep_every_other_byte() {
    let sb = Sandbox::new("profiles");
    sb.write_config(ORIGINAL);
    let run = sb
        .run(&[
            "profile",
            "add",
            "reports",
            "--engine",
            "mysql",
            "--host",
            "rep.c9akciq32.us-east-1.rds.amazonaws.com",
            "--user",
            "reader",
            "--database",
            "sales",
            "--refresh-margin",
            "60",
        ])
        .ok();
    assert!(
        run.stdout.starts_with("added profile 'reports'"),
        "{}",
        run.stdout
    );
    let text = std::fs::read_to_string(sb.config_path()).unwrap();
    assert!(text.starts_with(ORIGINAL), "{text}");
    assert_eq!(
        &text[ORIGINAL.len()..],
        "\n[profiles.reports]\nengine = \"mysql\"\nhost = \"rep.c9akciq32.us-east-1.rds.amazonaws.com\"\nuser = \"reader\"\ndatabase = \"sales\"\nrefresh_margin = 60\n"
    );

    let list = sb.run(&["profile", "list"]).ok().stdout;
    assert!(
        list.contains("prod ") && list.contains("reports "),
        "{list}"
    );
    assert!(
        list.contains("rep.c9akciq32.us-east-1.rds.amazonaws.com:3306"),
        "{list}"
    );
    let json = sb.run(&["profile", "list", "--format", "json"]).ok().json();
    assert_eq!(json.as_array().unwrap().len(), 2);

    let show = sb
        .run(&["profile", "show", "reports", "--format", "json"])
        .ok()
        .json();
    assert_eq!(show["region"], "us-east-1");
    assert_eq!(show["region_source"], "the host name");
    assert_eq!(show["aws_profile"], "payments", "[defaults] applies");
    assert_eq!(show["port"], 3306);
    let text_show = sb.run(&["profile", "show", "reports"]).ok().stdout;
    assert!(
        text_show.contains("us-east-1 (from the host name)"),
        "{text_show}"
    );

    let run = sb
        .run(&[
            "profile",
            "add",
            "reports",
            "--host",
            "x.example",
            "--user",
            "u",
            "--port",
            "1",
        ])
        .fails(3);
    assert!(
        run.stderr.contains("profile 'reports' already exists"),
        "{}",
        run.stderr
    );

    sb.run(&["profile", "remove", "reports"]).ok();
    assert_eq!(std::fs::read_to_string(sb.config_path()).unwrap(), ORIGINAL);
    let run = sb.run(&["profile", "remove", "prdo"]).fails(3);
    assert!(run.stderr.contains("did you mean 'prod'"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(sb.config_path()).unwrap(), ORIGINAL);
}

#[test]
fn profile_add_creates_the_file_and_follows_symlinks() {
    let sb = Sandbox::new("addnew");
    sb.run(&[
        "profile", "add", "first", "--engine", "postgres", "--host", HOST, "--user", "app",
    ])
    .ok();
    let text = std::fs::read_to_string(sb.config_path()).unwrap();
    assert_eq!(
        text,
        format!("[profiles.first]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n")
    );

    // A config file linked from a dotfiles repository stays a link.
    let real = sb.root.join("dotfiles-config.toml");
    std::fs::rename(sb.config_path(), &real).unwrap();
    std::os::unix::fs::symlink(&real, sb.config_path()).unwrap();
    sb.run(&[
        "profile", "add", "second", "--port", "5433", "--host", HOST, "--user", "app",
    ])
    .ok();
    assert!(
        std::fs::symlink_metadata(sb.config_path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("[profiles.second]")
    );
}

#[test]
fn profile_add_refuses_bad_input_and_broken_files() {
    let sb = Sandbox::new("addbad");
    for (args, code, want) in [
        (
            &[
                "profile", "add", "bad name", "--host", "h", "--user", "u", "--port", "1",
            ][..],
            2,
            "contains ' '",
        ),
        (
            &["profile", "add", "x", "--user", "u", "--port", "1"],
            2,
            "needs --host",
        ),
        (
            &["profile", "add", "x", "--host", "h", "--port", "1"],
            2,
            "sets no user: give --user",
        ),
        (
            &["profile", "add", "x", "--host", "h", "--user", "u"],
            2,
            "give --port or --engine",
        ),
        (
            &[
                "profile", "add", "x", "--host", "h", "--user", "u", "--port", "0",
            ],
            2,
            "--port must be between 1 and 65535",
        ),
        (
            &[
                "profile", "add", "x", "--host", "h\nx", "--user", "u", "--port", "1",
            ],
            2,
            "--host contains '\\n'",
        ),
        (
            &[
                "profile", "add", "x", "--host", "h", "--user", "u", "--port", "1", "--region",
                "mars",
            ],
            2,
            "--region \"mars\" is not an AWS region name",
        ),
        (
            &[
                "profile",
                "add",
                "x",
                "--host",
                "h",
                "--user",
                "u",
                "--port",
                "1",
                "--refresh-margin",
                "900",
            ],
            2,
            "--refresh-margin must be",
        ),
    ] {
        let run = sb.run(args).fails(code);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    assert!(!sb.config_path().exists(), "nothing written");

    let broken = "[profiles.a]\nhost = \"h\"\nport = \"x\"\n";
    sb.write_config(broken);
    let run = sb
        .run(&[
            "profile", "add", "b", "--host", "h", "--user", "u", "--port", "1",
        ])
        .fails(3);
    assert!(run.stderr.contains("config.toml:3:8:"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(sb.config_path()).unwrap(), broken);
}

#[test]
fn concurrent_profile_adds_all_land() {
    let sb = Sandbox::new("addparallel");
    sb.write_config(ORIGINAL);
    let children: Vec<_> = (0..12)
        .map(|i| {
            let name = format!("p{i}");
            sb.iamdb(&[
                "profile", "add", &name, "--host", HOST, "--user", "u", "--engine", "postgres",
            ])
            .output_async()
        })
        .collect();
    for c in children {
        assert!(c.wait_with_output().unwrap().status.success());
    }
    let text = std::fs::read_to_string(sb.config_path()).unwrap();
    assert!(text.starts_with(ORIGINAL));
    for i in 0..12 {
        assert!(
            text.contains(&format!("[profiles.p{i}]")),
            "p{i} lost:\n{text}"
        );
    }
}

trait OutputAsync {
    fn output_async(&mut self) -> std::process::Child;
}

impl OutputAsync for std::process::Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

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
            format!("{path}:2:10: engine \"oracle\" is not one of postgres, mysql or mariadb"),
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
fn token_usage_errors_name_the_flag() {
    let sb = Sandbox::new("usage").with_env_keys();
    sb.write_config(&format!(
        "[profiles.production]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n"
    ));
    for (args, code, want) in [
        (&["token"][..], 2, "no host given: give --host"),
        (&["token", "--host", HOST], 2, "no user given: give --user"),
        (
            &["token", "--host", HOST, "--user", "u"],
            2,
            "give --port or --engine",
        ),
        (
            &["token", "--host", "db host", "--user", "u", "--port", "1"],
            2,
            "--host contains ' '",
        ),
        (
            &["token", "--host", HOST, "--user", "", "--port", "1"],
            2,
            "--user is empty",
        ),
        (
            &["token", "--host", HOST, "--user", "a\nb", "--port", "1"],
            2,
            "control character",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--port", "0"],
            2,
            "--port must be between 1 and 65535, not 0",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--port", "70000"],
            2,
            "70000",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--engine", "oracle"],
            2,
            "invalid value 'oracle'",
        ),
        (&["token", "producton"], 3, "no profile named 'producton'"),
        (&["token", "producton"], 3, "did you mean 'production'"),
        (
            &["token", "production", "--format", "yaml"],
            2,
            "invalid value 'yaml'",
        ),
    ] {
        let run = sb.run(args).fails(code);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn json_output_has_every_field() {
    let sb = Sandbox::new("json").with_env_keys();
    let doc = sb
        .run(&[
            "token", "--host", HOST, "--engine", "postgres", "--user", "app", "--format", "json",
        ])
        .ok()
        .json();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "cached",
            "expires_at",
            "host",
            "port",
            "profile",
            "region",
            "token",
            "user"
        ]
    );
    assert_eq!(doc["profile"], serde_json::Value::Null);
    assert_eq!(doc["region"], "eu-west-1");
    assert_eq!(doc["port"], 5432);
    let expires = doc["expires_at"].as_str().unwrap();
    assert!(
        expires.len() == 20 && expires.ends_with('Z') && expires.contains('T'),
        "{expires}"
    );
}

#[test]
fn flags_override_the_profile() {
    let sb = Sandbox::new("override").with_env_keys();
    sb.write_config(&format!("[profiles.db]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\nregion = \"eu-west-1\"\n"));
    let doc = sb
        .run(&[
            "token",
            "db",
            "--user",
            "admin",
            "--port",
            "6432",
            "--format",
            "json",
            "--no-cache",
        ])
        .ok()
        .json();
    assert_eq!(
        (doc["user"].as_str(), doc["port"].as_i64()),
        (Some("admin"), Some(6432))
    );
    assert!(
        doc["token"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{HOST}:6432/?Action=connect&DBUser=admin&"))
    );

    // A region that contradicts the host is used, with a warning: the login would fail.
    let run = sb
        .run(&["token", "db", "--region", "us-east-1", "--no-cache"])
        .ok();
    assert!(
        run.stderr
            .contains("warning: signing for region us-east-1, but"),
        "{}",
        run.stderr
    );
    assert!(run.token().contains("%2Fus-east-1%2Frds-db"));
}

#[test]
fn help_and_version() {
    let sb = Sandbox::new("help");
    let help = sb.run(&["--help"]).ok().stdout;
    for word in ["token", "profile", "cache", "Exit codes"] {
        assert!(help.contains(word), "{word}: {help}");
    }
    let help = sb.run(&["token", "--help"]).ok().stdout;
    for flag in [
        "--host",
        "--port",
        "--engine",
        "--user",
        "--region",
        "--aws-profile",
        "--format",
        "--no-cache",
        "--refresh",
    ] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    assert!(sb.run(&["--version"]).ok().stdout.starts_with("iamdb "));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let sb = Sandbox::new("pipe").with_env_keys();
    let out = sb
        .command("sh")
        .args(["-c", &format!("{BIN} token --host {HOST} --engine postgres --user app --no-cache | head -c 5; echo \" rc=${{PIPESTATUS:-0}}\"")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("db1.c"));
}

#[test]
fn ca_install_writes_the_rds_bundle_that_profiles_use() {
    let sb = Sandbox::new("ca").with_env_keys();
    let path = sb.run(&["ca", "path"]).ok().stdout;
    let path = std::path::PathBuf::from(path.trim_end());
    assert_eq!(path, sb.home().join(".local/share/iamdb/rds-ca-bundle.pem"));
    assert!(!path.exists());
    let run = sb.run(&["ca", "install"]).ok();
    assert!(run.stdout.starts_with("installed "), "{}", run.stdout);
    let embedded =
        std::fs::read(support("../../crates/iamdb-core/assets/rds-ca-bundle.pem")).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), embedded);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // openssl reads every certificate in it.
    let certs = Run::from(
        std::process::Command::new("openssl")
            .args(["storeutl", "-noout", "-certs"])
            .arg(&path)
            .output()
            .unwrap(),
    )
    .ok();
    let count = run
        .stdout
        .split('(')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(
        certs.stdout.contains(&format!("Total found: {count}")),
        "{}",
        certs.stdout
    );
    assert!(count.parse::<usize>().unwrap() > 100);
    let again = sb.run(&["ca", "install"]).ok();
    assert!(
        again.stdout.starts_with("already current: "),
        "{}",
        again.stdout
    );

    // A damaged copy is replaced, and a profile without ssl_ca points clients at it.
    std::fs::write(&path, "junk").unwrap();
    sb.write_config(
        "[profiles.p]\nengine = \"postgres\"\nhost = \"p.c1.eu-west-1.rds.amazonaws.com\"\nuser = \"a\"\n",
    );
    let env = sb
        .run(&["exec", "p", "--", "sh", "-c", "echo \"$PGSSLROOTCERT\""])
        .ok()
        .stdout;
    assert_eq!(env.trim_end(), path.display().to_string());
    assert_eq!(std::fs::read(&path).unwrap(), embedded);
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
