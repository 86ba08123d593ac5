//! `iamdb profile list | show | add | remove`: profiles edited without disturbing the rest
//! of the file, under a lock, with errors that name the flag.

use crate::common::*;

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
            "--port: must be between 1 and 65535",
        ),
        (
            &[
                "profile", "add", "x", "--host", "h\nx", "--user", "u", "--port", "1",
            ],
            2,
            "--host: contains '\\n'",
        ),
        (
            &[
                "profile", "add", "x", "--host", "h", "--user", "u", "--port", "1", "--region",
                "mars",
            ],
            2,
            "--region: \"mars\" is not an AWS region name",
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
            "--refresh-margin: must be",
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
fn profile_add_refuses_a_region_typo_and_leaves_the_file() {
    let sb = Sandbox::new("addregion");
    let before = "# mine\n[profiles.a]\nhost = \"h\"\n";
    sb.write_config(before);
    let add = |region: &str| {
        sb.run(&[
            "profile", "add", "x", "--host", HOST, "--engine", "postgres", "--user", "u",
            "--region", region,
        ])
    };
    let run = add("eu-wset-1").fails(2);
    assert_eq!(
        run.stderr,
        "iamdb: error: --region: eu-wset-1 is not an AWS region; did you mean eu-west-1?\n"
    );
    assert_eq!(std::fs::read_to_string(sb.config_path()).unwrap(), before);

    // A region newer than iamdb is saved, with a warning that says so.
    let run = add("xy-moon-1").ok();
    assert!(
        run.stderr
            .contains("iamdb: warning: region xy-moon-1 is not one iamdb")
            && run.stderr.contains("newer than this release"),
        "{}",
        run.stderr
    );
    let after = std::fs::read_to_string(sb.config_path()).unwrap();
    assert!(after.contains("region = \"xy-moon-1\""), "{after}");
}
