//! The token cache, tested on the real stores: the kernel keyring, the Secret Service
//! (gnome-keyring in a private D-Bus session), and the file store; fall-through, expiry,
//! identity switches, corruption and concurrency.
//!
//! The kernel user keyring is shared by every test process of this user, so each test uses a
//! profile name of its own, and the test that clears every entry runs in a user namespace of
//! its own (which has a user keyring of its own).

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

fn sandbox(name: &str, profile: &str) -> Sandbox {
    let sb = Sandbox::new(name).with_env_keys();
    sb.write_config(&format!(
        "[profiles.{profile}]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n"
    ));
    sb
}

fn json_token(sb: &Sandbox, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["token"];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    sb.run(&all).ok().json()
}

/// The entry name iamdb logs with -v.
fn entry_name(sb: &Sandbox, profile: &str) -> String {
    let run = sb.run(&["-v", "token", profile]).ok();
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("cache entry"))
        .expect("no entry logged");
    line.split("entry=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_second_call_is_served_from_the_kernel_keyring() {
    let sb = sandbox("keyutils", "ku-hit");
    let first = json_token(&sb, &["ku-hit"]);
    assert_eq!(first["cached"], false);
    let second = json_token(&sb, &["ku-hit"]);
    assert_eq!(second["cached"], true);
    assert_eq!(first["token"], second["token"]);
    assert_eq!(first["expires_at"], second["expires_at"]);

    let run = sb.run(&["-v", "token", "ku-hit"]).ok();
    assert!(
        run.stderr.contains("cache hit backend=\"keyutils\""),
        "{}",
        run.stderr
    );

    // The key is in the user keyring with a kernel timeout, not permanent.
    let name = entry_name(&sb, "ku-hit");
    let keys = std::fs::read_to_string("/proc/keys").unwrap();
    let line = keys
        .lines()
        .find(|l| l.ends_with(&format!("{name}: {}", first.to_string().len())) || l.contains(&name))
        .expect("key not in /proc/keys");
    let expiry = line.split_whitespace().nth(3).unwrap();
    assert_ne!(expiry, "perm", "{line}");
    assert!(expiry.ends_with('m') || expiry.ends_with('s'), "{line}");
}

