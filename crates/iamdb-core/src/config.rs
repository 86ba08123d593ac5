//! The config file: `[defaults]` and `[profiles.NAME]` tables in TOML. Loading validates
//! everything up front and names the file, line and column of the first problem; editing
//! (`profile add` / `remove`) goes through toml_edit so comments and layout survive.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::cache::Choice;
use crate::error::{Error, Result};

pub const DEFAULT_REFRESH_MARGIN: u32 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    #[serde(alias = "postgresql")]
    Postgres,
    Mysql,
    Mariadb,
}

impl crate::named::Named for Engine {
    const ALL: &'static [Engine] = &[Engine::Postgres, Engine::Mysql, Engine::Mariadb];

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Engine::Postgres => &["postgresql"],
            _ => &[],
        }
    }

    fn help(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL (RDS, Aurora, RDS Proxy)",
            Engine::Mysql => "MySQL (RDS, Aurora, RDS Proxy)",
            Engine::Mariadb => "MariaDB (RDS)",
        }
    }
}

impl Engine {
    pub fn default_port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            Engine::Mysql | Engine::Mariadb => 3306,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One table of settings as written in the file, positions kept for error messages.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    engine: Option<Engine>,
    host: Option<Spanned<String>>,
    port: Option<Spanned<i64>>,
    user: Option<Spanned<String>>,
    database: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    aws_profile: Option<Spanned<String>>,
    ssl_ca: Option<Spanned<String>>,
    connect_host: Option<Spanned<String>>,
    connect_port: Option<Spanned<i64>>,
    refresh_margin: Option<Spanned<i64>>,
    cache: Option<Choice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    defaults: Option<Spanned<RawSettings>>,
    #[serde(default)]
    profiles: BTreeMap<Spanned<String>, RawSettings>,
}

/// Validated settings of one table (or of the command-line flags).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub engine: Option<Engine>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub database: Option<String>,
    pub region: Option<String>,
    pub aws_profile: Option<String>,
    pub ssl_ca: Option<PathBuf>,
    pub connect_host: Option<String>,
    pub connect_port: Option<u16>,
    pub refresh_margin: Option<u32>,
    pub cache: Option<Choice>,
}

impl Settings {
    /// `self` where set, else `fallback`.
    pub fn or(self, fallback: &Settings) -> Settings {
        let fb = fallback.clone();
        Settings {
            engine: self.engine.or(fb.engine),
            host: self.host.or(fb.host),
            port: self.port.or(fb.port),
            user: self.user.or(fb.user),
            database: self.database.or(fb.database),
            region: self.region.or(fb.region),
            aws_profile: self.aws_profile.or(fb.aws_profile),
            ssl_ca: self.ssl_ca.or(fb.ssl_ca),
            connect_host: self.connect_host.or(fb.connect_host),
            connect_port: self.connect_port.or(fb.connect_port),
            refresh_margin: self.refresh_margin.or(fb.refresh_margin),
            cache: self.cache.or(fb.cache),
        }
    }
}

/// A loaded config file.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    /// False when the default file does not exist (an empty config).
    pub exists: bool,
    pub defaults: Settings,
    pub profiles: BTreeMap<String, Settings>,
}

/// A profile resolved into everything a token needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// None for an ad-hoc endpoint given only by flags.
    pub name: Option<String>,
    pub engine: Option<Engine>,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: Option<String>,
    pub region: Option<String>,
    pub aws_profile: Option<String>,
    pub ssl_ca: Option<PathBuf>,
    pub connect_host: Option<String>,
    pub connect_port: Option<u16>,
    pub refresh_margin: u32,
    pub cache: Option<Choice>,
}

impl Profile {
    /// Which kind of database this is: its engine, else what its port says (None when
    /// neither tells).
    pub fn is_postgres(&self) -> Option<bool> {
        match self.engine {
            Some(Engine::Postgres) => Some(true),
            Some(Engine::Mysql | Engine::Mariadb) => Some(false),
            None if self.port == 5432 => Some(true),
            None if self.port == 3306 => Some(false),
            None => None,
        }
    }
}

