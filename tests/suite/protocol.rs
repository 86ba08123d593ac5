//! iamdb and iamdb-credentials talk through one typed, versioned protocol: a request on the
//! helper's stdin, an answer on its stdout. A helper from another release is a one-line error
//! naming both, never a misread answer.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

const PROFILE: &str = "[profiles.db]\nengine = \"postgres\"\nhost = \"db1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\naws_profile = \"x\"\n";

/// A copy of iamdb with `script` as the helper beside it.
fn with_helper(sb: &Sandbox, script: &str) -> String {
    let dir = sb.root.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(BIN, dir.join("iamdb")).unwrap();
    let helper = dir.join("iamdb-credentials");
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir.join("iamdb").display().to_string()
}

#[test]
fn a_helper_of_another_release_is_named_with_the_fix() {
    let sb = Sandbox::new("protocol-mismatch");
    sb.write_config(PROFILE);
    let current = iamdb_core::protocol::VERSION;
    let next = current + 1;
    let newer = format!(
        "#!/bin/sh\ncat >/dev/null\necho '{{\"protocol\": {next}, \"program\": \"iamdb-credentials 0.9.0 (commit abc)\", \"ok\": {{\"type\": \"something_new\"}}}}'\n"
    );
    let newer_says = format!("speaks version {next}");
    let cases = [
        (newer.as_str(), newer_says.as_str()),
        // The helper of iamdb 0.1, which took arguments and printed a credential_process document.
        (
            "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAOLD\", \"SecretAccessKey\": \"x\", \"Source\": \"old\"}'\n",
            "speaks version 1",
        ),
    ];
    for (script, says) in cases {
        let iamdb = with_helper(&sb, script);
        let mut c = sb.command(&iamdb);
        c.args(["token", "db", "--no-cache"]);
        let r = Run::from(c.output().unwrap()).fails(7);
        assert!(
            r.stderr
                .contains(&format!("speaks version {current} of the helper protocol"))
                && r.stderr.contains(says),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("install iamdb and iamdb-credentials from the same release"),
            "{}",
            r.stderr
        );
        assert_eq!(
            r.stderr.lines().count(),
            2,
            "one line and its hint: {}",
            r.stderr
        );
    }
    // A helper that is not one at all.
    let iamdb = with_helper(&sb, "#!/bin/sh\necho hello\n");
    let mut c = sb.command(&iamdb);
    c.args(["token", "db", "--no-cache"]);
    let r = Run::from(c.output().unwrap()).fails(7);
    assert!(
        r.stderr.contains("not an iamdb-credentials answer"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_helper_is_an_installation_problem() {
    let sb = Sandbox::new("protocol-missing");
    sb.write_config(PROFILE);
    let dir = sb.root.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(BIN, dir.join("iamdb")).unwrap();
    let mut c = sb.command(dir.join("iamdb").to_str().unwrap());
    c.args(["token", "db", "--no-cache"])
        .env("PATH", "/usr/bin:/bin");
    let r = Run::from(c.output().unwrap()).fails(7);
    let beside = dir.join("iamdb-credentials");
    assert_eq!(
        r.stderr.lines().next().unwrap_or(""),
        format!(
            "iamdb: error: iamdb-credentials is not installed next to iamdb (no {}) or in an absolute directory on PATH (looked in /usr/bin, /bin)",
            beside.display()
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint: reinstall iamdb")
            && r.stderr.contains(&format!(
                "or put iamdb-credentials from the same release in {}",
                dir.display()
            )),
        "{}",
        r.stderr
    );

    // There, but not executable (or its interpreter missing): an installation problem too,
    // with the fix, never an internal error.
    for (script, mode, says) in [
        ("#!/bin/sh\n", 0o644, "it is not executable"),
        (
            "#!/nonexistent/sh\n",
            0o755,
            "it, or the interpreter its first line names, is not there",
        ),
    ] {
        std::fs::write(&beside, script).unwrap();
        std::fs::set_permissions(&beside, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut c = sb.command(dir.join("iamdb").to_str().unwrap());
        c.args(["token", "db", "--no-cache"])
            .env("PATH", "/usr/bin:/bin");
        let r = Run::from(c.output().unwrap()).fails(7);
        assert!(
            r.stderr.starts_with(&format!(
                "iamdb: error: cannot run {}: {says}",
                beside.display()
            )) && r.stderr.contains("hint: "),
            "{}",
            r.stderr
        );
    }
    // A helper the system cannot start (a library missing: the loader exits 127).
    std::fs::write(&beside, "#!/bin/sh\nexit 127\n").unwrap();
    std::fs::set_permissions(&beside, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = sb.command(dir.join("iamdb").to_str().unwrap());
    c.args(["token", "db", "--no-cache"])
        .env("PATH", "/usr/bin:/bin");
    let r = Run::from(c.output().unwrap()).fails(7);
    assert!(r.stderr.contains("could not start"), "{}", r.stderr);
}
