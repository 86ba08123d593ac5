//! `iamdb pgpass sync`: plain psql logs in from the `.pgpass` iamdb keeps.

use crate::common::pg::{self, Pg, sandbox};
use crate::common::*;

#[test]
fn pgpass_sync_feeds_plain_psql() {
    if !pg::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = sandbox(
        "pgpass",
        pg,
        &[
            ("db", "localhost", "app", false),
            ("viatunnel", pg::RDS_NAME, "a+b c", true),
        ],
    );
    let pgpass = sb.home().join(".pgpass");
    let foreign = "# my own lines\nlocalhost:5432:*:me:hunter2\n*:*:*:legacy:pa\\:ss\n";
    std::fs::write(&pgpass, foreign).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();

    let run = sb.run(&["pgpass", "sync"]).ok();
    assert!(
        run.stderr.contains("was readable by others"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&pgpass).unwrap();
    assert!(
        text.starts_with(foreign),
        "foreign lines kept byte for byte:\n{text}"
    );
    assert_eq!(
        std::fs::metadata(&pgpass).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        text.contains(&format!(
            "localhost:{}:shop:app:localhost\\:{}/?Action=connect",
            pg.port, pg.port
        )),
        "escaped:\n{text}"
    );

    let plain = |conninfo: &str| {
        sb.command("psql")
            .args([conninfo, "-X", "-tA", "-c", "SELECT current_user"])
            .output()
            .map(Run::from)
            .unwrap()
    };
    let conninfo = format!(
        "host=localhost port={} dbname=shop user=app sslmode=verify-full sslrootcert={}",
        pg.port,
        pg.ca.display()
    );
    assert_eq!(plain(&conninfo).ok().stdout, "app\n");
    let tunnel = format!(
        "host={} hostaddr=127.0.0.1 port={} dbname=shop user='a+b c' sslmode=verify-full sslrootcert={}",
        pg::RDS_NAME,
        pg.port,
        pg.ca.display()
    );
    assert_eq!(plain(&tunnel).ok().stdout, "a+b c\n");

    // The negative twin: once iamdb's lines are removed, libpq has no password to send.
    sb.run(&["pgpass", "sync", "--remove"]).ok();
    assert_eq!(std::fs::read_to_string(&pgpass).unwrap(), foreign);
    let run = plain(&conninfo);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("no password supplied"),
        "{}",
        run.stderr
    );

    // A symlinked .pgpass stays a link; only the named profile is written.
    let real = sb.root.join("dotfiles-pgpass");
    std::fs::rename(&pgpass, &real).unwrap();
    std::os::unix::fs::symlink(&real, &pgpass).unwrap();
    sb.run(&["pgpass", "sync", "db"]).ok();
    assert!(
        std::fs::symlink_metadata(&pgpass)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(
        text.contains("# iamdb profile db\n") && !text.contains("viatunnel"),
        "{text}"
    );
    assert_eq!(plain(&conninfo).ok().stdout, "app\n");
}

const PG_PROFILE: &str = "[profiles.db]\nengine = \"postgres\"\nhost = \"db1.c9akciq32.eu-west-1.rds.amazonaws.com\"\nuser = \"app\"\n";

#[test]
fn remove_deletes_a_pgpass_iamdb_made_and_keeps_the_users_own() {
    let sb = Sandbox::new("pgpass-leftover").with_env_keys();
    sb.write_config(PG_PROFILE);
    let pgpass = sb.home().join(".pgpass");

    // iamdb made the file: nothing is left of it once its lines go.
    sb.run(&["pgpass", "sync"]).ok();
    assert!(pgpass.is_file());
    let run = sb.run(&["pgpass", "sync", "--remove"]).ok();
    assert!(!pgpass.exists(), "an empty .pgpass was left behind");
    assert!(
        run.stdout.contains("nothing but iamdb's own lines"),
        "{}",
        run.stdout
    );
    // Removing what is not there creates nothing.
    sb.run(&["pgpass", "sync", "--remove"]).ok();
    assert!(!pgpass.exists(), "--remove created an empty .pgpass");

    // The user's file stays, byte for byte, even when all it holds is a comment.
    use std::os::unix::fs::PermissionsExt;
    for mine in [
        "# mine\n",
        "# no newline at the end",
        "\n# after a blank line\n\n",
    ] {
        std::fs::write(&pgpass, mine).unwrap();
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        sb.run(&["pgpass", "sync"]).ok();
        let run = sb.run(&["pgpass", "sync", "--remove"]).ok();
        assert!(!run.stdout.contains("nothing but"), "{}", run.stdout);
        let left = std::fs::read_to_string(&pgpass).unwrap();
        assert!(
            left.starts_with(mine) && left[mine.len()..].trim().is_empty(),
            "{left:?}"
        );
    }
    // A file of the user's that was empty before iamdb came is left, not removed for being
    // empty when iamdb took nothing out.
    std::fs::write(&pgpass, "").unwrap();
    sb.run(&["pgpass", "sync", "--remove"]).ok();
    assert_eq!(std::fs::read_to_string(&pgpass).unwrap(), "");

    // Through a symlink, iamdb never deletes: the link stays and its file is emptied.
    std::fs::remove_file(&pgpass).unwrap();
    let real = sb.root.join("dotfiles-pgpass");
    std::fs::write(&real, "").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&real, &pgpass).unwrap();
    sb.run(&["pgpass", "sync"]).ok();
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("# iamdb profile db\n")
    );
    sb.run(&["pgpass", "sync", "--remove"]).ok();
    assert!(
        std::fs::symlink_metadata(&pgpass)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "");
}