/// Where the config file is: `--config`/`IAMDB_CONFIG` (clap folds both into `explicit`),
/// else `<config dir>/iamdb/config.toml`.
pub fn path(explicit: Option<&Path>) -> Result<(PathBuf, bool)> {
    match explicit {
        Some(p) => Ok((p.to_path_buf(), true)),
        None => dirs::config_dir()
            .map(|d| (d.join("iamdb").join("config.toml"), false))
            .ok_or_else(|| {
                Error::config("cannot find the config directory (HOME is not set)")
                    .hint("give the file with --config FILE")
            }),
    }
}

/// Profile names become file names, option-group suffixes and shell function names.
pub fn check_profile_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("a profile name cannot be empty".into());
    }
    if name.len() > 64 {
        return Err(format!(
            "profile name '{}...' is longer than 64 characters",
            &name[..name.floor_char_boundary(20)]
        ));
    }
    if name.starts_with('-') || name.starts_with('.') {
        return Err(format!(
            "profile name {name:?} must start with a letter, digit or '_'"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "profile name {name:?} contains {c:?}; use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

fn check_user(user: &str) -> std::result::Result<(), String> {
    if user.is_empty() {
        return Err("user is empty".into());
    }
    if user.len() > 256 {
        return Err("user is longer than 256 bytes".into());
    }
    if user.chars().any(char::is_control) {
        return Err(format!("user {user:?} contains a control character"));
    }
    Ok(())
}

/// A free-text value (database name, AWS profile name, CA file path) that iamdb copies into
/// `.pgpass`, option files and `pg_service.conf`: one line of at most 1024 bytes, or it could
/// add lines of its own there.
pub fn check_text(value: &str, what: &str) -> std::result::Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if value.len() > 1024 {
        return Err(format!("{what} is longer than 1024 bytes"));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what} {value:?} contains the control character {c:?}"
        ));
    }
    Ok(())
}

fn check_port(value: i64, what: &str) -> std::result::Result<u16, String> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("{what} must be between 1 and 65535, not {value}"))
}

pub fn check_refresh_margin(value: i64) -> std::result::Result<u32, String> {
    u32::try_from(value)
        .ok()
        .filter(|m| u64::from(*m) < crate::token::TOKEN_LIFETIME.as_secs())
        .ok_or_else(|| format!("refresh_margin must be between 0 and 899 seconds, not {value}"))
}

fn check_region(region: &str) -> std::result::Result<(), String> {
    if crate::endpoint::is_region_name(region) {
        Ok(())
    } else {
        Err(format!(
            "region {region:?} is not an AWS region name (like \"eu-west-1\")"
        ))
    }
}

/// Line and column (both from 1) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Located<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Located<'_> {
    fn error(&self, span: Range<usize>, message: impl fmt::Display) -> Error {
        let (line, col) = line_col(self.text, span.start);
        Error::config(format!("{}:{line}:{col}: {message}", self.path.display()))
    }
}

impl Config {
    /// Loads and validates the config file. A missing default file is an empty config; a
    /// missing file named by --config or IAMDB_CONFIG is an error.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let (path, named) = path(explicit)?;
        let text = match read_config(&path) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
                Error::config(format!(
                    "{}: not UTF-8 text (invalid byte at offset {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ))
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !named => {
                return Ok(Config {
                    path,
                    exists: false,
                    defaults: Settings::default(),
                    profiles: BTreeMap::new(),
                });
            }
            Err(e) => return Err(read_error(&path, &e)),
        };
        Self::parse(path, &text)
    }

