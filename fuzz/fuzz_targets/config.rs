//! The config file is the one input a user (or a tool acting for one) writes freely. Any text
//! must parse or be refused with an error, never panic; and whatever it accepts must not be
//! able to inject a line into the files iamdb writes from it: `.pgpass`, option files and
//! `pg_service.conf` must read back exactly the values the profile holds.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iamdb_core::clients::{mysql, postgres};
use iamdb_core::config::{Config, Settings};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "db.example:5432/?Action=connect&DBUser=a%3Ab&X-Amz-Signature=0f";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::parse(PathBuf::from("/fuzz/config.toml"), text) else {
        return;
    };
    let ca = Path::new("/fuzz/ca.pem");
    let passfile = Path::new("/fuzz/.pgpass");
    for name in config.profiles.keys() {
        let Ok(p) = config.resolve(Some(name), Settings::default()) else {
            continue;
        };
        // What the config accepts, the writers accept: its checks are at least as strict.
        let line = postgres::pgpass_line(&p, TOKEN).expect("an accepted profile writes");
        assert!(
            !line.contains(['\n', '\r']),
            "a .pgpass line broke: {line:?}"
        );
        let port = p.dial_port().to_string();
        let db = p.set.database.clone().unwrap_or_else(|| "*".into());
        assert_eq!(
            postgres::pgpass_fields(&line),
            [&p.host, &port, &db, &p.user, TOKEN],
            "{line:?}"
        );

        let group = mysql::option_group("client_x", &p, TOKEN, ca, mysql::Flavour::Mariadb)
            .expect("an accepted profile writes");
        assert_eq!(
            group.lines().filter(|l| l.starts_with('[')).count(),
            1,
            "{group}"
        );
        assert_eq!(
            mysql::group_password(&group, "client_x").as_deref(),
            Some(TOKEN)
        );

        // A value over libpq's line length is refused, never written.
        let Ok(section) = postgres::service_section(&p, name, ca, None, passfile) else {
            assert!(
                p.set
                    .database
                    .as_ref()
                    .is_some_and(|d| d.len() > postgres::SERVICE_LINE_MAX - 7)
                    || p.user.len() > postgres::SERVICE_LINE_MAX - 5
                    || p.host.len() > postgres::SERVICE_LINE_MAX - 5,
                "refused a section that fits: {p:?}"
            );
            continue;
        };
        assert!(
            section
                .lines()
                .all(|l| l.len() <= postgres::SERVICE_LINE_MAX)
        );
        let expected = if p.set.database.is_some() { 9 } else { 8 };
        assert_eq!(section.lines().count(), expected, "{section}");
        let mut add = BTreeMap::new();
        add.insert(name.clone(), Some(section.clone()));
        let written = postgres::update_service_file("", &add).expect("an empty file");
        assert_eq!(written, section);
        let mut remove = BTreeMap::new();
        remove.insert(name.clone(), None);
        assert_eq!(
            postgres::update_service_file(&written, &remove).unwrap(),
            ""
        );
    }
});
