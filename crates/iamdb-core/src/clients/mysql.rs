//! mysql and mariadb: option files, the client flavour, and TLS settings.
//!
//! Option files are flavour-specific: Oracle MySQL's client rejects MariaDB's
//! `ssl-verify-server-cert` and MariaDB's rejects `ssl-mode`, as unknown options.

use std::path::{Path, PathBuf};

use crate::config::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Mariadb,
    Mysql,
}

impl crate::named::Named for Flavour {
    const ALL: &'static [Flavour] = &[Flavour::Mariadb, Flavour::Mysql];

    fn name(self) -> &'static str {
        match self {
            Flavour::Mariadb => "mariadb",
            Flavour::Mysql => "mysql",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Flavour::Mariadb => "MariaDB's client (Debian's and Ubuntu's `mysql`)",
            Flavour::Mysql => "Oracle MySQL's client",
        }
    }
}

/// The flavour, from `<client> --version` (or the first line of `--help`).
pub fn flavour_from_version(version: &str) -> Flavour {
    if version.contains("MariaDB") {
        Flavour::Mariadb
    } else {
        Flavour::Mysql
    }
}

/// What a client's `--help` says about it: its flavour, and the option files it reads by
/// default, in order (`~/` expanded with `home`). MariaDB's and MySQL's clients print the
/// list after "Default options are read from the following files in the given order:".
pub fn parse_help(help: &str, home: Option<&Path>) -> (Flavour, Vec<PathBuf>) {
    let flavour = flavour_from_version(help.lines().next().unwrap_or_default());
    let mut lines = help.lines();
    let files = lines
        .find(|l| l.starts_with("Default options are read from the following files"))
        .and(lines.next())
        .map(|l| {
            l.split_whitespace()
                .filter_map(|f| match (f.strip_prefix("~/"), home) {
                    (Some(rest), Some(home)) => Some(home.join(rest)),
                    (Some(_), None) => None,
                    (None, _) => Some(PathBuf::from(f)),
                })
                .collect()
        })
        .unwrap_or_else(|| default_files(home));
    (flavour, files)
}

/// The option files both clients read when their `--help` cannot be asked.
pub fn default_files(home: Option<&Path>) -> Vec<PathBuf> {
    let mut files = vec![
        PathBuf::from("/etc/my.cnf"),
        PathBuf::from("/etc/mysql/my.cnf"),
    ];
    files.extend(home.map(|h| h.join(".my.cnf")));
    files
}

/// A value iamdb writes into an option file must be one line: a newline there would add
/// options or groups of its own, whatever the value's source.
fn check_value(value: &str) -> Result<(), String> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "{value:?} contains the control character {c:?}, which would break the option file's lines"
        )),
        None => Ok(()),
    }
}

