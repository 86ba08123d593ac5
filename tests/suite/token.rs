//! `iamdb token`: errors that name the flag and exit with the documented code, JSON output,
//! flags over the profile, and a closed pipe.

use crate::common::*;

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
            "--host: contains ' '",
        ),
        (
            &["token", "--host", HOST, "--user", "", "--port", "1"],
            2,
            "--user: is empty",
        ),
        (
            &["token", "--host", HOST, "--user", "a\nb", "--port", "1"],
            2,
            "control character",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--port", "0"],
            2,
            "--port: must be between 1 and 65535, not 0",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--port", "70000"],
            2,
            "70000",
        ),
        (
            &["token", "--host", HOST, "--user", "u", "--engine", "oracle"],
            2,
            "--engine: \"oracle\" is not one of postgres, mysql",
        ),
        (&["token", "producton"], 3, "no profile named 'producton'"),
        (&["token", "producton"], 3, "did you mean 'production'"),
        (
            &["token", "production", "--format", "yaml"],
            2,
            "--format: \"yaml\" is not one of text, raw or json",
        ),
    ] {
        let run = sb.run(args).fails(code);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn flag_value_errors_have_one_prefix_and_one_wording() {
    let sb = Sandbox::new("flagwords").with_env_keys();
    let base = ["token", "--host", HOST, "--user", "u"];
    for (extra, want) in [
        (
            &["--port", "0"][..],
            "iamdb: error: --port: must be between 1 and 65535, not 0\n",
        ),
        (
            &["--port", "99999"][..],
            "iamdb: error: --port: must be between 1 and 65535, not 99999\n",
        ),
        (
            &["--port", "x"][..],
            "iamdb: error: --port: must be between 1 and 65535, not \"x\"\n",
        ),
        // Values with named choices, the setting's (checked by the schema, as the config
        // file's are) and clap's own alike.
        (
            &["--port", "1", "--engine", "postgress"][..],
            "iamdb: error: --engine: \"postgress\" is not one of postgres, mysql, mariadb, dsql, elasticache or memorydb; did you mean postgres?\n",
        ),
        (
            &["--port", "1", "--format", "yaml"][..],
            "iamdb: error: --format: \"yaml\" is not one of text, raw or json\n",
        ),
    ] {
        let args = [&base[..], extra].concat();
        let run = sb.run(&args).fails(2);
        assert_eq!(run.stderr, want, "{args:?}");
        assert!(run.stdout.is_empty());
    }
    // clap's other errors carry iamdb's prefix too.
    let run = sb.run(&["token", "--bogus"]).fails(2);
    assert!(
        run.stderr
            .starts_with("iamdb: error: unexpected argument '--bogus' found"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.lines().any(|l| l.starts_with("error:")),
        "{}",
        run.stderr
    );
}

#[test]
fn region_typos_in_flags_are_usage_errors_that_suggest_the_region() {
    let sb = Sandbox::new("regiontypo").with_env_keys();
    for (region, want) in [
        (
            "eu-wset-1",
            "iamdb: error: --region: eu-wset-1 is not an AWS region; did you mean eu-west-1?\n",
        ),
        (
            "us-gov-wset-1",
            "iamdb: error: --region: us-gov-wset-1 is not an AWS region; did you mean us-gov-west-1?\n",
        ),
        (
            "eu-west1",
            "iamdb: error: --region: \"eu-west1\" is not an AWS region name; did you mean eu-west-1?\n",
        ),
    ] {
        let run = sb
            .run(&[
                "token",
                "--host",
                HOST,
                "--engine",
                "postgres",
                "--user",
                "app",
                "--region",
                region,
                "--no-cache",
            ])
            .fails(2);
        assert_eq!(run.stderr, want);
        assert!(run.stdout.is_empty(), "no token: {}", run.stdout);
    }
}

#[test]
fn a_region_newer_than_iamdb_is_used_with_a_warning() {
    let sb = Sandbox::new("newregion").with_env_keys();
    let newer = "db1.c9akciq32.xy-moon-1.rds.amazonaws.com";
    let run = sb
        .run(&[
            "token",
            "--host",
            newer,
            "--engine",
            "postgres",
            "--user",
            "app",
            "--region",
            "xy-moon-1",
            "--no-cache",
        ])
        .ok();
    assert_eq!(
        run.stderr,
        format!(
            "iamdb: warning: region xy-moon-1 is not one iamdb {} knows: taken for a region newer than this release\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert!(
        run.token().contains("%2Fxy-moon-1%2Frds-db"),
        "{}",
        run.token()
    );

    // The same region read from the endpoint name: AWS named it, so no warning.
    let run = sb
        .run(&[
            "token",
            "--host",
            newer,
            "--engine",
            "postgres",
            "--user",
            "app",
            "--no-cache",
        ])
        .ok();
    assert_eq!(run.stderr, "");
    assert!(
        run.token().contains("%2Fxy-moon-1%2Frds-db"),
        "{}",
        run.token()
    );

    // Known regions of every partition are taken silently.
    for region in [
        "eu-west-1",
        "ap-southeast-7",
        "cn-northwest-1",
        "us-gov-east-1",
        "eusc-de-east-1",
    ] {
        let run = sb
            .run(&[
                "token",
                "--host",
                "10.0.0.1",
                "--engine",
                "postgres",
                "--user",
                "app",
                "--region",
                region,
                "--no-cache",
            ])
            .ok();
        assert_eq!(run.stderr, "", "{region}");
        assert!(
            run.token().contains(&format!("%2F{region}%2Frds-db")),
            "{region}: {}",
            run.token()
        );
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
fn text_is_one_line_and_raw_has_no_newline() {
    let sb = Sandbox::new("raw").with_env_keys();
    let args = [
        "token", "--host", HOST, "--engine", "postgres", "--user", "app",
    ];
    let text = sb.run(&args).ok().stdout;
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "{text:?}"
    );
    let raw = sb
        .run(&[&args[..], &["--format", "raw"]].concat())
        .ok()
        .stdout;
    assert_eq!(
        raw,
        text.trim_end(),
        "the cached token, without its newline"
    );
    assert!(!raw.contains(['\n', '\r']));
}

#[test]
fn the_short_path_for_token_profile_answers_exactly_as_clap_does() {
    // `iamdb token PROFILE` is read without clap (src/main.rs); adding `--format text` (the
    // default) sends the same request through clap. Both must print and exit alike.
    let mut sb = Sandbox::new("fastpath").with_env_keys();
    sb.write_config(&format!(
        "[profiles.prod]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n\
         [profiles.nohost]\nengine = \"postgres\"\nuser = \"app\"\n\
         [profiles.help]\nengine = \"mysql\"\nhost = \"{HOST}\"\nuser = \"h\"\n"
    ));
    sb.run(&["token", "prod"]).ok();
    sb.run(&["token", "help"]).ok();
    let compare = |sb: &Sandbox, profile: &str| {
        let fast = sb.run(&["token", profile]);
        let clap = sb.run(&["token", profile, "--format", "text"]);
        assert_eq!(
            (fast.code, &fast.stdout, &fast.stderr),
            (clap.code, &clap.stdout, &clap.stderr),
            "token {profile}"
        );
        fast
    };
    assert!(compare(&sb, "prod").stdout.starts_with(HOST));
    assert!(compare(&sb, "help").stdout.contains("DBUser=h&"));
    assert_eq!(compare(&sb, "prdo").code, 3);
    assert_eq!(compare(&sb, "nohost").code, 2);
    compare(&sb, "a b");
    // IAMDB_CONFIG is honoured on both paths.
    let other = sb.root.join("other.toml");
    std::fs::write(
        &other,
        format!("[profiles.elsewhere]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"e\"\n"),
    )
    .unwrap();
    sb.set("IAMDB_CONFIG", other.to_str().unwrap());
    assert!(compare(&sb, "elsewhere").stdout.contains("DBUser=e&"));
    assert_eq!(compare(&sb, "prod").code, 3);
    // A bad IAMDB_* variable is refused on both paths.
    sb.set("IAMDB_CACHE", "floppy");
    assert_eq!(compare(&sb, "elsewhere").code, 2);
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