    pub fn parse(path: PathBuf, text: &str) -> Result<Config> {
        let at = Located { path: &path, text };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().replace('\n', " ");
            match e.span() {
                Some(span) => at.error(span, message),
                None => Error::config(format!("{}: {message}", path.display())),
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let defaults = match raw.defaults {
            Some(table) => {
                let span = table.span();
                let settings = table.into_inner();
                for (set, key) in [
                    (settings.host.is_some(), "host"),
                    (settings.connect_host.is_some(), "connect_host"),
                    (settings.connect_port.is_some(), "connect_port"),
                ] {
                    if set {
                        return Err(at.error(
                            span,
                            format!(
                                "`{key}` belongs in a [profiles.NAME] table, not in [defaults]"
                            ),
                        ));
                    }
                }
                validate(&at, base, settings)?
            }
            None => Settings::default(),
        };
        let mut profiles = BTreeMap::new();
        for (name, settings) in raw.profiles {
            check_profile_name(name.get_ref()).map_err(|m| at.error(name.span(), m))?;
            profiles.insert(name.into_inner(), validate(&at, base, settings)?);
        }
        Ok(Config {
            path,
            exists: true,
            defaults,
            profiles,
        })
    }

    /// The named profile with defaults applied, or an error naming the nearest profile.
    pub fn profile(&self, name: &str) -> Result<&Settings> {
        self.profiles
            .get(name)
            .ok_or_else(|| self.unknown_profile(name))
    }

    pub fn unknown_profile(&self, name: &str) -> Error {
        let source = if self.exists {
            self.path.display().to_string()
        } else {
            format!("{} (which does not exist)", self.path.display())
        };
        let err = Error::config(format!("no profile named '{name}' in {source}"));
        match nearest(name, self.profiles.keys()) {
            Some(near) => err.hint(format!(
                "did you mean '{near}'? (`iamdb profile list` shows them all)"
            )),
            None if self.profiles.is_empty() => err.hint(
                "add one with `iamdb profile add NAME --host HOST --user USER --engine ENGINE`",
            ),
            None => err.hint(format!(
                "known profiles: {}",
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// Resolves the settings for a command: flags over the profile over `[defaults]`.
    pub fn resolve(&self, name: Option<&str>, flags: Settings) -> Result<Profile> {
        let profile_settings = match name {
            Some(n) => self.profile(n)?.clone(),
            None => Settings::default(),
        };
        let merged = flags.or(&profile_settings).or(&self.defaults);
        let whose = match name {
            Some(n) => format!("profile '{n}' sets no {{}}"),
            None => "no {} given".to_string(),
        };
        let missing = |key: &str, flag: &str| {
            Error::usage(format!("{}: give {flag}", whose.replace("{}", key)))
        };
        let host = merged
            .host
            .clone()
            .ok_or_else(|| missing("host", "--host"))?;
        let user = merged
            .user
            .clone()
            .ok_or_else(|| missing("user", "--user"))?;
        let port = match (merged.port, merged.engine) {
            (Some(p), _) => p,
            (None, Some(engine)) => engine.default_port(),
            (None, None) => return Err(missing("port or engine", "--port or --engine")),
        };
        Ok(Profile {
            name: name.map(String::from),
            engine: merged.engine,
            host,
            port,
            user,
            database: merged.database,
            region: merged.region,
            aws_profile: merged.aws_profile,
            ssl_ca: merged.ssl_ca,
            connect_host: merged.connect_host,
            connect_port: merged.connect_port,
            refresh_margin: merged.refresh_margin.unwrap_or(DEFAULT_REFRESH_MARGIN),
            cache: merged.cache,
        })
    }
}

/// The largest config file iamdb reads: far beyond any real one, and small enough that a
/// config path pointed at a disk image or `/dev/zero` fails at once instead of filling memory.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads the config file after checking that it is safe to trust: a regular file, at most
/// [`MAX_CONFIG_BYTES`], and writable by nobody but its owner (whoever can edit it could send
/// this user's tokens to a server of their own through `host` or `connect_host`).
pub fn read_config(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let (file, meta) = crate::fsutil::open_regular(path)?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(io::Error::other(format!(
            "it is {} bytes; a config file is at most {MAX_CONFIG_BYTES} bytes",
            meta.len()
        )));
    }
    #[cfg(unix)]
    if let Some(why) = crate::fsutil::untrusted(&meta) {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, why));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(io::Error::other(format!(
            "it is over {MAX_CONFIG_BYTES} bytes; a config file is at most that"
        )));
    }
    Ok(bytes)
}

pub fn read_error(path: &Path, e: &io::Error) -> Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return Error::config(format!(
            "cannot read config file {}: its symbolic links form a loop",
            path.display()
        ));
    }
    let why = match e.kind() {
        io::ErrorKind::PermissionDenied if e.get_ref().is_some() => e.to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => e.to_string(),
    };
    let err = Error::config(format!("cannot read config file {}: {why}", path.display()));
    if e.get_ref().is_some() && e.kind() == io::ErrorKind::PermissionDenied {
        return err.hint(format!(
            "only its owner may be able to change it: `chmod go-w {}`, and own it yourself",
            path.display()
        ));
    }
    err
}