#[test]
fn refresh_and_no_cache() {
    let sb = sandbox("refresh", "ku-refresh");
    json_token(&sb, &["ku-refresh"]);
    let refreshed = json_token(&sb, &["ku-refresh", "--refresh"]);
    assert_eq!(refreshed["cached"], false);
    let after = json_token(&sb, &["ku-refresh"]);
    assert_eq!(after["cached"], true);
    assert_eq!(after["token"], refreshed["token"]);

    let sb = sandbox("nocache", "ku-nocache");
    assert_eq!(
        json_token(&sb, &["ku-nocache", "--no-cache"])["cached"],
        false
    );
    assert_eq!(
        json_token(&sb, &["ku-nocache"])["cached"],
        false,
        "--no-cache stored nothing"
    );
    assert_eq!(
        json_token(&sb, &["ku-nocache", "--no-cache"])["cached"],
        false,
        "--no-cache reads nothing"
    );
    let run = sb
        .run(&["token", "ku-nocache", "--no-cache", "--refresh"])
        .fails(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

#[test]
fn switching_identity_never_serves_another_identitys_token() {
    let mut sb = sandbox("identity", "ku-identity");
    let a = json_token(&sb, &["ku-identity"]);
    sb.set("AWS_ACCESS_KEY_ID", "AKIAOTHERIDENTITY001");
    let b = json_token(&sb, &["ku-identity"]);
    assert_eq!(b["cached"], false);
    assert!(
        b["token"]
            .as_str()
            .unwrap()
            .contains("AKIAOTHERIDENTITY001")
    );
    sb.set("AWS_ACCESS_KEY_ID", AKID);
    let a2 = json_token(&sb, &["ku-identity"]);
    assert_eq!(
        (a2["cached"].clone(), a2["token"].clone()),
        (true.into(), a["token"].clone())
    );

    // Another AWS profile is another identity.
    sb.write_aws_credentials(
        "[other]\naws_access_key_id = AKIAPROFILEIDENTITY1\naws_secret_access_key = s\n",
    );
    let p = json_token(&sb, &["ku-identity", "--aws-profile", "other"]);
    assert_eq!(p["cached"], false);
    assert!(
        p["token"]
            .as_str()
            .unwrap()
            .contains("AKIAPROFILEIDENTITY1")
    );

    // Editing the shared credentials file drops tokens made with what it held before.
    json_token(&sb, &["ku-identity", "--aws-profile", "other"]);
    sb.write_aws_credentials(
        "[other]\naws_access_key_id = AKIAPROFILEIDENTITY2\naws_secret_access_key = s\n",
    );
    let p2 = json_token(&sb, &["ku-identity", "--aws-profile", "other"]);
    assert_eq!(p2["cached"], false);
    assert!(
        p2["token"]
            .as_str()
            .unwrap()
            .contains("AKIAPROFILEIDENTITY2")
    );

    // Another user or port is another token.
    assert_eq!(
        json_token(&sb, &["ku-identity", "--user", "other"])["cached"],
        false
    );
    assert_eq!(
        json_token(&sb, &["ku-identity", "--port", "5433"])["cached"],
        false
    );
}

#[test]
fn entries_are_served_until_the_refresh_margin() {
    if !require_faketime() {
        return;
    }
    let sb = sandbox("margin", "ku-margin");
    let at = |s: &str| {
        sb.run_at(s, &["token", "ku-margin", "--format", "json"])
            .ok()
            .json()
    };
    let first = at("2026-05-01 10:00:00");
    assert_eq!(first["expires_at"], "2026-05-01T10:15:00Z");
    assert_eq!(
        at("2026-05-01 10:11:39")["cached"],
        true,
        "141 s left, margin 120"
    );
    let late = at("2026-05-01 10:13:01");
    assert_eq!(late["cached"], false, "119 s left: refreshed");
    assert_eq!(late["expires_at"], "2026-05-01T10:28:01Z");
    // A clock that went back past the signing time does not keep a token alive.
    assert_eq!(at("2026-05-01 10:00:00")["cached"], false);

    let sb = Sandbox::new("margin2").with_env_keys();
    sb.write_config(&format!("[defaults]\nrefresh_margin = 600\n[profiles.ku-margin2]\nengine = \"mysql\"\nhost = \"{HOST}\"\nuser = \"app\"\n"));
    let at = |s: &str| {
        sb.run_at(s, &["token", "ku-margin2", "--format", "json"])
            .ok()
            .json()
    };
    at("2026-05-01 10:00:00");
    assert_eq!(at("2026-05-01 10:04:59")["cached"], true);
    assert_eq!(at("2026-05-01 10:05:01")["cached"], false);
}

#[test]
fn credentials_that_expire_first_bound_the_entry() {
    if !require_faketime() {
        return;
    }
    let mut sb = sandbox("credexpiry", "ku-credexpiry");
    sb.set("AWS_SESSION_TOKEN", "session")
        .set("AWS_CREDENTIAL_EXPIRATION", "2026-05-01T10:03:20Z");
    let at = |s: &str| {
        sb.run_at(s, &["token", "ku-credexpiry", "--format", "json"])
            .ok()
            .json()
    };
    assert_eq!(
        at("2026-05-01 10:00:00")["expires_at"],
        "2026-05-01T10:03:20Z"
    );
    assert_eq!(at("2026-05-01 10:01:19")["cached"], true);
    assert_eq!(at("2026-05-01 10:01:21")["cached"], false);
    let run = sb
        .run_at("2026-05-01 10:03:21", &["token", "ku-credexpiry"])
        .fails(4);
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
}

#[test]
fn a_corrupt_entry_is_a_miss_and_is_replaced() {
    if !require("keyctl") {
        return;
    }
    let sb = sandbox("corrupt", "ku-corrupt");
    let first = json_token(&sb, &["ku-corrupt"]);
    let name = entry_name(&sb, "ku-corrupt");
    for garbage in [
        "not json",
        "{\"token\":\"\"}",
        "{\"token\":\"x\",\"signed_at\":5,\"expires_at\":4}",
    ] {
        // In the sandbox's user namespace, whose user keyring is the one iamdb uses there.
        let status = sb
            .command("sh")
            .args([
                "-c",
                &format!("printf '%s' '{garbage}' | keyctl padd user '{name}' @u >/dev/null"),
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let again = json_token(&sb, &["ku-corrupt"]);
        assert_eq!(again["cached"], false, "{garbage:?} was served");
        assert!(again["token"].as_str().unwrap().starts_with(HOST));
        assert_eq!(
            json_token(&sb, &["ku-corrupt"])["cached"],
            true,
            "the entry was replaced"
        );
    }
    assert!(first["token"].as_str().unwrap().starts_with(HOST));

    // The same in the file store.
    let mut sb = sandbox("corruptfile", "f-corrupt");
    sb.set("IAMDB_CACHE", "file");
    json_token(&sb, &["f-corrupt"]);
    let dir = sb.root.join("runtime/iamdb/cache");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, b"\x00\xffgarbage").unwrap();
    assert_eq!(json_token(&sb, &["f-corrupt"])["cached"], false);
    assert_eq!(json_token(&sb, &["f-corrupt"])["cached"], true);
}

#[test]
fn the_file_store_is_private() {
    let mut sb = sandbox("filestore", "f-store");
    sb.set("IAMDB_CACHE", "file");
    let first = json_token(&sb, &["f-store"]);
    assert_eq!(json_token(&sb, &["f-store"])["token"], first["token"]);
    let dir = sb.root.join("runtime/iamdb/cache");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Without XDG_RUNTIME_DIR the store lives in a private directory under TMPDIR.
    let tmp = sb.root.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    sb.unset("XDG_RUNTIME_DIR")
        .set("TMPDIR", tmp.display().to_string());
    json_token(&sb, &["f-store"]);
    let uid = unsafe { libc::geteuid() };
    let private = tmp.join(format!("iamdb-{uid}"));
    assert_eq!(
        std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(std::fs::read_dir(private.join("cache")).unwrap().count(), 1);

    // The config's cache setting works as IAMDB_CACHE does; IAMDB_CACHE wins.
    let mut sb = Sandbox::new("filecfg").with_env_keys();
    sb.write_config(&format!("[profiles.f-cfg]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\ncache = \"file\"\n"));
    json_token(&sb, &["f-cfg"]);
    assert_eq!(
        std::fs::read_dir(sb.root.join("runtime/iamdb/cache"))
            .unwrap()
            .count(),
        1
    );
    sb.set("IAMDB_CACHE", "none");
    assert_eq!(json_token(&sb, &["f-cfg"])["cached"], false);
    // Every IAMDB_* variable with a bad value is a usage error naming it, never ignored.
    for (var, value) in [
        ("IAMDB_CACHE", "bogus"),
        ("IAMDB_CREDENTIALS_TIMEOUT", "soon"),
        ("IAMDB_CREDENTIALS_TIMEOUT", "0"),
        ("IAMDB_KEYRING_TIMEOUT_MS", "-5"),
    ] {
        sb.set(var, value);
        let run = sb.run(&["token", "f-cfg"]).fails(2);
        assert!(
            run.stderr
                .starts_with(&format!("iamdb: error: {var}={value:?} is not")),
            "{}",
            run.stderr
        );
        sb.unset(var);
    }
}

#[test]
fn an_unusable_store_falls_through_with_one_warning() {
    let mut sb = sandbox("fallthrough", "ss-fall");
    let bus = format!("unix:path={}/no-bus", sb.root.display());
    sb.set("IAMDB_CACHE", "secret-service")
        .set("DBUS_SESSION_BUS_ADDRESS", bus);
    let run = sb.run(&["token", "ss-fall", "--format", "json"]).ok();
    let warnings: Vec<_> = run
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("the Secret Service is unusable")
            && warnings[0].contains("using the file cache"),
        "{}",
        warnings[0]
    );
    assert!(run.json()["token"].as_str().unwrap().starts_with(HOST));
    let second = sb.run(&["token", "ss-fall", "--format", "json"]).ok();
    assert_eq!(second.json()["cached"], true, "served from the file cache");
}

#[test]
fn the_secret_service_stores_tokens() {
    if !require("dbus-run-session") || !require("gnome-keyring-daemon") {
        return;
    }
    let mut sb = sandbox("secretservice", "ss-real");
    sb.set("IAMDB_CACHE", "secret-service");
    let script = format!(
        "printf %s test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
         {bin} token ss-real --format json > out1 2>err1
         {bin} token ss-real --format json > out2 2>err2
         {bin} cache list --format json > list
         {bin} cache clear ss-real > clear
         {bin} token ss-real --format json > out3 2>err3",
        bin = BIN
    );
    let status = sb
        .command("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
    let read = |f: &str| std::fs::read_to_string(sb.root.join(f)).unwrap();
    let j = |f: &str| {
        serde_json::from_str::<serde_json::Value>(&read(f))
            .unwrap_or_else(|e| panic!("{f}: {e}: {} {}", read(f), read(&f.replace("out", "err"))))
    };
    assert_eq!(j("out1")["cached"], false, "{}", read("err1"));
    assert!(read("err1").is_empty(), "no fall-through: {}", read("err1"));
    assert_eq!(j("out2")["cached"], true);
    assert_eq!(j("out1")["token"], j("out2")["token"]);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&read("list")).unwrap();
    let ours: Vec<_> = listed
        .iter()
        .filter(|e| e["profile"] == "ss-real")
        .collect();
    assert_eq!(ours.len(), 1, "{listed:?}");
    assert_eq!(ours[0]["backend"], "secret-service");
    assert!(
        !read("list").contains("X-Amz-Signature"),
        "cache list never shows a token"
    );
    assert!(
        read("clear").starts_with("removed 1 cached token"),
        "{}",
        read("clear")
    );
    assert_eq!(j("out3")["cached"], false, "cleared");
}

#[test]
fn cache_list_and_clear() {
    if !require("unshare") {
        return;
    }
    // A user namespace of its own: its own user keyring, so clearing everything is safe.
    let sb = Sandbox::new("listclear").with_env_keys();
    sb.write_config(&format!(
        "[profiles.one]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n[profiles.two]\nengine = \"mysql\"\nhost = \"{HOST}\"\nuser = \"rep\"\n"
    ));
    let script = format!(
        "{bin} token one >/dev/null && {bin} token two >/dev/null && {bin} token --host {HOST} --port 1234 --user adhoc >/dev/null
         {bin} cache list > list1
         {bin} cache list --format json > list1.json
         {bin} cache clear one > clear1
         {bin} cache list --format json > list2.json
         {bin} cache clear > clear2
         {bin} cache list --format json > list3.json 2>list3.err",
        bin = BIN
    );
    stdout_of(
        sb.command("unshare")
            .args(["--user", "--map-root-user", "sh", "-c", &script]),
    );
    let read = |f: &str| std::fs::read_to_string(sb.root.join(f)).unwrap();
    let list1 = read("list1");
    assert!(list1.starts_with("PROFILE"), "{list1}");
    for want in [
        "one ",
        "two ",
        "- ",
        &format!("{HOST}:5432"),
        &format!("{HOST}:3306"),
        "adhoc",
        "keyutils",
    ] {
        assert!(list1.contains(want), "{want:?} missing from\n{list1}");
    }
    assert!(
        list1
            .lines()
            .skip(1)
            .all(|l| l.ends_with('s') && l.contains("m ")),
        "time left in minutes and seconds:\n{list1}"
    );
    assert!(
        !list1.contains("X-Amz") && !read("list1.json").contains("X-Amz"),
        "cache list never shows a token"
    );
    let entries: Vec<serde_json::Value> = serde_json::from_str(&read("list1.json")).unwrap();
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|e| e["expires_in"].as_i64().unwrap() > 800)
    );
    assert_eq!(read("clear1"), "removed 1 cached token for profile 'one'\n");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&read("list2.json")).unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["profile"] != "one"));
    assert_eq!(read("clear2"), "removed 2 cached tokens\n");
    assert_eq!(read("list3.json"), "[]\n");
}

