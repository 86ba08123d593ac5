//! Tab completion as the real shells run it: the scripts in shell/completions are what
//! `iamdb completions` prints now, and bash (with bash-completion loading the script lazily),
//! zsh (compinit, `_iamdb` autoloaded from $fpath) and fish (its completion path) offer the
//! config file's profiles of the right engine, AWS profile names and shell names.

use std::path::Path;

use crate::common::*;

const SCRIPTS: &[(&str, &str)] = &[
    ("bash", "iamdb.bash"),
    ("zsh", "_iamdb"),
    ("fish", "iamdb.fish"),
    ("elvish", "iamdb.elv"),
    ("powershell", "_iamdb.ps1"),
];

fn completions_dir() -> std::path::PathBuf {
    support("../../shell/completions")
}

#[test]
fn committed_scripts_are_what_iamdb_prints() {
    let sb = Sandbox::new("completion-scripts");
    for (shell, file) in SCRIPTS {
        let printed = sb.run(&["completions", shell]).ok().stdout;
        let committed = std::fs::read_to_string(completions_dir().join(file)).unwrap();
        assert!(
            printed == committed,
            "shell/completions/{file} is stale: run `cargo run -- completions {shell} > shell/completions/{file}`"
        );
        // The scripts call back `iamdb` on PATH, never the path of the binary that wrote them.
        assert!(!committed.contains("target/"), "{file}: {committed}");
    }
    sb.run(&["completions", "tcsh"]).fails(2);
}

/// A sandbox whose PATH finds this iamdb, with two PostgreSQL profiles (one known only by its
/// port), one MySQL profile and two AWS profiles; bash-completion and fish find the scripts
/// where a user's own completions go.
fn sandbox(name: &str) -> Sandbox {
    let mut sb = Sandbox::new(name);
    let bin_dir = Path::new(BIN).parent().unwrap().display().to_string();
    let path = format!("{bin_dir}:{}", sb.env["PATH"]);
    sb.set("PATH", path);
    let data = sb.root.join("data");
    sb.set("XDG_DATA_HOME", data.display().to_string());
    let bash_dir = data.join("bash-completion/completions");
    std::fs::create_dir_all(&bash_dir).unwrap();
    std::fs::copy(completions_dir().join("iamdb.bash"), bash_dir.join("iamdb")).unwrap();
    sb.write_config(
        "[profiles.prod]\nengine = \"postgres\"\nhost = \"prod.c1.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n\
         [profiles.\"pg.by-port\"]\nhost = \"h.c1.eu-west-1.rds.amazonaws.com\"\nport = 5432\nuser = \"u\"\n\
         [profiles.reports]\nengine = \"mariadb\"\nhost = \"r.c1.eu-west-1.rds.amazonaws.com\"\nuser = \"rep\"\n",
    );
    sb.write_aws_config(
        "[default]\nregion = eu-west-1\n[profile ops-admin]\nrole_arn = x\n[sso-session corp]\n",
    );
    sb.write_aws_credentials("[ci]\naws_access_key_id = A\n");
    sb
}

/// What the shell offered, without the options (`--help`, ...) that clap adds everywhere.
fn values(lines: &str) -> Vec<String> {
    let mut v: Vec<String> = lines
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_string())
        .filter(|w| !w.is_empty() && !w.starts_with('-'))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The cases every shell must get right: a line typed so far, and the values offered.
const CASES: &[(&str, &[&str])] = &[
    ("iamdb psql ", &["pg.by-port", "prod"]),
    ("iamdb mysql ", &["reports"]),
    ("iamdb mariadb re", &["reports"]),
    ("iamdb pgpass sync ", &["pg.by-port", "prod"]),
    ("iamdb mycnf sync ", &["reports"]),
    ("iamdb token pr", &["prod"]),
    ("iamdb exec ", &["pg.by-port", "prod", "reports"]),
    (
        "iamdb token --aws-profile ",
        &["ci", "default", "ops-admin"],
    ),
    (
        "iamdb completions ",
        &["bash", "elvish", "fish", "powershell", "zsh"],
    ),
    ("iamdb shell-init ", &["bash", "fish", "zsh"]),
];

fn check(shell: &str, complete: impl Fn(&str) -> Run) {
    for (line, want) in CASES {
        let run = complete(line);
        assert_eq!(run.code, 0, "{shell}, {line:?}: {}", run.stderr);
        assert_eq!(
            values(&run.stdout),
            *want,
            "{shell}, {line:?}: {}",
            run.stdout
        );
    }
}

#[test]
fn bash_with_bash_completion_offers_profiles() {
    let loader = "/usr/share/bash-completion/bash_completion";
    if !present(
        "bash-completion",
        "bash-completion",
        Path::new(loader).exists(),
    ) {
        return;
    }
    let sb = sandbox("complete-bash");
    check("bash", |line| {
        // bash-completion finds the script in the user's completions directory the first
        // time `iamdb` is completed, as in an interactive shell; then the line is completed
        // the way readline would call the function.
        let script = format!(
            "source {loader}\n\
             _completion_loader iamdb\n\
             spec=$(complete -p iamdb) || exit 9\n\
             fn=${{spec##*-F }}; fn=${{fn%% *}}\n\
             COMP_LINE={line:?}; COMP_POINT=${{#COMP_LINE}}\n\
             read -ra COMP_WORDS <<< \"$COMP_LINE\"\n\
             [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')\n\
             COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
             \"$fn\" iamdb \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
        );
        Run::from(sb.command("bash").args(["-c", &script]).output().unwrap())
    });
}

#[test]
fn zsh_with_compinit_offers_profiles() {
    if !require("zsh") {
        return;
    }
    let sb = sandbox("complete-zsh");
    let driver = support("zsh_complete.zsh");
    let dir = completions_dir();
    check("zsh", |line| {
        Run::from(
            sb.command("zsh")
                .arg("-f")
                .arg(&driver)
                .arg(line)
                .arg(&dir)
                .output()
                .unwrap(),
        )
    });
}

#[test]
fn fish_offers_profiles() {
    if !require("fish") {
        return;
    }
    let sb = sandbox("complete-fish");
    let dir = completions_dir().display().to_string();
    check("fish", |line| {
        Run::from(
            sb.command("fish")
                .args([
                    "--no-config",
                    "-c",
                    &format!("set -p fish_complete_path {dir}; complete -C {line:?}"),
                ])
                .output()
                .unwrap(),
        )
    });
}

#[test]
fn a_broken_config_offers_nothing_and_no_error() {
    let sb = sandbox("complete-broken");
    sb.write_config("[profiles.x\n");
    let run = Run::from(
        sb.iamdb(&["--", "iamdb", "psql", ""])
            .env("_IAMDB_COMPLETE", "fish")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(values(&run.stdout).is_empty(), "{}", run.stdout);
    assert_eq!(run.stderr, "");
}