fn validate(at: &Located<'_>, base: &Path, raw: RawSettings) -> Result<Settings> {
    let text = |v: Option<Spanned<String>>, key: &str| -> Result<Option<String>> {
        match v {
            Some(s) => {
                check_text(s.get_ref(), key).map_err(|m| at.error(s.span(), m))?;
                Ok(Some(s.into_inner()))
            }
            None => Ok(None),
        }
    };
    let host_checked = |v: Option<Spanned<String>>, key: &str| -> Result<Option<String>> {
        match v {
            Some(s) => {
                crate::endpoint::check_host(s.get_ref())
                    .map_err(|m| at.error(s.span(), format!("{key}: {m}")))?;
                Ok(Some(s.into_inner()))
            }
            None => Ok(None),
        }
    };
    let port = |v: Option<Spanned<i64>>, key: &str| -> Result<Option<u16>> {
        v.map(|p| check_port(*p.get_ref(), key).map_err(|m| at.error(p.span(), m)))
            .transpose()
    };
    if let Some(u) = &raw.user {
        check_user(u.get_ref()).map_err(|m| at.error(u.span(), m))?;
    }
    if let Some(r) = &raw.region {
        check_region(r.get_ref()).map_err(|m| at.error(r.span(), m))?;
    }
    Ok(Settings {
        engine: raw.engine,
        host: host_checked(raw.host, "host")?,
        port: port(raw.port, "port")?,
        user: raw.user.map(Spanned::into_inner),
        database: text(raw.database, "database")?,
        region: raw.region.map(Spanned::into_inner),
        aws_profile: text(raw.aws_profile, "aws_profile")?,
        ssl_ca: text(raw.ssl_ca, "ssl_ca")?.map(|p| expand_path(base, &p)),
        connect_host: host_checked(raw.connect_host, "connect_host")?,
        connect_port: port(raw.connect_port, "connect_port")?,
        refresh_margin: raw
            .refresh_margin
            .map(|m| check_refresh_margin(*m.get_ref()).map_err(|e| at.error(m.span(), e)))
            .transpose()?,
        cache: raw.cache,
    })
}

/// `~/x` is under the home directory; a relative path is relative to the config file.
fn expand_path(base: &Path, p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    base.join(p)
}

/// Flags validated the way the file is, for errors that name the flag.
pub fn check_flags(flags: &Settings) -> Result<()> {
    if let Some(h) = &flags.host {
        crate::endpoint::check_host(h).map_err(|m| Error::usage(format!("--host: {m}")))?;
    }
    if let Some(h) = &flags.connect_host {
        crate::endpoint::check_host(h).map_err(|m| Error::usage(format!("--connect-host: {m}")))?;
    }
    if let Some(u) = &flags.user {
        check_user(u).map_err(|m| Error::usage(format!("--user: {m}")))?;
    }
    if let Some(r) = &flags.region {
        check_region(r).map_err(|m| Error::usage(format!("--region: {m}")))?;
    }
    if flags.port == Some(0) {
        return Err(Error::usage("--port must be between 1 and 65535, not 0"));
    }
    if flags.connect_port == Some(0) {
        return Err(Error::usage(
            "--connect-port must be between 1 and 65535, not 0",
        ));
    }
    if let Some(a) = &flags.aws_profile {
        check_text(a, "--aws-profile").map_err(Error::usage)?;
    }
    if let Some(d) = &flags.database {
        check_text(d, "--database").map_err(Error::usage)?;
    }
    if let Some(c) = &flags.ssl_ca {
        let c = c.to_str().ok_or_else(|| {
            Error::usage(format!("--ssl-ca {} is not UTF-8", c.to_string_lossy()))
        })?;
        check_text(c, "--ssl-ca").map_err(Error::usage)?;
    }
    if let Some(m) = flags.refresh_margin {
        check_refresh_margin(i64::from(m))
            .map_err(|e| Error::usage(format!("--{}", e.replace('_', "-"))))?;
    }
    Ok(())
}

