//! `iamdb ca update` against a real HTTPS server on loopback (python's http.server over TLS,
//! its certificate from a test CA that SSL_CERT_FILE makes the system's).

use std::path::Path;

use crate::common::*;

const EMBEDDED: &str = include_str!("../../crates/iamdb-core/assets/rds-ca-bundle.pem");

fn serve(dir: &Path) -> u16 {
    let mut c = std::process::Command::new("python3");
    c.arg(support("https_server.py"))
        .arg(dir)
        .arg(dir.join("server.crt"))
        .arg(dir.join("server.key"))
        .stderr(std::process::Stdio::null());
    spawn_helper(c, true).unwrap()
}

/// The first `n` certificates of the embedded bundle: a valid bundle that differs from it.
fn first_certificates(n: usize) -> String {
    let end = "-----END CERTIFICATE-----\n";
    EMBEDDED.split_inclusive(end).take(n).collect()
}

#[test]
fn update_downloads_checks_and_replaces_the_bundle() {
    if !(require("python3") && require("openssl")) {
        return;
    }
    let mut sb = Sandbox::new("ca-update").with_env_keys();
    let site = sb.root.join("site");
    std::fs::create_dir_all(&site).unwrap();
    let ca = crate::common::pg::make_certs(&site);
    let port = serve(&site);
    let url = |name: &str| format!("https://localhost:{port}/{name}");
    let installed = std::path::PathBuf::from(sb.run(&["ca", "path"]).ok().stdout.trim());

    // Not trusted until the test CA is among the system's: the error says so.
    std::fs::write(site.join("bundle.pem"), first_certificates(3)).unwrap();
    sb.set(
        "SSL_CERT_FILE",
        sb.root.join("none.pem").display().to_string(),
    );
    let untrusted = sb.run(&["ca", "update", "--url", &url("bundle.pem")]);
    assert_eq!(untrusted.code, 6, "{}", untrusted.stderr);
    assert!(
        untrusted.stderr.contains("no system CA certificates")
            || untrusted.stderr.contains("not signed by a CA"),
        "{}",
        untrusted.stderr
    );
    assert!(!installed.exists());

    sb.set("SSL_CERT_FILE", ca.display().to_string());
    let ok = sb.run(&["ca", "update", "--url", &url("bundle.pem")]).ok();
    assert!(
        ok.stdout.contains(&format!(
            "updated {} (3 certificates from {})",
            installed.display(),
            url("bundle.pem")
        )),
        "{}",
        ok.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&installed).unwrap(),
        first_certificates(3)
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777,
        0o644
    );

    // Client commands keep the downloaded bundle: a PostgreSQL profile without ssl_ca points
    // libpq at it, unchanged.
    sb.write_config("[profiles.p]\nengine = \"postgres\"\nhost = \"db1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"u\"\n");
    let env = sb
        .run(&[
            "exec",
            "p",
            "--",
            "sh",
            "-c",
            "printf %s \"$PGSSLROOTCERT\"",
        ])
        .ok();
    assert_eq!(env.stdout, installed.display().to_string());
    assert_eq!(
        std::fs::read_to_string(&installed).unwrap(),
        first_certificates(3)
    );

    // Whatever is wrong with a download, the installed file stays as it was.
    std::fs::write(site.join("page.html"), "<html>maintenance</html>\n").unwrap();
    let broken = first_certificates(1).replace("MII", "MII!!");
    std::fs::write(site.join("broken.pem"), &broken).unwrap();
    for (name, code, says) in [
        ("page.html", 6, "holds no PEM certificate"),
        ("broken.pem", 6, "is not a PEM certificate bundle"),
        ("missing.pem", 6, "the server answered 404 Not Found"),
    ] {
        let run = sb.run(&["ca", "update", "--url", &url(name)]);
        assert_eq!(run.code, code, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{name}: {}", run.stderr);
        assert_eq!(
            std::fs::read_to_string(&installed).unwrap(),
            first_certificates(3)
        );
    }
    let plain = sb.run(&[
        "ca",
        "update",
        "--url",
        &format!("http://localhost:{port}/bundle.pem"),
    ]);
    assert_eq!(plain.code, 2);
    assert!(
        plain.stderr.contains("only https:// URLs"),
        "{}",
        plain.stderr
    );

    // `ca install` goes back to the embedded bundle.
    let back = sb.run(&["ca", "install"]).ok();
    assert!(back.stdout.starts_with("installed"), "{}", back.stdout);
    assert_eq!(std::fs::read_to_string(&installed).unwrap(), EMBEDDED);
}

#[test]
fn ca_install_writes_the_rds_bundle_that_profiles_use() {
    let sb = Sandbox::new("ca").with_env_keys();
    let path = sb.run(&["ca", "path"]).ok().stdout;
    let path = std::path::PathBuf::from(path.trim_end());
    assert_eq!(path, sb.home().join(".local/share/iamdb/rds-ca-bundle.pem"));
    assert!(!path.exists());
    let run = sb.run(&["ca", "install"]).ok();
    assert!(run.stdout.starts_with("installed "), "{}", run.stdout);
    let embedded =
        std::fs::read(support("../../crates/iamdb-core/assets/rds-ca-bundle.pem")).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), embedded);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // openssl reads every certificate in it.
    let certs = Run::from(
        std::process::Command::new("openssl")
            .args(["storeutl", "-noout", "-certs"])
            .arg(&path)
            .output()
            .unwrap(),
    )
    .ok();
    let count = run
        .stdout
        .split('(')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(
        certs.stdout.contains(&format!("Total found: {count}")),
        "{}",
        certs.stdout
    );
    assert!(count.parse::<usize>().unwrap() > 100);
    let again = sb.run(&["ca", "install"]).ok();
    assert!(
        again.stdout.starts_with("already current: "),
        "{}",
        again.stdout
    );

    // A damaged copy is replaced, and a profile without ssl_ca points clients at it.
    std::fs::write(&path, "junk").unwrap();
    sb.write_config(
        "[profiles.p]\nengine = \"postgres\"\nhost = \"p.c1.eu-west-1.rds.amazonaws.com\"\nuser = \"a\"\n",
    );
    let env = sb
        .run(&["exec", "p", "--", "sh", "-c", "echo \"$PGSSLROOTCERT\""])
        .ok()
        .stdout;
    assert_eq!(env.trim_end(), path.display().to_string());
    assert_eq!(std::fs::read(&path).unwrap(), embedded);
}
