//! `iamdb pgadmin`: real pgAdmin 4 (common/pgadmin.rs) imports the servers.json iamdb writes,
//! exports it back unchanged, and its own password-exec code runs `iamdb token PROFILE` and
//! logs in to the PostgreSQL server that checks tokens like RDS; a re-export keeps the
//! servers the user added by hand.

use crate::common::pg::{self, Pg};
use crate::common::pgadmin::{self, PgAdmin};
use crate::common::*;
use serde_json::{Value, json};

#[test]
fn pgadmin_imports_the_servers_and_logs_in_with_its_own_password_command() {
    if !pg::available() || !pgadmin::available() {
        return;
    }
    let pg = Pg::shared();
    let mut sb = pg::sandbox(
        "pgadmin",
        pg,
        &[
            ("prod", pg::RDS_NAME, "app", true),
            ("odd", pg::RDS_NAME, "a+b c", true),
        ],
    );
    let file = sb.root.join("servers.json");
    sb.run(&["pgadmin", "--output", file.to_str().unwrap()])
        .ok();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let prod = &written["Servers"]["2"];
    assert_eq!(prod["Name"], "prod");
    assert_eq!(prod["Group"], "iamdb");
    assert_eq!(prod["Host"], pg::RDS_NAME);
    assert_eq!(prod["Port"], pg.port);
    assert_eq!(prod["Username"], "app");
    assert_eq!(prod["MaintenanceDB"], "shop");
    assert_eq!(
        prod["ConnectionParameters"],
        json!({"sslmode": "verify-full", "sslrootcert": pg.ca.display().to_string(),
               "hostaddr": "127.0.0.1", "connect_timeout": 10})
    );
    // The token's lifetime less the refresh margin: pgAdmin asks again before it expires.
    assert_eq!(prod["PasswordExecExpiration"], 900 - 120);
    let command = prod["PasswordExecCommand"].as_str().unwrap();
    assert!(
        command.starts_with('/') && command.ends_with(" token prod"),
        "{command}"
    );

    let admin = PgAdmin::new(&sb);
    admin.load(&sb, &file);
    let dump = admin.dump(&sb);
    for (n, server) in written["Servers"].as_object().unwrap() {
        for (key, value) in server.as_object().unwrap() {
            assert_eq!(&dump["Servers"][n][key], value, "{n}.{key}: {dump:#}");
        }
    }

    // pgAdmin's own PasswordExec runs iamdb, and pgAdmin's own connection logs in with it.
    let got = admin.password(&sb, "prod");
    assert!(
        got.password.starts_with(&format!(
            "{}:{}/?Action=connect&DBUser=app&",
            pg::RDS_NAME,
            pg.port
        )),
        "{}",
        got.password
    );
    assert_eq!(admin.login(&sb, "prod"), "app");
    assert_eq!(admin.login(&sb, "odd"), "a+b c");

    // The negative twin: credentials the server does not know make a token it refuses, and
    // pgAdmin reports the refusal.
    sb.set("AWS_SECRET_ACCESS_KEY", "not-the-right-secret")
        .set("IAMDB_CACHE", "none");
    let refused = admin.try_login(&sb, "prod");
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        (refused.stdout.clone() + &refused.stderr).contains("PAM authentication failed"),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
}

#[test]
fn a_re_export_keeps_servers_added_by_hand() {
    let sb = Sandbox::new("pgadmin-merge").with_env_keys();
    sb.write_config(&format!(
        "[profiles.prod]\nengine = \"postgres\"\nhost = \"{HOST}\"\nuser = \"app\"\n\
         [profiles.dsql]\nhost = \"abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\"\nuser = \"admin\"\nexpires_in = 3600\n\
         [profiles.cache]\nhost = \"master.orders.abc123.use1.cache.amazonaws.com\"\nuser = \"app\"\n"
    ));
    let file = sb.root.join("servers.json");
    let mine = json!({"Name": "prod", "Group": "Servers", "Host": "pg.example", "Port": 5432,
                      "MaintenanceDB": "postgres", "Username": "me"});
    let stale = json!({"Name": "prod", "Group": "iamdb", "Host": "old.example", "Port": 5432,
                       "MaintenanceDB": "postgres", "Username": "old"});
    std::fs::write(
        &file,
        json!({"Servers": {"1": mine, "2": stale}}).to_string(),
    )
    .unwrap();
    let run = sb
        .run(&["pgadmin", "--output", file.to_str().unwrap()])
        .ok();
    assert!(
        run.stdout.is_empty() && run.stderr.contains("wrote 2 servers (dsql, prod)"),
        "{}",
        run.stderr
    );
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let servers = merged["Servers"].as_object().unwrap();
    assert_eq!(servers.len(), 3, "{merged:#}");
    assert_eq!(servers["1"], mine, "the hand-made server is kept as it was");
    assert_eq!(
        servers["2"]["Host"], HOST,
        "iamdb's own server is replaced in place"
    );
    assert_eq!(servers["3"]["Name"], "dsql");
    assert_eq!(servers["3"]["MaintenanceDB"], "postgres");
    assert_eq!(servers["3"]["PasswordExecExpiration"], 3600 - 120);

    // Without --output: the same servers on stdout, nothing written.
    let printed = sb.run(&["pgadmin", "prod"]).ok().json();
    assert_eq!(printed["Servers"]["1"]["Name"], "prod");
    assert!(printed["Servers"].get("2").is_none());

    // A cache profile is not a pgAdmin server; a file that is not a servers file is not
    // overwritten.
    let err = sb.run(&["pgadmin", "cache"]).fails(2);
    assert!(err.stderr.contains("profile 'cache'"), "{}", err.stderr);
    std::fs::write(&file, "[1, 2]\n").unwrap();
    let err = sb
        .run(&["pgadmin", "--output", file.to_str().unwrap()])
        .fails(3);
    assert!(
        err.stderr
            .contains("servers.json: not a pgAdmin servers file"),
        "{}",
        err.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "[1, 2]\n");
}
