//! What the packages ship and what they run: the .deb and the RPM (built by tests/run.sh with
//! cargo-deb and cargo-generate-rpm) list every file in its place, the PKGBUILD's package()
//! installs the same set, the Homebrew formula names the same sources, the .deb installs
//! with dpkg and works (--version, man, bash completion, its systemd unit), and the systemd
//! unit's and the launchd agent's commands keep a synced .pgpass fresh and stop cleanly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

fn repo() -> PathBuf {
    support("../..").canonicalize().unwrap()
}

/// Every file a package installs, relative to /usr; `zsh` is where the distribution's zsh
/// looks for completions, `man` what the man pages' names end with (.gz in the .deb).
fn expected(zsh: &str, man: &str) -> BTreeSet<String> {
    let mut files: BTreeSet<String> = [
        "bin/iamdb",
        "bin/iamdb-credentials",
        "bin/psql-iam",
        "bin/mysql-iam",
        "share/bash-completion/completions/iamdb",
        "share/fish/vendor_completions.d/iamdb.fish",
        "lib/systemd/user/iamdb-refresh.service",
        "share/doc/iamdb/README.md",
    ]
    .iter()
    .map(|f| format!("usr/{f}"))
    .collect();
    files.insert(format!("usr/share/zsh/{zsh}/_iamdb"));
    for page in std::fs::read_dir(repo().join("packaging/man")).unwrap() {
        let name = page.unwrap().file_name().to_string_lossy().into_owned();
        files.insert(format!("usr/share/man/man1/{name}{man}"));
    }
    assert!(files.len() > 20, "{files:?}");
    files
}

/// A package file named by tests/run.sh in `var`.
fn built(var: &str, what: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map(PathBuf::from);
    let ok = path.as_ref().is_some_and(|p| p.is_file());
    present(
        "packages",
        &format!("{what} (${var}, built by tests/run.sh)"),
        ok,
    )
    .then(|| path.unwrap())
}

fn output(cmd: &mut std::process::Command) -> Run {
    Run::from(cmd.output().unwrap())
}

