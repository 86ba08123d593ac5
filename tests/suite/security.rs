//! Security: what another user of the machine can and cannot do to iamdb's users, and what an
//! untidy setup cannot make iamdb do. Each test reproduces one way a token could be sent
//! where it must not go, a line lost, a file overwritten through a link, or iamdb stalled,
//! and proves it closed. Other OS users (`iamdb-test-*`) are made by the tests.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::users::{self, OsUser};
use crate::common::*;

const PG_PROFILE: &str = "[profiles.db]\nengine = \"postgres\"\nhost = \"db1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n";
const MY_PROFILE: &str = "[profiles.m]\nengine = \"mariadb\"\nhost = \"my1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n";

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// A sandbox that belongs to `victim`, with a PostgreSQL and a MariaDB profile.
fn victim_sandbox(name: &str) -> (Sandbox, OsUser) {
    let victim = users::os_user("victim");
    let sb = Sandbox::new(name).with_env_keys();
    sb.write_config(&format!("{PG_PROFILE}{MY_PROFILE}"));
    sb.give_to(&victim);
    (sb, victim)
}

/// A directory like /tmp (root's, 1777) for `TMPDIR`.
fn sticky_tmp(sb: &Sandbox) -> PathBuf {
    let tmp = sb.root.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::os::unix::fs::chown(&tmp, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    tmp
}

/// Runs `cmd`, killing it after `limit`: None when it had to be killed.
fn run_within(mut cmd: Command, limit: Duration) -> Option<Run> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Run::from(child.wait_with_output().unwrap()))
}

#[test]
fn directories_iamdb_creates_are_private_whatever_the_umask() {
    let (mut sb, victim) = victim_sandbox("umask");
    let home = sb.home();
    let tmp = sticky_tmp(&sb);
    // Nothing of iamdb's exists yet: it makes every directory itself.
    sb.set(
        "XDG_CONFIG_HOME",
        home.join(".config").display().to_string(),
    )
    .unset("XDG_RUNTIME_DIR")
    .set("TMPDIR", tmp.display().to_string())
    .set("PGPASSFILE", home.join(".pg/pgpass").display().to_string())
    .set("IAMDB_CACHE", "file");
    let as_victim = |args: &[&str]| {
        let mut c = sb.command_as(&victim, "sh");
        c.args(["-c", "umask 000; exec \"$0\" \"$@\"", BIN])
            .args(args);
        Run::from(c.output().unwrap()).ok()
    };
    as_victim(&[
        "profile",
        "add",
        "db",
        "--engine",
        "postgres",
        "--user",
        "app",
        "--host",
        "db1.c9akciq32.eu-west-1.rds.amazonaws.com",
    ]);
    as_victim(&[
        "profile",
        "add",
        "m",
        "--engine",
        "mariadb",
        "--user",
        "app",
        "--host",
        "my1.c9akciq32.eu-west-1.rds.amazonaws.com",
    ]);
    as_victim(&["ca", "install"]);
    as_victim(&["pgpass", "sync"]);
    as_victim(&["pgservice", "sync"]);
    as_victim(&["mycnf", "sync", "--flavour", "mariadb"]);
    as_victim(&["token", "db", "--refresh"]);
    let runtime = tmp.join(format!("iamdb-{}", victim.uid));
    for dir in [
        home.join(".config"),
        home.join(".config/iamdb"),
        home.join(".local"),
        home.join(".local/share"),
        home.join(".local/share/iamdb"),
        home.join(".pg"),
        runtime.clone(),
        runtime.join("cache"),
        runtime.join("locks"),
    ] {
        assert_eq!(mode(&dir), 0o700, "{} under umask 000", dir.display());
        assert_eq!(std::fs::metadata(&dir).unwrap().uid(), victim.uid);
    }
    for (file, want) in [
        (home.join(".config/iamdb/config.toml"), 0o644),
        (home.join(".local/share/iamdb/rds-ca-bundle.pem"), 0o644),
        (home.join(".pg/pgpass"), 0o600),
        (home.join(".pg_service.conf"), 0o644),
        (home.join(".config/iamdb/my.cnf"), 0o600),
        (home.join(".my.cnf"), 0o600),
    ] {
        assert_eq!(mode(&file), want, "{} under umask 000", file.display());
    }
}