/// A credential_process that counts its runs and takes a while, to widen the race.
fn counting_process(sb: &Sandbox) -> std::path::PathBuf {
    let counter = sb.root.join("resolutions");
    let script = sb.root.join("slow-creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho x >> '{}'\nsleep 0.3\nprintf '%s' '{{\"Version\":1,\"AccessKeyId\":\"ASIACONCURRENT000001\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"2099-01-01T00:00:00Z\"}}'\n",
            counter.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.write_aws_config(&format!(
        "[profile slow]\ncredential_process = {}\n",
        script.display()
    ));
    counter
}

fn parallel_cold_calls(sb: &Sandbox, profile: &str, n: usize) -> Vec<String> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            sb.iamdb(&["token", profile])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        })
        .collect()
}

#[test]
fn concurrent_cold_calls_resolve_credentials_once() {
    for (store, profile) in [("keyutils", "ku-parallel"), ("file", "f-parallel")] {
        let mut sb = Sandbox::new("parallel");
        sb.set("IAMDB_CACHE", store);
        sb.write_config(&format!(
            "[profiles.{profile}]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\naws_profile = \"slow\"\n"
        ));
        let counter = counting_process(&sb);
        let tokens = parallel_cold_calls(&sb, profile, 20);
        assert!(tokens[0].contains("ASIACONCURRENT000001"));
        assert!(
            tokens.iter().all(|t| t == &tokens[0]),
            "{store}: different tokens"
        );
        let runs = std::fs::read_to_string(&counter).unwrap().lines().count();
        assert_eq!(runs, 1, "{store}: credentials resolved {runs} times");
    }
}

