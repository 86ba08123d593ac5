//! What ships beside the binary stays true to it: the man pages in packaging/man are what
//! `iamdb man` writes now, `man` can read them, and `--version` names the commit.

use std::path::Path;

use crate::common::*;

#[test]
fn committed_man_pages_are_up_to_date_and_readable() {
    let sb = Sandbox::new("man");
    let out = sb.root.join("man");
    let run = sb.run(&["man", &out.display().to_string()]).ok();
    assert!(run.stdout.starts_with("wrote "), "{}", run.stdout);
    let committed = support("../../packaging/man");
    let names = |dir: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&out),
        names(&committed),
        "pages added or removed: run `iamdb man packaging/man`"
    );
    for name in names(&out) {
        let fresh = std::fs::read(out.join(&name)).unwrap();
        let old = std::fs::read(committed.join(&name)).unwrap();
        assert!(
            fresh == old,
            "packaging/man/{name} is out of date: run `iamdb man packaging/man`"
        );
    }
    assert!(
        names(&out).contains(&"iamdb-profile-add.1".to_string()),
        "one page per subcommand"
    );

    if !require("man") {
        return;
    }
    for (page, want) in [
        ("iamdb.1", "iamdb-token"),
        ("iamdb-token.1", "--aws-profile"),
        ("iamdb-mycnf-sync.1", "--remove"),
    ] {
        let rendered = sb
            .command("man")
            .args(["-l", "-P", "cat"])
            .arg(committed.join(page))
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(
            rendered.status.success() && text.contains(want),
            "{page}: {text}"
        );
    }
}

#[test]
fn version_names_the_commit() {
    let sb = Sandbox::new("version");
    let version = sb.run(&["--version"]).ok().stdout;
    let inside_git = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short=12",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match inside_git {
        Some(commit) => assert_eq!(
            version,
            format!("iamdb {} (commit {commit})\n", env!("CARGO_PKG_VERSION"))
        ),
        None => assert!(
            version.contains("not built from a git checkout"),
            "{version}"
        ),
    }
}

#[test]
fn the_readme_settings_table_is_the_schemas() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let table = iamdb_core::settings::markdown_table();
    if readme.contains(&table) {
        return;
    }
    // IAMDB_BLESS=1 rewrites the table in place: adding a setting is its schema entry, and
    // this file follows.
    let start = readme
        .find("| key | meaning | when unset |")
        .expect("README.md has a settings table");
    let end = readme[start..]
        .find("\n\n")
        .map_or(readme.len(), |n| start + n + 1);
    if std::env::var_os("IAMDB_BLESS").is_some() {
        let blessed = format!("{}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(path, blessed).unwrap();
        return;
    }
    panic!(
        "README.md's settings table differs from the settings schema \
         (IAMDB_BLESS=1 cargo test --test suite docs:: rewrites it); it should read:\n{table}"
    );
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

/// The README's sh blocks under `heading`, up to the next `## ` heading.
fn readme_commands(heading: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading}"));
    let rest = &readme[start + heading.len()..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    section
        .split("```sh\n")
        .skip(1)
        .map(|b| b[..b.find("```").unwrap()].to_string())
        .collect()
}

#[test]
fn the_quick_start_is_what_the_project_supports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quick = readme_commands("## Quick start");
    // First: build both programs exactly as tested (--locked) and make a token.
    let build = &quick[0];
    let installs: Vec<&str> = build
        .split("&&")
        .map(str::trim)
        .filter(|c| c.starts_with("cargo install"))
        .collect();
    assert_eq!(installs.len(), 2, "{build}");
    for c in &installs {
        assert!(
            c.contains("--locked"),
            "without --locked, cargo ignores Cargo.lock: {c}"
        );
    }
    assert!(installs[0].ends_with("--path ."), "{build}");
    assert!(
        installs[1].ends_with("--path crates/iamdb-credentials"),
        "{build}"
    );
    assert!(build.contains("&& iamdb token "), "{build}");
    // Every `cargo install` of iamdb anywhere in the README is --locked too.
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for line in readme
        .lines()
        .filter(|l| l.contains("cargo install") && l.contains("--path"))
    {
        assert!(line.contains("--locked"), "{line}");
    }
    // The test command is the one CI runs.
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let test_command = quick
        .iter()
        .find(|c| c.contains("tests/run.sh"))
        .expect("the Quick start's test command")
        .trim();
    assert!(
        ci.lines()
            .any(|l| l.trim() == format!("exec {test_command}")),
        ".ci/run does not run {test_command:?}:\n{ci}"
    );
    // The Rust version the README names is Cargo.toml's rust-version, and no locked
    // dependency needs a newer one.
    let meta = crate::crates::metadata();
    let ours = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "iamdb")
        .and_then(|p| p["rust_version"].as_str())
        .expect("iamdb's rust-version")
        .to_string();
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    for p in meta["packages"].as_array().unwrap() {
        if let Some(needs) = p["rust_version"].as_str() {
            assert!(
                version(needs) <= version(&ours),
                "{} {} needs Rust {needs}, but rust-version is {ours}",
                p["name"],
                p["version"]
            );
        }
    }
    for heading in ["## Quick start", "## Install"] {
        let rest = &readme[readme.find(heading).unwrap()..];
        assert!(
            rest[..rest[3..].find("\n## ").unwrap_or(rest.len())]
                .contains(&format!("Rust {ours} or newer")),
            "{heading} does not say Rust {ours}"
        );
    }
    assert!(
        readme.contains("C compiler"),
        "aws-lc-sys needs a C compiler; the README must say so"
    );
}