#[test]
fn a_ca_bundle_or_option_file_others_can_change_is_refused() {
    let (sb, victim) = victim_sandbox("untrusted-ca");
    let attacker = users::os_user("attacker");
    let home = sb.home();
    let data = home.join(".local/share/iamdb");
    std::fs::create_dir_all(&data).unwrap();
    users::chown_tree(&home.join(".local"), victim.uid, victim.gid);
    let run = |args: &[&str]| Run::from(sb.iamdb_as(&victim, args).output().unwrap());

    // A directory of the bundle's that everyone can write to (left by a umask of 000).
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    for args in [&["ca", "install"][..], &["pgservice", "sync", "db"]] {
        let r = run(args).fails(3);
        assert!(
            r.stderr.contains(&data.display().to_string())
                && r.stderr.contains("writable by every user")
                && r.stderr.contains(&format!("chmod go-w {}", data.display())),
            "{args:?}: {}",
            r.stderr
        );
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    run(&["ca", "install"]).ok();

    // A bundle another user owns, whatever it holds, is not trusted.
    let bundle = data.join("rds-ca-bundle.pem");
    std::os::unix::fs::chown(&bundle, Some(attacker.uid), Some(attacker.gid)).unwrap();
    let r = run(&["pgservice", "sync", "db"]).fails(3);
    assert!(
        r.stderr.contains("belongs to iamdb-test-attacker"),
        "{}",
        r.stderr
    );
    // Neither is an ssl_ca of another user's.
    std::fs::remove_file(&bundle).unwrap();
    let theirs = sb.root.join("their-ca.pem");
    std::fs::write(&theirs, "-----BEGIN CERTIFICATE-----\n").unwrap();
    std::os::unix::fs::chown(&theirs, Some(attacker.uid), Some(attacker.gid)).unwrap();
    let mut cfg = std::fs::read_to_string(sb.config_path()).unwrap();
    cfg = cfg.replacen(
        "user = \"app\"\n",
        &format!("user = \"app\"\nssl_ca = \"{}\"\n", theirs.display()),
        1,
    );
    sb.write_config(&cfg);
    let r = run(&["pgservice", "sync", "db"]).fails(3);
    assert!(
        r.stderr.contains("the CA file") && r.stderr.contains("iamdb-test-attacker"),
        "{}",
        r.stderr
    );

    // iamdb's own option file, in a directory everyone can write to.
    let config_dir = sb.root.join("config/iamdb");
    std::fs::set_permissions(&config_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = run(&["mycnf", "sync", "m", "--flavour", "mariadb"]).fails(3);
    assert!(
        r.stderr.contains("writable by every user") && r.stderr.contains("chmod go-w"),
        "{}",
        r.stderr
    );
    assert!(!config_dir.join("my.cnf").exists());
}

#[test]
fn a_runtime_directory_another_user_made_is_never_used() {
    let (mut sb, victim) = victim_sandbox("planted-runtime");
    let attacker = users::os_user("attacker");
    let tmp = sticky_tmp(&sb);
    sb.unset("XDG_RUNTIME_DIR")
        .set("TMPDIR", tmp.display().to_string())
        .set("IAMDB_CACHE", "file");
    let planted = tmp.join(format!("iamdb-{}", victim.uid));
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::chown(&planted, Some(attacker.uid), Some(attacker.gid)).unwrap();

    let run = Run::from(
        sb.iamdb_as(&victim, &["token", "db", "--refresh"])
            .output()
            .unwrap(),
    )
    .ok();
    assert!(
        run.stderr.contains(&planted.display().to_string())
            && run.stderr.contains("belongs to iamdb-test-attacker")
            && run.stderr.contains("using"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(&planted).unwrap().count(),
        0,
        "nothing of the victim's went into the attacker's directory"
    );
    let fallback = sb.home().join(".cache/iamdb/runtime/cache");
    assert_eq!(std::fs::read_dir(&fallback).unwrap().count(), 1);
    assert_eq!(mode(&fallback), 0o700);
}

/// The file cache entry of the sandbox's only cached token.
fn only_entry(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

#[test]
fn planted_cache_entries_are_misses_and_are_removed() {
    let mut sb = Sandbox::new("planted-entry").with_env_keys();
    sb.write_config(PG_PROFILE);
    sb.set("IAMDB_CACHE", "file");
    let real = sb.run(&["token", "db"]).ok().token().to_string();
    let entry = only_entry(&sb.root.join("runtime/iamdb/cache"));
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    let now = original["signed_at"].as_u64().unwrap();
    let tampered = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut doc = original.clone();
        edit(&mut doc);
        doc
    };
    let cases: Vec<(&str, serde_json::Value)> = vec![
        (
            "a token for another host",
            tampered(&|d| {
                d["token"] = real.replacen("db1.c9akciq32", "evil.example", 1).into();
            }),
        ),
        (
            "a token for another user",
            tampered(&|d| d["token"] = real.replacen("DBUser=app", "DBUser=admin", 1).into()),
        ),
        (
            "a line break in the token",
            tampered(&|d| d["token"] = format!("{real}\nevil:5432:*:app:x").into()),
        ),
        (
            "a lifetime of a day",
            tampered(&|d| d["expires_at"] = (now + 86_400).into()),
        ),
        (
            "a token cut short",
            tampered(&|d| d["token"] = real[..real.len() - 10].to_string().into()),
        ),
    ];
    for (what, doc) in cases {
        std::fs::write(&entry, doc.to_string()).unwrap();
        let served = sb.run(&["token", "db"]).ok().token().to_string();
        assert!(
            served.starts_with(
                "db1.c9akciq32.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app&"
            ) && served.len() == real.len()
                && !served.contains('\n'),
            "{what}: served {served:?}"
        );
        let stored: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
        assert_eq!(
            stored["token"].as_str(),
            Some(served.as_str()),
            "{what}: the planted entry was replaced"
        );
    }
}

#[test]
fn an_unterminated_begin_keeps_every_line_after_it() {
    let sb = Sandbox::new("stray-begin").with_env_keys();
    sb.write_config(PG_PROFILE);
    let pgpass = sb.home().join(".pgpass");
    let foreign = "# BEGIN iamdb: lines up to END are written by `iamdb pgpass sync`; edits are lost\n\
                   mine.example:5432:*:me:secret-one\n# my note\nother.example:5432:*:me:secret-two\n";
    std::fs::write(&pgpass, foreign).unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let first = sb.run(&["pgpass", "sync"]).ok();
    assert!(
        first
            .stderr
            .contains("line 1: a `# BEGIN iamdb` line with no `# END iamdb` after it"),
        "{}",
        first.stderr
    );
    sb.run(&["pgpass", "sync"]).ok();
    sb.run(&["pgpass", "sync"]).ok();
    let text = std::fs::read_to_string(&pgpass).unwrap();
    assert!(text.starts_with(foreign), "{text}");
    assert_eq!(text.matches("# iamdb profile db\n").count(), 1, "{text}");
    sb.run(&["pgpass", "sync", "--remove"]).ok();
    assert_eq!(std::fs::read_to_string(&pgpass).unwrap(), foreign);
}

#[test]
fn line_breaks_from_the_environment_never_reach_files() {
    let mut sb = Sandbox::new("newlines").with_env_keys();
    sb.write_config(&format!("{PG_PROFILE}{MY_PROFILE}"));
    // A data directory whose name carries a line and a group of its own: the CA bundle's path
    // goes into `sslrootcert=` and `ssl-ca=`.
    let data = sb.root.join("data\n[evil]\nhost=attacker.example");
    sb.set("XDG_DATA_HOME", data.display().to_string());
    let r = sb.run(&["pgservice", "sync", "db"]).fails(3);
    assert!(r.stderr.contains("control character"), "{}", r.stderr);
    assert!(!sb.home().join(".pg_service.conf").exists());
    let r = sb
        .run(&["mycnf", "sync", "m", "--flavour", "mariadb"])
        .fails(3);
    assert!(r.stderr.contains("control character"), "{}", r.stderr);
    assert!(!sb.root.join("config/iamdb/my.cnf").exists());
    // A PGPASSFILE with a line break goes into `passfile=`.
    sb.unset("XDG_DATA_HOME");
    sb.set(
        "PGPASSFILE",
        format!("{}/pgpass\n[evil]", sb.root.display()),
    );
    let r = sb.run(&["pgservice", "sync", "db"]).fails(3);
    assert!(r.stderr.contains("control character"), "{}", r.stderr);
    assert!(!sb.home().join(".pg_service.conf").exists());
}

#[test]
fn a_value_too_long_for_libpq_is_refused_before_pg_service_conf_breaks() {
    let sb = Sandbox::new("long-line").with_env_keys();
    // A CA path of about a kilobyte: accepted by the config (1024 bytes at most), but a
    // 1012-byte `sslrootcert=` line is more than libpq 15 reads from pg_service.conf.
    let mut dir = sb.root.join("ca");
    while dir.as_os_str().len() < 1012 - 200 {
        dir = dir.join("d".repeat(200));
    }
    let fill = 1012 - "/ca.pem".len() - 1 - dir.as_os_str().len();
    dir = dir.join("e".repeat(fill));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
    assert_eq!(ca.as_os_str().len(), 1012);
    sb.write_config(&format!(
        "{PG_PROFILE}ssl_ca = \"{}\"\n",
        toml_escape(&ca.display().to_string())
    ));
    let services = sb.home().join(".pg_service.conf");
    let mine = "[mine]\nhost=localhost\nport=5432\n";
    std::fs::write(&services, mine).unwrap();
    let r = sb.run(&["pgservice", "sync", "db"]).fails(3);
    assert!(
        r.stderr.contains("`sslrootcert` line would be") && r.stderr.contains("at most 1021 bytes"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&services).unwrap(), mine);
}

#[test]
fn root_with_another_users_home_writes_nothing_there() {
    let (mut sb, victim) = victim_sandbox("foreign-home");
    // Root's own runtime directory and config, outside the victim's sandbox (root would not
    // trust a directory below the victim's).
    let runtime = std::env::temp_dir().join(format!(
        "iamdb-test-root-runtime-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    at_exit(Cleanup::Remove(runtime.clone()));
    sb.set("XDG_RUNTIME_DIR", runtime.display().to_string());
    let config = sb.root.join("root-config.toml");
    std::fs::write(&config, format!("{PG_PROFILE}{MY_PROFILE}")).unwrap();
    std::os::unix::fs::chown(&config, Some(0), Some(0)).unwrap();
    let precious = sb.root.join("precious");
    std::fs::write(&precious, "root's file\n").unwrap();
    std::os::unix::fs::chown(&precious, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&precious, std::fs::Permissions::from_mode(0o644)).unwrap();
    let home = sb.home();
    let bundle_dir = home.join(".local/share/iamdb");
    std::fs::create_dir_all(&bundle_dir).unwrap();
    std::fs::create_dir_all(home.join(".config/iamdb")).unwrap();
    for link in [
        home.join(".pgpass"),
        home.join(".my.cnf"),
        home.join(".pg_service.conf"),
        bundle_dir.join("rds-ca-bundle.pem"),
        home.join(".config/iamdb/config.toml"),
    ] {
        std::os::unix::fs::symlink(&precious, &link).unwrap();
    }
    users::chown_tree(&home, victim.uid, victim.gid);
    let cfg = config.display().to_string();
    // `sudo iamdb profile add` with the victim's HOME would edit the victim's config.
    sb.set(
        "XDG_CONFIG_HOME",
        home.join(".config").display().to_string(),
    );
    for args in [
        &["--config", &cfg, "pgpass", "sync"][..],
        &["--config", &cfg, "pgservice", "sync"],
        &["--config", &cfg, "mycnf", "sync", "--flavour", "mariadb"],
        &["--config", &cfg, "ca", "install"],
        &[
            "profile",
            "add",
            "x",
            "--host",
            "h.example",
            "--user",
            "u",
            "--engine",
            "postgres",
        ],
    ] {
        let r = sb.run(args).fails(3);
        assert!(
            r.stderr.contains("belongs to iamdb-test-victim")
                && r.stderr.contains("runs as root (uid 0)")
                && r.stderr.contains("sudo -H"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains('\n') || r.stderr.lines().count() <= 2);
    }
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "root's file\n");
    assert_eq!(mode(&precious), 0o644);
}

#[test]
fn fifos_get_a_quick_error_instead_of_a_hang() {
    let mut sb = Sandbox::new("fifos").with_env_keys();
    sb.write_config(PG_PROFILE);
    let fifo = |path: &Path| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let status = Command::new("mkfifo").arg(path).status().unwrap();
        assert!(status.success());
    };
    let config = sb.root.join("config.fifo");
    fifo(&config);
    let pgpass = sb.root.join("pgpass.fifo");
    fifo(&pgpass);
    let bundle = sb.home().join(".local/share/iamdb/rds-ca-bundle.pem");
    fifo(&bundle);
    let cfg = config.display().to_string();
    let quick = |sb: &Sandbox, args: &[&str], what: &str| {
        let r = run_within(sb.iamdb(args), Duration::from_secs(5))
            .unwrap_or_else(|| panic!("{args:?} hung on {what}"));
        let r = r.fails(3);
        assert!(
            r.stderr.contains("FIFO") && r.stderr.contains(what),
            "{args:?}: {}",
            r.stderr
        );
    };
    quick(&sb, &["--config", &cfg, "token", "db"], &cfg);
    quick(&sb, &["ca", "install"], "rds-ca-bundle.pem");
    quick(&sb, &["pgservice", "sync"], "rds-ca-bundle.pem");
    sb.set("PGPASSFILE", pgpass.display().to_string());
    quick(&sb, &["pgpass", "sync"], "pgpass.fifo");
    quick(&sb, &["refresh"], "pgpass.fifo");
}

#[test]
fn other_users_cannot_stall_a_sync() {
    let (sb, victim) = victim_sandbox("stall");
    let attacker = users::os_user("attacker");
    let home = sb.home();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Readable homes are common; anyone can hold flock on one.
    let mut holder = sb
        .command_as(&attacker, "flock")
        .arg(&home)
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for args in [
        &["pgpass", "sync"][..],
        &["refresh"],
        &["mycnf", "sync", "--flavour", "mariadb"],
    ] {
        let r = run_within(sb.iamdb_as(&victim, args), Duration::from_secs(8))
            .unwrap_or_else(|| panic!("{args:?} waited on another user's lock"));
        r.ok();
    }
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn a_lock_held_too_long_is_given_up_on_and_scripts_can_take_it() {
    let sb = Sandbox::new("held-lock").with_env_keys();
    sb.write_config(PG_PROFILE);
    let pgpass = sb.home().join(".pgpass");
    let pgpass_arg = pgpass.display().to_string();
    // A script that appends while holding iamdb's lock for the file: a sync waits for it, and
    // neither loses the other's line.
    let mut script = sb
        .iamdb(&[
            "lock",
            &pgpass_arg,
            "--",
            "sh",
            "-c",
            "sleep 1; echo 'mine.example:5432:*:me:pw' >> \"$0\"",
            &pgpass_arg,
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    sb.run(&["pgpass", "sync"]).ok();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the sync waited"
    );
    assert!(script.wait().unwrap().success());
    let text = std::fs::read_to_string(&pgpass).unwrap();
    assert!(
        text.starts_with("mine.example:5432:*:me:pw\n# BEGIN iamdb"),
        "{text}"
    );
    // A holder that never lets go: iamdb gives up with a clear error, not a hang.
    let mut stuck = sb
        .iamdb(&["lock", &pgpass_arg, "--", "sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let r = run_within(sb.iamdb(&["pgpass", "sync"]), Duration::from_secs(20))
        .expect("the sync gave up within 20 s");
    let r = r.fails(3);
    assert!(
        r.stderr.contains("has held the lock") && r.stderr.contains("for 10 s"),
        "{}",
        r.stderr
    );
    let _ = stuck.kill();
    let _ = stuck.wait();
    // `iamdb lock` passes the command's exit status on.
    let r = sb.run(&["lock", &pgpass_arg, "--", "sh", "-c", "exit 7"]);
    assert_eq!(r.code, 7);
}

#[test]
fn lock_files_that_are_links_are_refused() {
    let mut sb = Sandbox::new("lock-links").with_env_keys();
    sb.write_config(PG_PROFILE);
    sb.set("IAMDB_CACHE", "file");
    sb.run(&["token", "db", "--refresh"]).ok();
    sb.run(&["pgpass", "sync"]).ok();
    let locks = sb.root.join("runtime/iamdb/locks");
    let target = sb.root.join("created-through-a-link");
    let mut planted = 0;
    for entry in std::fs::read_dir(&locks).unwrap().flatten() {
        std::fs::remove_file(entry.path()).unwrap();
        std::os::unix::fs::symlink(&target, entry.path()).unwrap();
        planted += 1;
    }
    assert_eq!(planted, 2, "a token lock and an edit lock");
    sb.run(&["token", "db", "--refresh"]).ok();
    let r = sb.run(&["pgpass", "sync"]).fails(3);
    assert!(r.stderr.contains("is a symbolic link"), "{}", r.stderr);
    assert!(!target.exists(), "nothing was created through a link");
}

#[test]
fn a_group_writable_config_is_trusted_only_when_the_group_is_the_users_alone() {
    // Where every account's primary group is one shared group (`users` on some systems), a
    // config that group can write could be edited by every other user.
    users::shared_group("users", &[]);
    let grouped = users::os_user_in_group("grouped", "users");
    let _neighbour = users::os_user_in_group("neighbour", "users");
    let sb = Sandbox::new("shared-group").with_env_keys();
    sb.write_config(PG_PROFILE);
    sb.give_to(&grouped);
    std::fs::set_permissions(sb.config_path(), std::fs::Permissions::from_mode(0o664)).unwrap();
    let r = Run::from(sb.iamdb_as(&grouped, &["token", "db"]).output().unwrap()).fails(3);
    assert!(
        r.stderr.contains("writable by group iamdb-test-users")
            && r.stderr.contains("other users are in"),
        "{}",
        r.stderr
    );
    // A group of the user's own (user private groups, the usual layout) is fine.
    let (sb, victim) = victim_sandbox("private-group");
    std::fs::set_permissions(sb.config_path(), std::fs::Permissions::from_mode(0o664)).unwrap();
    Run::from(sb.iamdb_as(&victim, &["token", "db"]).output().unwrap()).ok();
}

#[test]
fn a_plain_file_where_the_runtime_directory_goes_is_worked_around() {
    let mut sb = Sandbox::new("runtime-file").with_env_keys();
    sb.write_config(MY_PROFILE);
    let tmp = sticky_tmp(&sb);
    let planted = tmp.join("iamdb-0");
    std::fs::write(&planted, "not a directory").unwrap();
    sb.unset("XDG_RUNTIME_DIR")
        .set("TMPDIR", tmp.display().to_string());
    let r = sb
        .run(&[
            "exec",
            "m",
            "--",
            "sh",
            "-c",
            "grep -c '^\\[client\\]' \"$IAMDB_MYSQL_DEFAULTS_FILE\"",
        ])
        .ok();
    assert_eq!(r.stdout, "1\n");
    assert!(
        r.stderr
            .contains(&format!("cannot use {}", planted.display()))
            && r.stderr.contains("a regular file, not a directory")
            && r.stderr.contains("using"),
        "{}",
        r.stderr
    );
}

/// What the user keyring of the process running the tests holds: each key's description.
fn runner_keyring() -> Vec<String> {
    let out = Command::new("keyctl")
        .args(["rlist", "@u"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .filter_map(|id| {
            let d = Command::new("keyctl")
                .args(["describe", id])
                .output()
                .ok()?;
            Some(String::from_utf8_lossy(&d.stdout).trim().to_string())
        })
        .collect()
}

#[test]
fn the_keyring_of_the_user_running_the_tests_is_never_reached() {
    if !require("keyctl") {
        return;
    }
    let before = runner_keyring();
    let mut sb = Sandbox::new("runner-keyring").with_env_keys();
    sb.write_config(PG_PROFILE);
    sb.set("IAMDB_CACHE", "keyutils");
    sb.run(&["token", "db"]).ok();
    let listed = sb.run(&["cache", "list", "--format", "json"]).ok().json();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "the sandbox's keyring has it"
    );
    assert_eq!(runner_keyring(), before, "the runner's keyring does not");
    sb.run(&["cache", "clear"]).ok();
    assert_eq!(runner_keyring(), before);
}

/// A copy of iamdb in a directory of its own, without the helper beside it (or with `helper`
/// there, a script standing in for it).
fn lone_iamdb(sb: &Sandbox, dir: &str, helper: Option<&str>) -> PathBuf {
    let bin = sb.root.join(dir);
    std::fs::create_dir_all(&bin).unwrap();
    let copy = bin.join("iamdb");
    std::fs::copy(BIN, &copy).unwrap();
    if let Some(script) = helper {
        let path = bin.join("iamdb-credentials");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    copy
}

#[test]
fn the_helper_is_never_taken_from_the_current_directory() {
    let mut sb = Sandbox::new("helper-cwd");
    sb.write_config(&format!("{PG_PROFILE}aws_profile = \"x\"\n"));
    let iamdb = lone_iamdb(&sb, "bin", None);
    let work = sb.root.join("work");
    std::fs::create_dir(&work).unwrap();
    let marker = sb.root.join("planted-helper-ran");
    let planted = work.join("iamdb-credentials");
    std::fs::write(
        &planted,
        format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).unwrap();
    for path in [
        ":/usr/bin:/bin",
        "/usr/bin::/bin",
        ".:/usr/bin:/bin",
        "/usr/bin:/bin:",
    ] {
        sb.set("PATH", path);
        let mut c = sb.command(iamdb.to_str().unwrap());
        c.args(["token", "db"]).current_dir(&work);
        let r = Run::from(c.output().unwrap());
        assert_ne!(r.code, 0, "PATH={path}");
        assert!(
            r.stderr
                .contains("iamdb-credentials is not installed next to iamdb"),
            "PATH={path}: {}",
            r.stderr
        );
        assert!(!marker.exists(), "PATH={path}: the planted helper ran");
    }
}

/// Peak memory (KiB) of `cmd` and its children, as the kernel counted it.
fn peak_kib(cmd: &mut Command) -> (Run, u64) {
    let mut wrapped = Command::new("python3");
    wrapped.args([
        "-c",
        "import resource,subprocess,sys\n\
         p=subprocess.run(sys.argv[1:],capture_output=True)\n\
         sys.stdout.write(p.stdout.decode(errors='replace')); sys.stderr.write(p.stderr.decode(errors='replace'))\n\
         sys.stderr.write('\\nPEAK %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
         sys.exit(p.returncode)",
    ]);
    wrapped.arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    let run = Run::from(wrapped.output().unwrap());
    let peak = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("PEAK "))
        .unwrap()
        .parse()
        .unwrap();
    (run, peak)
}

#[test]
fn a_helper_that_answers_too_much_is_cut_off() {
    let mut sb = Sandbox::new("helper-flood");
    sb.write_config(&format!("{PG_PROFILE}aws_profile = \"x\"\n"));
    let iamdb = lone_iamdb(
        &sb,
        "bin",
        Some("#!/bin/sh\nhead -c 200000000 /dev/zero | tr '\\0' x\n"),
    );
    // Run outside the sandbox's user namespace (under python, which counts the peak): no
    // cache, so no keyring is reached.
    sb.set("IAMDB_CACHE", "none");
    let mut c = Command::new(&iamdb);
    c.args(["token", "db"]).env_clear().envs(&sb.env);
    let (run, peak) = peak_kib(&mut c);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("answered more than 1048576 bytes"),
        "{}",
        run.stderr
    );
    assert!(peak < 60_000, "peak memory {peak} KiB");
}

#[test]
fn a_credential_process_past_the_deadline_is_killed() {
    let mut sb = Sandbox::new("cred-process-timeout");
    let pids = sb.root.join("pids");
    let script = sb.root.join("slow-credentials.sh");
    std::fs::write(
        &script,
        format!(
            "sleep 300 &\necho $! > '{p}'\necho $$ >> '{p}'\nwait\n",
            p = pids.display()
        ),
    )
    .unwrap();
    sb.write_aws_config(&format!(
        "[profile slow]\ncredential_process = /bin/sh {}\n",
        script.display()
    ));
    sb.write_config(&format!("{PG_PROFILE}aws_profile = \"slow\"\n"));
    sb.set("IAMDB_CREDENTIALS_TIMEOUT", "2");
    let started = Instant::now();
    let r = sb.run(&["token", "db"]).fails(4);
    assert!(
        r.stderr.contains("were not resolved within 2 s"),
        "{}",
        r.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let pids: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        let gone = (0..50).any(|_| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| !s.contains(") Z "));
            if alive {
                std::thread::sleep(Duration::from_millis(100));
            }
            !alive
        });
        assert!(gone, "process {pid} of the credential_process still runs");
    }
}