/// The profile name closest to `name` (edit distance at most 2, or a prefix).
fn nearest<'a>(name: &str, names: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    names
        .map(|n| (distance(name, n), n))
        .filter(|(d, n)| {
            *d <= 2.max(name.len() / 4) || n.starts_with(name) || name.starts_with(n.as_str())
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Adds `[profiles.NAME]` to the config text, keeping every other byte where it was.
pub fn add_profile(
    text: &str,
    name: &str,
    settings: &Settings,
) -> std::result::Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().to_string())?;
    let profiles = doc
        .entry("profiles")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or("`profiles` is not a table")?;
    if profiles.contains_key(name) {
        return Err(format!("profile '{name}' already exists"));
    }
    let mut table = toml_edit::Table::new();
    let mut put = |key: &str, value: toml_edit::Value| {
        table.insert(key, toml_edit::Item::Value(value));
    };
    if let Some(e) = settings.engine {
        put("engine", e.as_str().into());
    }
    if let Some(v) = &settings.host {
        put("host", v.as_str().into());
    }
    if let Some(v) = settings.port {
        put("port", i64::from(v).into());
    }
    if let Some(v) = &settings.user {
        put("user", v.as_str().into());
    }
    if let Some(v) = &settings.database {
        put("database", v.as_str().into());
    }
    if let Some(v) = &settings.region {
        put("region", v.as_str().into());
    }
    if let Some(v) = &settings.aws_profile {
        put("aws_profile", v.as_str().into());
    }
    if let Some(v) = &settings.ssl_ca {
        put("ssl_ca", v.to_string_lossy().as_ref().into());
    }
    if let Some(v) = &settings.connect_host {
        put("connect_host", v.as_str().into());
    }
    if let Some(v) = settings.connect_port {
        put("connect_port", i64::from(v).into());
    }
    if let Some(v) = settings.refresh_margin {
        put("refresh_margin", i64::from(v).into());
    }
    if let Some(v) = settings.cache {
        put("cache", v.as_str().into());
    }
    if !text.trim().is_empty() {
        table.decor_mut().set_prefix("\n");
    }
    profiles.insert(name, toml_edit::Item::Table(table));
    Ok(doc.to_string())
}