#[test]
fn the_deb_lists_every_file_in_its_place() {
    let Some(deb) = built("IAMDB_DEB", "the .deb") else {
        return;
    };
    let list = output(std::process::Command::new("dpkg-deb").arg("-c").arg(&deb)).ok();
    let mut files = BTreeSet::new();
    for line in list.stdout.lines() {
        // -rwxr-xr-x root/root 3712 2026-11-21 10:00 ./usr/bin/iamdb
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (mode, owner, path) = (fields[0], fields[1], fields[fields.len() - 1]);
        if mode.starts_with('d') {
            continue;
        }
        assert!(owner == "root/root" || owner == "0/0", "{line}");
        let path = path.trim_start_matches("./").to_string();
        let want = if path.starts_with("usr/bin/") {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert_eq!(mode, want, "{line}");
        files.insert(path);
    }
    let mut want = expected("vendor-completions", ".gz");
    want.insert("usr/share/doc/iamdb/copyright".into());
    assert_eq!(files, want);

    let info = output(std::process::Command::new("dpkg-deb").arg("-I").arg(&deb)).ok();
    assert!(info.stdout.contains("Package: iamdb"), "{}", info.stdout);
    assert!(info.stdout.contains("Depends: libc6"), "{}", info.stdout);
}

#[test]
fn the_rpm_lists_the_same_files() {
    let Some(rpm) = built("IAMDB_RPM", "the RPM") else {
        return;
    };
    if !require("rpm") {
        return;
    }
    let list = output(std::process::Command::new("rpm").arg("-qlp").arg(&rpm)).ok();
    let files: BTreeSet<String> = list
        .stdout
        .lines()
        .map(|l| l.trim_start_matches('/').to_string())
        .collect();
    assert_eq!(files, expected("site-functions", ""));
    let modes = output(
        std::process::Command::new("rpm")
            .args([
                "-qp",
                "--queryformat",
                "[%{FILEMODES:perms} %{FILENAMES}\\n]",
            ])
            .arg(&rpm),
    )
    .ok();
    for line in modes.stdout.lines() {
        let (mode, path) = line.split_once(' ').unwrap();
        let want = if path.starts_with("/usr/bin/") {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert_eq!(mode, want, "{line}");
    }
}

#[test]
fn the_pkgbuild_and_the_formula_install_the_same_files() {
    let release = repo().join("target/release");
    if !present(
        "packages",
        "release binaries (built by tests/run.sh)",
        release.join("iamdb").is_file() && release.join("iamdb-credentials").is_file(),
    ) {
        return;
    }
    // makepkg's package() step, run by bash as makepkg runs it.
    let sb = Sandbox::new("pkgbuild");
    let pkgdir = sb.root.join("pkg");
    let script = format!(
        "set -e; startdir={start}; pkgdir={pkg}; srcdir={src}; source {start}/PKGBUILD; package",
        start = repo().join("packaging/arch").display(),
        pkg = pkgdir.display(),
        src = sb.root.display(),
    );
    output(sb.command("bash").args(["-c", &script])).ok();
    let mut files = BTreeSet::new();
    let mut dirs = vec![pkgdir.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.insert(path.strip_prefix(&pkgdir).unwrap().display().to_string());
            }
        }
    }
    assert_eq!(files, expected("site-functions", ""));
    let installed = pkgdir.join("usr/bin/iamdb");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(release.join("iamdb")).unwrap()
    );

    // Homebrew is not runnable here: its install block must name every source the others
    // install (both binaries come from `cargo install`).
    let formula = std::fs::read_to_string(repo().join("packaging/homebrew/iamdb.rb")).unwrap();
    for source in [
        "\"cargo\", \"install\"",
        "bin.install \"shell/psql-iam\", \"shell/mysql-iam\"",
        "man1.install Dir[\"packaging/man/*.1\"]",
        "bash_completion.install \"shell/completions/iamdb.bash\" => \"iamdb\"",
        "zsh_completion.install \"shell/completions/_iamdb\"",
        "fish_completion.install \"shell/completions/iamdb.fish\"",
        ".install \"packaging/systemd/iamdb-refresh.service\"",
        "doc.install \"README.md\"",
    ] {
        assert!(formula.contains(source), "the formula lacks {source}");
    }
}

/// A sandbox with a PostgreSQL profile synced into .pgpass 1000 s ago (its token expired).
fn synced_long_ago(name: &str) -> Sandbox {
    let sb = Sandbox::new(name).with_env_keys();
    sb.write_config(
        "[profiles.prod]\nengine = \"postgres\"\nhost = \"prod.c1.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n",
    );
    sb.run_at("-1000", &["pgpass", "sync"]).ok();
    sb
}

