//! What ships beside the binary stays true to it: the man pages in packaging/man are what
//! `iamdb man` writes now, `man` can read them, and `--version` names the commit.

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
