//! mysql and mariadb: option files, the client flavour, and TLS settings.
//!
//! Option files are flavour-specific: Oracle MySQL's client rejects MariaDB's
//! `ssl-verify-server-cert` and MariaDB's rejects `ssl-mode`, as unknown options.

use std::path::Path;

use crate::config::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Flavour {
    /// MariaDB's client (Debian's and Ubuntu's `mysql`).
    Mariadb,
    /// Oracle MySQL's client.
    Mysql,
}

/// The flavour, from `<client> --version`.
pub fn flavour_from_version(version: &str) -> Flavour {
    if version.contains("MariaDB") {
        Flavour::Mariadb
    } else {
        Flavour::Mysql
    }
}

/// Quotes an option-file value: double quotes, with `\` and `"` escaped.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `password=` value of option group `[group]` in an option-file text, unquoted.
pub fn group_password(text: &str, group: &str) -> Option<String> {
    let header = format!("[{group}]");
    let mut lines = text.lines().map(str::trim);
    lines.find(|l| *l == header)?;
    let value = lines
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| l.strip_prefix("password="))?;
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    Some(out)
}

/// A user's option file with exactly one `include` line when `wanted`, and none otherwise;
/// every other byte stays where it was.
pub fn update_include(text: &str, include: &str, wanted: bool) -> String {
    let has = text.lines().any(|l| l.trim_end() == include);
    match (has, wanted) {
        (false, true) => {
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            format!("{text}{sep}{include}\n")
        }
        (true, false) => text
            .split_inclusive('\n')
            .filter(|l| l.trim_end() != include)
            .collect(),
        _ => text.to_string(),
    }
}

/// What TLS checks a connection gets, for the user to know.
pub fn verification(p: &Profile, flavour: Flavour) -> Option<String> {
    let through = p.connect_host.as_deref()?;
    Some(match flavour {
        Flavour::Mariadb => format!(
            "through the tunnel at {through}, the MariaDB client cannot check the server certificate against {}: \
             the connection is encrypted, but the server is not authenticated by its certificate",
            p.host
        ),
        Flavour::Mysql => format!(
            "through the tunnel at {through}, the certificate chain is verified (VERIFY_CA) but not the name {}",
            p.host
        ),
    })
}

/// An option group that logs the client in to `p`: `[client]`, or `[client_SUFFIX]` for
/// `--defaults-group-suffix`.
pub fn option_group(group: &str, p: &Profile, token: &str, ca: &Path, flavour: Flavour) -> String {
    let host = p.connect_host.as_deref().unwrap_or(&p.host);
    let port = p.connect_port.unwrap_or(p.port);
    // protocol=TCP: the clients take a Unix socket for "localhost", and RDS is only ever TCP.
    let mut s = format!(
        "[{group}]\nhost={}\nport={port}\nprotocol=TCP\nuser={}\npassword={}\n",
        quote(host),
        quote(&p.user),
        quote(token)
    );
    if let Some(db) = &p.database {
        s.push_str(&format!("database={}\n", quote(db)));
    }
    s.push_str(&format!("ssl-ca={}\n", quote(&ca.display().to_string())));
    let tunnel = p.connect_host.is_some();
    match (flavour, tunnel) {
        (Flavour::Mariadb, false) => s.push_str("ssl-verify-server-cert\n"),
        (Flavour::Mariadb, true) => s.push_str("ssl\n"),
        (Flavour::Mysql, false) => {
            s.push_str("ssl-mode=VERIFY_IDENTITY\nenable-cleartext-plugin\n")
        }
        (Flavour::Mysql, true) => s.push_str("ssl-mode=VERIFY_CA\nenable-cleartext-plugin\n"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(tunnel: bool) -> Profile {
        Profile {
            name: Some("p".into()),
            engine: Some(crate::config::Engine::Mysql),
            host: "db.abc.eu-west-1.rds.amazonaws.com".into(),
            port: 3306,
            user: "we\"ird\\user".into(),
            database: Some("shop".into()),
            region: None,
            aws_profile: None,
            ssl_ca: None,
            connect_host: tunnel.then(|| "127.0.0.1".into()),
            connect_port: tunnel.then_some(13306),
            refresh_margin: 120,
            cache: None,
        }
    }

    #[test]
    fn passwords_read_back_from_groups() {
        let ca = Path::new("/ca.pem");
        let mut text = option_group("client_a", &profile(false), "t\"o\\k", ca, Flavour::Mariadb);
        text.push_str(&option_group(
            "client_b",
            &profile(true),
            "other",
            ca,
            Flavour::Mysql,
        ));
        assert_eq!(
            group_password(&text, "client_a").as_deref(),
            Some("t\"o\\k")
        );
        assert_eq!(group_password(&text, "client_b").as_deref(), Some("other"));
        assert_eq!(group_password(&text, "client_c"), None);
    }

    #[test]
    fn flavours_are_told_apart() {
        assert_eq!(
            flavour_from_version("mysql  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu"),
            Flavour::Mariadb
        );
        assert_eq!(
            flavour_from_version(
                "mysql  Ver 8.0.39 for Linux on x86_64 (MySQL Community Server - GPL)"
            ),
            Flavour::Mysql
        );
    }

    #[test]
    fn option_groups_per_flavour() {
        let ca = Path::new("/ca.pem");
        let g = option_group(
            "client",
            &profile(false),
            "h:3306/?a=b&c",
            ca,
            Flavour::Mariadb,
        );
        assert_eq!(
            g,
            "[client]\nhost=\"db.abc.eu-west-1.rds.amazonaws.com\"\nport=3306\nprotocol=TCP\nuser=\"we\\\"ird\\\\user\"\npassword=\"h:3306/?a=b&c\"\n\
             database=\"shop\"\nssl-ca=\"/ca.pem\"\nssl-verify-server-cert\n"
        );
        let g = option_group("client_p", &profile(true), "t", ca, Flavour::Mysql);
        assert!(
            g.starts_with("[client_p]\nhost=\"127.0.0.1\"\nport=13306\nprotocol=TCP\n"),
            "{g}"
        );
        assert!(
            g.ends_with("ssl-mode=VERIFY_CA\nenable-cleartext-plugin\n"),
            "{g}"
        );
        assert!(
            verification(&profile(true), Flavour::Mariadb)
                .unwrap()
                .contains("not authenticated")
        );
        assert!(verification(&profile(false), Flavour::Mariadb).is_none());
    }
}
