//! Other OS users, for tests of what iamdb does when someone else shares the machine: an
//! attacker who plants files and directories, holds locks, or shares a group. They are made
//! by the tests (`useradd`, no home, no login shell), named `iamdb-test-*`, and removed by
//! tests/run.sh after the run.

use std::path::Path;
use std::process::Command;

pub struct OsUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

fn lookup(name: &str) -> Option<OsUser> {
    let out = Command::new("id").args(["-u", name]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let uid = String::from_utf8(out.stdout).ok()?.trim().parse().ok()?;
    let out = Command::new("id").args(["-g", name]).output().ok()?;
    let gid = String::from_utf8(out.stdout).ok()?.trim().parse().ok()?;
    Some(OsUser {
        name: name.to_string(),
        uid,
        gid,
    })
}

/// Serialises user and group changes between the test processes of one run.
fn with_account_lock<T>(f: impl FnOnce() -> T) -> T {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/tmp/iamdb-test-accounts.lock")
        .unwrap();
    lock.lock().unwrap();
    f()
}

/// The OS user `iamdb-test-<role>`, created (with a group of its own) if it does not exist.
pub fn os_user(role: &str) -> OsUser {
    make_user(role, None)
}

/// The OS user `iamdb-test-<role>` whose primary group is `group` (made with
/// [`shared_group`]), as on systems where every user's primary group is `users`.
pub fn os_user_in_group(role: &str, group: &str) -> OsUser {
    make_user(role, Some(&format!("iamdb-test-{group}")))
}

fn make_user(role: &str, group: Option<&str>) -> OsUser {
    let name = format!("iamdb-test-{role}");
    if let Some(u) = lookup(&name) {
        return u;
    }
    with_account_lock(|| {
        if lookup(&name).is_none() {
            let mut cmd = Command::new("useradd");
            cmd.args(["--system", "--no-create-home"]);
            match group {
                Some(g) => cmd.args(["--gid", g]),
                None => cmd.arg("--user-group"),
            };
            let out = cmd
                .args(["--shell", "/usr/sbin/nologin", &name])
                .output()
                .expect("useradd");
            assert!(
                out.status.success(),
                "useradd {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    lookup(&name).unwrap()
}

/// The group `iamdb-test-<role>` with exactly `members` listed in it (besides the users
/// whose primary group it is), and its gid.
pub fn shared_group(role: &str, members: &[&OsUser]) -> u32 {
    let name = format!("iamdb-test-{role}");
    with_account_lock(|| {
        let exists = Command::new("getent")
            .args(["group", &name])
            .output()
            .is_ok_and(|o| o.status.success());
        if !exists {
            let out = Command::new("groupadd")
                .args(["--system", &name])
                .output()
                .unwrap();
            assert!(out.status.success(), "groupadd {name}");
        }
        let list: Vec<&str> = members.iter().map(|u| u.name.as_str()).collect();
        let out = Command::new("gpasswd")
            .args(["-M", &list.join(","), &name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpasswd -M: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    let out = Command::new("getent")
        .args(["group", &name])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split(':')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap()
}

/// chown -R, without following symbolic links.
pub fn chown_tree(root: &Path, uid: u32, gid: u32) {
    let status = Command::new("chown")
        .args(["-R", "-h", &format!("{uid}:{gid}")])
        .arg(root)
        .status()
        .unwrap();
    assert!(status.success());
}