/// Removes `[profiles.NAME]` (and its own comments) from the config text, keeping the rest.
pub fn remove_profile(text: &str, name: &str) -> std::result::Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().to_string())?;
    let removed = doc
        .get_mut("profiles")
        .and_then(|p| p.as_table_like_mut())
        .and_then(|p| p.remove(name));
    match removed {
        Some(_) => Ok(doc.to_string()),
        None => Err(format!("no profile named '{name}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(PathBuf::from("/cfg/config.toml"), text)
    }

    #[test]
    fn a_full_file_loads() {
        let cfg = parse(
            r#"
# shared
[defaults]
aws_profile = "ops"
refresh_margin = 60

[profiles.prod]
engine = "postgres"
host = "db.abc.eu-west-1.rds.amazonaws.com"
user = "app"
database = "main"
ssl_ca = "ca.pem"
cache = "keyutils"

[profiles.legacy]
engine = "mysql"
host = "old.abc.us-east-1.rds.amazonaws.com"
port = 3307
user = "reporting"
connect_host = "127.0.0.1"
connect_port = 13306
"#,
        )
        .unwrap();
        let p = cfg.resolve(Some("prod"), Settings::default()).unwrap();
        assert_eq!(p.port, 5432);
        assert_eq!(p.aws_profile.as_deref(), Some("ops"));
        assert_eq!(p.refresh_margin, 60);
        assert_eq!(p.ssl_ca, Some(PathBuf::from("/cfg/ca.pem")));
        assert_eq!(p.cache, Some(Choice::Keyutils));
        let p = cfg
            .resolve(
                Some("legacy"),
                Settings {
                    user: Some("other".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            (p.port, p.user.as_str(), p.connect_port),
            (3307, "other", Some(13306))
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases = [
            (
                "[profiles.a]\nhots = \"x\"\n",
                "/cfg/config.toml:2:1: unknown field `hots`",
            ),
            (
                "[profiles.a]\nhost = \"x\"\nport = 0\n",
                "/cfg/config.toml:3:8: port must be between 1 and 65535, not 0",
            ),
            (
                "[profiles.a]\nport = 70000\n",
                "/cfg/config.toml:2:8: port must be between 1 and 65535, not 70000",
            ),
            (
                "[profiles.a]\nport = \"x\"\n",
                "/cfg/config.toml:2:8: invalid type: string \"x\", expected i64",
            ),
            (
                "[profiles.a]\nhost = \"\"\n",
                "/cfg/config.toml:2:8: host: the host is empty",
            ),
            (
                "[profiles.a]\nuser = \"\"\n",
                "/cfg/config.toml:2:8: user is empty",
            ),
            (
                "[profiles.a]\nengine = \"oracle\"\n",
                "/cfg/config.toml:2:10: unknown variant `oracle`",
            ),
            (
                "[profiles.a]\nregion = \"Ireland\"\n",
                "/cfg/config.toml:2:10: region \"Ireland\" is not an AWS region name",
            ),
            (
                "[profiles.a]\nrefresh_margin = 900\n",
                "/cfg/config.toml:2:18: refresh_margin must be between 0 and 899",
            ),
            (
                "[profiles.\"a b\"]\n",
                "/cfg/config.toml:1:11: profile name \"a b\" contains ' '",
            ),
            (
                "[defaults]\nhost = \"x\"\n",
                "`host` belongs in a [profiles.NAME] table",
            ),
            ("[profiles.a\n", "/cfg/config.toml:1:"),
            (
                "[profile.a]\n",
                "/cfg/config.toml:1:2: unknown field `profile`",
            ),
            (
                "[profiles.a]\ncache = \"disk\"\n",
                "/cfg/config.toml:2:9: unknown variant `disk`",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}\n got: {err}\nwant: {want}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn unknown_profiles_suggest_the_nearest() {
        let cfg =
            parse("[profiles.production]\nhost=\"h\"\n[profiles.staging]\nhost=\"h\"\n").unwrap();
        let err = cfg
            .resolve(Some("prodution"), Settings::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no profile named 'prodution'")
                && err.contains("did you mean 'production'"),
            "{err}"
        );
        let err = cfg
            .resolve(Some("zzz"), Settings::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("known profiles: production, staging"), "{err}");
    }

    #[test]
    fn missing_values_name_the_flag() {
        let cfg = parse("[profiles.a]\nhost = \"h\"\n").unwrap();
        let err = cfg.resolve(Some("a"), Settings::default()).unwrap_err();
        assert_eq!(err.message(), "profile 'a' sets no user: give --user");
        let err = cfg
            .resolve(
                Some("a"),
                Settings {
                    user: Some("u".into()),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(
            err.message(),
            "profile 'a' sets no port or engine: give --port or --engine"
        );
        let err = cfg.resolve(None, Settings::default()).unwrap_err();
        assert_eq!(err.message(), "no host given: give --host");
    }

    #[test]
    fn add_and_remove_keep_everything_else() {
        let original = "# my databases\n[defaults]\nregion = \"eu-west-1\" # ireland\n\n[profiles.a]\nhost = \"a\" # first\n";
        let settings = Settings {
            engine: Some(Engine::Postgres),
            host: Some("b.example".into()),
            user: Some("u".into()),
            ..Default::default()
        };
        let added = add_profile(original, "b", &settings).unwrap();
        assert!(added.starts_with(original), "{added}");
        assert_eq!(
            &added[original.len()..],
            "\n[profiles.b]\nengine = \"postgres\"\nhost = \"b.example\"\nuser = \"u\"\n"
        );
        parse(&added).unwrap();
        assert_eq!(remove_profile(&added, "b").unwrap(), original);
        assert!(
            add_profile(&added, "b", &settings)
                .unwrap_err()
                .contains("already exists")
        );
        assert!(
            remove_profile(original, "zz")
                .unwrap_err()
                .contains("no profile")
        );

        let no_newline = "[profiles.a]\nhost = \"a\"";
        let added = add_profile(no_newline, "b", &settings).unwrap();
        assert!(
            added.starts_with("[profiles.a]\nhost = \"a\"\n\n[profiles.b]\n"),
            "{added}"
        );
        assert_eq!(
            add_profile("", "b", &settings).unwrap(),
            "[profiles.b]\nengine = \"postgres\"\nhost = \"b.example\"\nuser = \"u\"\n"
        );
    }
}