#[test]
fn verbose_logs_never_show_secrets() {
    let mut sb = sandbox("secrets", "ku-secrets");
    sb.set("AWS_SESSION_TOKEN", "SESSIONTOKENSECRETVALUE");
    for args in [
        &["-vv", "token", "ku-secrets"][..],
        &["-vv", "token", "ku-secrets"],
        &["-vv", "token", "ku-secrets", "--refresh"],
        &["-v", "cache", "list"],
    ] {
        let run = sb.run(args).ok();
        let token = run.stdout.trim();
        let signature = param(token, "X-Amz-Signature").unwrap_or("no-signature-here");
        for secret in [SECRET, "SESSIONTOKENSECRETVALUE", signature] {
            assert!(
                !run.stderr.contains(secret),
                "{args:?} logged a secret:\n{}",
                run.stderr
            );
        }
        assert!(run.stderr.contains("DEBUG"), "{args:?} logged nothing");
    }
}

#[test]
fn cache_list_columns_stay_aligned_for_long_names() {
    let long_user = format!("svc_{}", "reporting".repeat(7))
        .chars()
        .take(60)
        .collect::<String>();
    assert_eq!(long_user.chars().count(), 60);
    let mut sb = Sandbox::new("listwide").with_env_keys();
    sb.set("IAMDB_CACHE", "file");
    sb.write_config(&format!(
        "[profiles.short]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n\
         [profiles.wide]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"{long_user}\"\n"
    ));
    sb.run(&["token", "short"]).ok();
    sb.run(&["token", "wide"]).ok();
    let list = sb.run(&["cache", "list"]).ok().stdout;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    let header = lines[0];
    let column = |name: &str| {
        header
            .find(name)
            .unwrap_or_else(|| panic!("{name}: {list}"))
    };
    let (user, backend, expires) = (column("USER"), column("BACKEND"), column("EXPIRES IN"));
    for row in &lines[1..] {
        assert!(
            row.is_char_boundary(backend) && row.is_char_boundary(expires),
            "{list}"
        );
        assert!(
            row[backend..].starts_with("file "),
            "BACKEND out of line:\n{list}"
        );
        assert!(
            row[expires..].ends_with('s') && !row[expires..].starts_with(' '),
            "EXPIRES IN out of line:\n{list}"
        );
        assert!(
            row[user..].starts_with("app ") || row[user..].starts_with(&format!("{long_user} ")),
            "USER out of line:\n{list}"
        );
    }
    assert!(
        list.contains(&long_user),
        "the user name is shown whole:\n{list}"
    );
}