/// Quotes an option-file value: double quotes, with `\` and `"` escaped. A value with a
/// control character is refused.
pub fn quote(value: &str) -> Result<String, String> {
    check_value(value)?;
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// The `!include` line for `path` (the rest of the line is the path, as the clients read it).
pub fn include_line(path: &Path) -> Result<String, String> {
    let text = path.display().to_string();
    check_value(&text)?;
    Ok(format!("!include {text}"))
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
    let through = p.set.connect_host.as_deref()?;
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
pub fn option_group(
    group: &str,
    p: &Profile,
    token: &str,
    ca: &Path,
    flavour: Flavour,
) -> Result<String, String> {
    let host = p.dial_host();
    let port = p.dial_port();
    // protocol=TCP: the clients take a Unix socket for "localhost", and RDS is only ever TCP.
    let mut s = format!(
        "[{group}]\nhost={}\nport={port}\nprotocol=TCP\nuser={}\npassword={}\n",
        quote(host)?,
        quote(&p.user)?,
        quote(token)?
    );
    if let Some(db) = &p.set.database {
        s.push_str(&format!("database={}\n", quote(db)?));
    }
    s.push_str(&format!("ssl-ca={}\n", quote(&ca.display().to_string())?));
    let tunnel = p.set.connect_host.is_some();
    match (flavour, tunnel) {
        (Flavour::Mariadb, false) => s.push_str("ssl-verify-server-cert\n"),
        (Flavour::Mariadb, true) => s.push_str("ssl\n"),
        (Flavour::Mysql, false) => {
            s.push_str("ssl-mode=VERIFY_IDENTITY\nenable-cleartext-plugin\n")
        }
        (Flavour::Mysql, true) => s.push_str("ssl-mode=VERIFY_CA\nenable-cleartext-plugin\n"),
    }
    Ok(s)
}

/// A whole option file for `--defaults-file`: the client's default files included first (so
/// that the user's own settings, a prompt or a pager, still apply), then the `[client]` group
/// for `p` last, so that its connection, TLS settings and token win over every option those
/// files set. (With `--defaults-extra-file` it would be the other way round: `~/.my.cnf` is read
/// after it, and a `[client]` group there with another host and `skip-ssl` would receive the
/// token in cleartext.)
pub fn option_file(
    defaults: &[PathBuf],
    p: &Profile,
    token: &str,
    ca: &Path,
    flavour: Flavour,
) -> Result<String, String> {
    let mut s = String::new();
    for file in defaults {
        s.push_str(&include_line(file)?);
        s.push('\n');
    }
    s.push_str(&option_group("client", p, token, ca, flavour)?);
    Ok(s)
}

/// The connection settings as command-line options, which outrank every option file
/// (including MySQL's `~/.mylogin.cnf`, read even with `--defaults-file`). None of them is
/// secret; the token stays in the option file.
pub fn connection_args(p: &Profile, ca: &Path, flavour: Flavour) -> Vec<String> {
    let mut args = vec![
        format!("--host={}", p.dial_host()),
        format!("--port={}", p.dial_port()),
        "--protocol=TCP".to_string(),
        format!("--user={}", p.user),
        format!("--ssl-ca={}", ca.display()),
    ];
    let tunnel = p.set.connect_host.is_some();
    args.extend(
        match (flavour, tunnel) {
            (Flavour::Mariadb, false) => &["--ssl", "--ssl-verify-server-cert"][..],
            (Flavour::Mariadb, true) => &["--ssl", "--skip-ssl-verify-server-cert"][..],
            (Flavour::Mysql, false) => &["--ssl-mode=VERIFY_IDENTITY"][..],
            (Flavour::Mysql, true) => &["--ssl-mode=VERIFY_CA"][..],
        }
        .iter()
        .map(|a| a.to_string()),
    );
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(tunnel: bool) -> Profile {
        let tunnel = if tunnel {
            "connect_host = \"127.0.0.1\"\nconnect_port = 13306\n"
        } else {
            ""
        };
        let text = format!(
            "[profiles.p]\nengine = \"mysql\"\nhost = \"db.abc.eu-west-1.rds.amazonaws.com\"\n\
             user = \"we\\\"ird\\\\user\"\ndatabase = \"shop\"\n{tunnel}"
        );
        crate::config::Config::parse("/c.toml".into(), &text)
            .unwrap()
            .resolve(Some("p"), Default::default())
            .unwrap()
    }

    #[test]
    fn passwords_read_back_from_groups() {
        let ca = Path::new("/ca.pem");
        let mut text =
            option_group("client_a", &profile(false), "t\"o\\k", ca, Flavour::Mariadb).unwrap();
        text.push_str(
            &option_group("client_b", &profile(true), "other", ca, Flavour::Mysql).unwrap(),
        );
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
        )
        .unwrap();
        assert_eq!(
            g,
            "[client]\nhost=\"db.abc.eu-west-1.rds.amazonaws.com\"\nport=3306\nprotocol=TCP\nuser=\"we\\\"ird\\\\user\"\npassword=\"h:3306/?a=b&c\"\n\
             database=\"shop\"\nssl-ca=\"/ca.pem\"\nssl-verify-server-cert\n"
        );
        let g = option_group("client_p", &profile(true), "t", ca, Flavour::Mysql).unwrap();
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

    #[test]
    fn help_names_the_flavour_and_the_default_files() {
        let mariadb = "mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64) using  EditLine wrapper\n\
            Copyright (c) 2000, 2018, Oracle, MariaDB Corporation Ab and others.\n\n\
            Default options are read from the following files in the given order:\n\
            /etc/my.cnf /etc/mysql/my.cnf ~/.my.cnf \n\
            The following groups are read: mysql mariadb-client client client-server client-mariadb\n";
        let home = Path::new("/home/u");
        let (flavour, files) = parse_help(mariadb, Some(home));
        assert_eq!(flavour, Flavour::Mariadb);
        assert_eq!(
            files,
            [
                PathBuf::from("/etc/my.cnf"),
                PathBuf::from("/etc/mysql/my.cnf"),
                PathBuf::from("/home/u/.my.cnf")
            ]
        );
        let (flavour, files) = parse_help("mysql  Ver 8.0.39 for Linux on x86_64\n", Some(home));
        assert_eq!(flavour, Flavour::Mysql);
        assert_eq!(files, default_files(Some(home)));
    }

    #[test]
    fn the_option_file_includes_the_defaults_then_wins() {
        let ca = Path::new("/ca.pem");
        let files = [
            PathBuf::from("/etc/mysql/my.cnf"),
            PathBuf::from("/home/u/.my.cnf"),
        ];
        let text = option_file(&files, &profile(false), "tok", ca, Flavour::Mariadb).unwrap();
        assert!(
            text.starts_with("!include /etc/mysql/my.cnf\n!include /home/u/.my.cnf\n[client]\n"),
            "{text}"
        );
        let args = connection_args(&profile(false), ca, Flavour::Mariadb);
        assert!(
            args.contains(&"--ssl-verify-server-cert".to_string()),
            "{args:?}"
        );
        assert!(args.iter().all(|a| !a.contains("tok")));
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(quote("a\nb").is_err());
        assert!(quote("a\rb").is_err());
        assert_eq!(quote("a \"b\" \\c").unwrap(), "\"a \\\"b\\\" \\\\c\"");
        let mut p = profile(false);
        p.set.database = Some("shop\n[client]\nhost=evil".into());
        assert!(option_group("client", &p, "t", Path::new("/ca"), Flavour::Mariadb).is_err());
        assert!(include_line(Path::new("/home/u\n[client]")).is_err());
    }
}