/// Runs a service's command line (with this iamdb for the installed path) until it has
/// renewed the expired token in .pgpass, then stops it the way systemd and launchd do
/// (SIGTERM) and expects a clean exit.
fn service_keeps_pgpass_fresh(name: &str, argv: &[String]) {
    assert!(
        argv[0].ends_with("/iamdb") && argv[1..] == ["refresh", "--watch"],
        "{argv:?}"
    );
    let sb = synced_long_ago(name);
    let pgpass = sb.home().join(".pgpass");
    let before = std::fs::read_to_string(&pgpass).unwrap();
    let child = sb
        .iamdb(&argv[1..].iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&pgpass).unwrap() == before {
        assert!(Instant::now() < deadline, "{name}: .pgpass was not renewed");
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_to_string(&pgpass).unwrap();
    assert!(after.contains("X-Amz-Date="), "{after}");
}

#[test]
fn the_systemd_unit_is_valid_and_its_command_keeps_pgpass_fresh() {
    let unit_path = repo().join("packaging/systemd/iamdb-refresh.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    assert!(unit.contains("WantedBy=default.target"), "{unit}");
    let argv: Vec<String> = exec.split_whitespace().map(String::from).collect();
    assert_eq!(
        argv[0], "/usr/bin/iamdb",
        "the packages install iamdb there"
    );
    service_keeps_pgpass_fresh("systemd", &argv);

    // systemd's own check, with this iamdb standing in for /usr/bin/iamdb and the man page
    // the unit documents itself with found in packaging/man.
    if !require("systemd-analyze") {
        return;
    }
    let sb = Sandbox::new("systemd-verify");
    let local = sb.root.join("iamdb-refresh.service");
    std::fs::write(&local, unit.replace("/usr/bin/iamdb", BIN)).unwrap();
    let man = sb.root.join("man");
    std::fs::create_dir_all(&man).unwrap();
    std::os::unix::fs::symlink(repo().join("packaging/man"), man.join("man1")).unwrap();
    let verify = output(
        sb.command("systemd-analyze")
            .args(["verify", "--user"])
            .arg(&local)
            .env("MANPATH", &man),
    );
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert_eq!(verify.stderr, "");
    // ... which does fail on a unit with a mistake in it.
    std::fs::write(&local, unit.replace("/usr/bin/iamdb", "/nonexistent/iamdb")).unwrap();
    let broken = output(
        sb.command("systemd-analyze")
            .args(["verify", "--user"])
            .arg(&local)
            .env("MANPATH", &man),
    );
    assert_ne!(broken.code, 0);
}

#[test]
fn the_launchd_agent_is_a_valid_plist_and_its_command_keeps_pgpass_fresh() {
    let plist = repo().join("packaging/launchd/com.github.iamdb.refresh.plist");
    // Python's plistlib reads property lists as launchd does (XML, DOCTYPE, typed values).
    let json = output(std::process::Command::new("python3").args([
        "-c",
        "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
        &plist.display().to_string(),
    ]))
    .ok()
    .json();
    assert_eq!(json["Label"], "com.github.iamdb.refresh");
    assert_eq!(json["RunAtLoad"], true);
    assert_eq!(json["KeepAlive"]["SuccessfulExit"], false);
    let argv: Vec<String> = json["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    service_keeps_pgpass_fresh("launchd", &argv);
}

#[test]
fn the_deb_installs_and_works() {
    let Some(deb) = built("IAMDB_DEB", "the .deb") else {
        return;
    };
    // dpkg -i changes the machine: only where that is the point (CI's throwaway machine, or
    // when asked), and only as root.
    let wanted = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("IAMDB_TEST_DPKG_INSTALL").is_ok_and(|v| v == "1");
    if !wanted {
        eprintln!("skipping dpkg -i: set IAMDB_TEST_DPKG_INSTALL=1 (CI=true does)");
        return;
    }
    if !present("root", "root, for dpkg -i", unsafe { libc::geteuid() } == 0) || !require("man") {
        return;
    }
    let install = output(std::process::Command::new("dpkg").arg("-i").arg(&deb));
    assert_eq!(install.code, 0, "{}{}", install.stdout, install.stderr);
    let result = std::panic::catch_unwind(check_installed);
    let remove = output(std::process::Command::new("dpkg").args(["-r", "iamdb"]));
    assert_eq!(remove.code, 0, "{}", remove.stderr);
    assert!(!Path::new("/usr/bin/iamdb").exists());
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn check_installed() {
    let mut sb = Sandbox::new("installed");
    sb.set("PATH", "/usr/bin:/bin");
    let version = output(sb.command("iamdb").arg("--version")).ok().stdout;
    let built = Run::from(
        std::process::Command::new(BIN)
            .arg("--version")
            .output()
            .unwrap(),
    )
    .stdout;
    assert!(version.starts_with("iamdb 0."), "{version}");
    // Same release and commit as the tree under test.
    assert_eq!(version, built);

    let page = output(sb.command("man").args(["-w", "iamdb"])).ok().stdout;
    assert!(page.starts_with("/usr/share/man/man1/iamdb.1"), "{page}");
    let text = output(
        sb.command("man")
            .args(["-P", "cat", "iamdb-psql"])
            .env("MANWIDTH", "100"),
    )
    .ok();
    assert!(text.stdout.contains("iamdb psql"), "{}", text.stdout);

    // bash-completion finds the installed script on its own at the first Tab.
    sb.write_config(
        "[profiles.prod]\nengine = \"postgres\"\nhost = \"p.c1.eu-west-1.rds.amazonaws.com\"\nuser = \"a\"\n\
         [profiles.reports]\nengine = \"mysql\"\nhost = \"r.c1.eu-west-1.rds.amazonaws.com\"\nuser = \"r\"\n",
    );
    let script = "source /usr/share/bash-completion/bash_completion\n\
         _completion_loader iamdb\n\
         COMP_WORDS=(iamdb psql ''); COMP_CWORD=2; COMP_LINE='iamdb psql '; COMP_POINT=11\n\
         _clap_complete_iamdb iamdb '' psql\n\
         printf '%s\\n' \"${COMPREPLY[@]}\" | grep -v '^-'";
    let offered = output(sb.command("bash").args(["-c", script])).ok().stdout;
    assert_eq!(offered, "prod\n");

    // The installed unit passes systemd's check, ExecStart and man page included.
    if require("systemd-analyze") {
        let verify = output(sb.command("systemd-analyze").args([
            "verify",
            "--user",
            "/usr/lib/systemd/user/iamdb-refresh.service",
        ]));
        assert_eq!(verify.code, 0, "{}", verify.stderr);
    }
    // The wrappers are on PATH and find iamdb there (which names the profile it lacks).
    let wrapper = output(sb.command("psql-iam").arg("nosuch"));
    assert_eq!(wrapper.code, 3, "{}", wrapper.stderr);
    assert!(
        wrapper.stderr.contains("iamdb: error:"),
        "{}",
        wrapper.stderr
    );
    assert!(wrapper.stderr.contains("nosuch"), "{}", wrapper.stderr);

    // The packaged iamdb is static (musl): no program interpreter, no shared libraries...
    let headers = output(std::process::Command::new("readelf").args(["-lW", "/usr/bin/iamdb"]))
        .ok()
        .stdout;
    assert!(!headers.contains("INTERP"), "{headers}");
    let dynamic =
        output(std::process::Command::new("readelf").args(["-dW", "/usr/bin/iamdb"])).stdout;
    assert!(!dynamic.contains("(NEEDED)"), "{dynamic}");
    // ...and with HOME unset it still finds its user's home, from /etc/passwd (a static
    // program has no NSS modules; musl reads the file itself).
    let user = users::os_user("passwd-home");
    let home = sb.root.join("passwd-home");
    std::fs::create_dir_all(home.join(".config/iamdb")).unwrap();
    std::fs::write(
        home.join(".config/iamdb/config.toml"),
        "[profiles.from-passwd-home]\nengine = \"postgres\"\nhost = \"p.c1.eu-west-1.rds.amazonaws.com\"\nuser = \"a\"\n",
    )
    .unwrap();
    users::chown_tree(&home, user.uid, user.gid);
    stdout_of(
        std::process::Command::new("usermod")
            .arg("--home")
            .arg(&home)
            .arg(&user.name),
    );
    let listed = output(sb.command_as(&user, "env").args([
        "-u",
        "HOME",
        "-u",
        "XDG_CONFIG_HOME",
        "/usr/bin/iamdb",
        "profile",
        "list",
    ]))
    .ok()
    .stdout;
    assert!(listed.contains("from-passwd-home"), "{listed}");
}
