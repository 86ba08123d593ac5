//! The config file: `[defaults]` and `[profiles.NAME]` tables in TOML, their keys the settings
//! of [`crate::settings`]. Loading validates everything up front and names the file, line and
//! column of the first problem; editing (`profile add` / `remove`) goes through toml_edit so
//! comments and layout survive.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{Item, TableLike};

use crate::engine::{self, Engine, Family};
use crate::error::{Error, Result};
pub use crate::settings::Settings;
use crate::settings::{SCHEMA, Scope, nearest};

pub const DEFAULT_REFRESH_MARGIN: u32 = 120;

/// A loaded config file.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    /// False when the default file does not exist (an empty config).
    pub exists: bool,
    pub defaults: Settings,
    pub profiles: BTreeMap<String, Settings>,
}

/// The engine an endpoint name implies: DSQL, ElastiCache or MemoryDB endpoints say what they
/// are; RDS's do not say which engine.
fn implied_engine(host: &str) -> Option<Engine> {
    if crate::endpoint::dsql_cluster(host).is_some() {
        return Some(Engine::Dsql);
    }
    crate::endpoint::cache_endpoint(host).map(|c| {
        if c.memorydb {
            Engine::Memorydb
        } else {
            Engine::Elasticache
        }
    })
}

/// A profile resolved into everything a token needs: flags over the profile over `[defaults]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// None for an ad-hoc endpoint given only by flags.
    pub name: Option<String>,
    pub engine: Option<Engine>,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub refresh_margin: u32,
    /// ElastiCache/MemoryDB: the cache's name, which tokens are signed for.
    pub cache_name: Option<String>,
    /// ElastiCache: a serverless cache.
    pub serverless: bool,
    /// The host as configured, when `host` has been replaced by the AWS endpoint name it is an
    /// alias of (from `sign_host`, or from DNS); clients dial it (it is `connect_host` then,
    /// unless the profile sets one).
    pub given_host: Option<String>,
    /// `host` may be a DNS alias of an AWS endpoint, and DNS has not been asked yet.
    pub alias_pending: bool,
    /// The alias's address, when DNS gave it with the AWS name (libpq's `hostaddr`).
    pub dial_addr: Option<std::net::IpAddr>,
    /// Every setting as merged, for those that have no default (`database`, `ssl_ca`, ...).
    pub set: Settings,
}

impl Profile {
    /// Which family the profile is (see [`engine::family`]).
    pub fn family(&self) -> Option<Family> {
        engine::family(self.engine, Some(self.port))
    }

    /// How its tokens are signed: the engine's kind, RDS's when it names none.
    pub fn token_kind(&self) -> engine::TokenKind {
        match self.engine {
            Some(Engine::Elasticache) if self.serverless => {
                engine::TokenKind::ElastiCacheServerless
            }
            Some(e) => e.token_kind(),
            None => engine::TokenKind::Rds,
        }
    }

    /// What its tokens are signed for: the cache's name for ElastiCache and MemoryDB, else the
    /// endpoint.
    pub fn signed_host(&self) -> &str {
        self.cache_name.as_deref().unwrap_or(&self.host)
    }

    /// Its tokens' lifetime: `expires_in` (or `--expires-in`), else 900 s. A lifetime the
    /// engine does not take is a usage error that says which ones it takes.
    pub fn expires_in(&self) -> Result<u64> {
        let kind = self.token_kind();
        let default = engine::TOKEN_LIFETIME.as_secs();
        let Some(asked) = self.set.expires_in.map(u64::from) else {
            return Ok(default);
        };
        if kind.lifetimes().contains(&asked) {
            return Ok(asked);
        }
        Err(match kind {
            engine::TokenKind::Dsql => Error::usage(format!(
                "expires_in (--expires-in) is {asked} s; Aurora DSQL tokens live 1 to {} s (a week)",
                engine::DSQL_MAX_LIFETIME
            )),
            engine::TokenKind::Rds => Error::usage(format!(
                "expires_in (--expires-in) is {asked} s, but RDS, Aurora and RDS Proxy tokens always live {default} s"
            ))
            .hint("remove expires_in from the profile (it is for Aurora DSQL)"),
            _ => Error::usage(format!(
                "expires_in (--expires-in) is {asked} s, but ElastiCache and MemoryDB tokens always live {default} s"
            ))
            .hint("remove expires_in from the profile (it is for Aurora DSQL)"),
        })
    }

    /// The database clients connect to: `database`, else the engine's default (DSQL's
    /// `postgres`), else None (the client's own default).
    pub fn database(&self) -> Option<&str> {
        self.set
            .database
            .as_deref()
            .or_else(|| self.engine.and_then(Engine::default_database))
    }

    /// `name` or `-` for an ad-hoc endpoint, for messages.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("-")
    }

    /// The host clients dial: the tunnel end or alias (`connect_host`), else `host`.
    pub fn dial_host(&self) -> &str {
        self.set.connect_host.as_deref().unwrap_or(&self.host)
    }

    /// The port clients dial: the tunnel end's (`connect_port`), else the database's.
    pub fn dial_port(&self) -> u16 {
        self.set.connect_port.unwrap_or(self.port)
    }

    /// The host as the user gave it (an alias, when `host` now holds the AWS name).
    pub fn configured_host(&self) -> &str {
        self.given_host.as_deref().unwrap_or(&self.host)
    }

    /// Makes `aws` (an AWS endpoint name the configured host is an alias of) what tokens are
    /// signed for and TLS checks, with clients still dialling the alias (at `addr`, when DNS
    /// gave it). The engine, cache name and serverless flag the AWS name implies are taken
    /// up as if the profile had named it.
    pub fn stand_for(&mut self, aws: String, addr: Option<std::net::IpAddr>) {
        let alias = std::mem::replace(&mut self.host, aws);
        if self.set.connect_host.is_none() {
            self.set.connect_host = Some(alias.clone());
            self.dial_addr = addr;
        }
        self.given_host = Some(alias);
        self.alias_pending = false;
    }

    /// Checks that the profile says everything its tokens need now that DNS has been asked
    /// and named no AWS endpoint (a cache profile must name its cache).
    pub fn settle(&mut self) -> Result<()> {
        self.alias_pending = false;
        infer(
            &mut self.set.clone(),
            &self.host,
            false,
            self.name.as_deref(),
        )
        .map(|_| ())
    }

    /// [`Profile::stand_for`], then what the AWS name says about the engine and the cache.
    pub fn adopt_aws_name(&mut self, aws: String, addr: Option<std::net::IpAddr>) -> Result<()> {
        let mut set = self.set.clone();
        let (cache_name, serverless) = infer(&mut set, &aws, false, self.name.as_deref())?;
        self.engine = set.engine;
        self.cache_name = cache_name;
        self.serverless = serverless;
        self.stand_for(aws, addr);
        Ok(())
    }
}

/// Where the config file is: `--config` (or `IAMDB_CONFIG`, which the command line folds into
/// it), else `<config dir>/iamdb/config.toml`. Says whether it was named.
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

/// Where `key` is written in `table` (the file's start when toml_edit kept no position).
fn key_span(table: &dyn TableLike, key: &str) -> Range<usize> {
    table
        .get_key_value(key)
        .and_then(|(k, _)| k.span())
        .unwrap_or(0..0)
}

/// `item` as a table: a `[header]` table, a dotted key or an inline table.
fn table<'a>(
    at: &Located<'_>,
    item: &'a Item,
    span: Range<usize>,
    what: &str,
) -> Result<&'a dyn TableLike> {
    item.as_table_like().ok_or_else(|| {
        at.error(
            item.span().unwrap_or(span),
            format!("{what} must be a table"),
        )
    })
}

/// The settings of one table of the file, every value checked, in the order written.
fn settings(
    at: &Located<'_>,
    base: &Path,
    table: &dyn TableLike,
    defaults: bool,
) -> Result<Settings> {
    let mut settings = Settings::default();
    for (key, value) in table.iter() {
        let span = key_span(table, key);
        let def = SCHEMA.iter().find(|d| d.key == key);
        if defaults && def.is_some_and(|d| d.scope == Scope::Profile) {
            return Err(at.error(
                span,
                format!("`{key}` belongs in a [profiles.NAME] table, not in [defaults]"),
            ));
        }
        match settings.set_toml(key, value, base) {
            Some(result) => {
                result.map_err(|m| at.error(value.span().unwrap_or(span.clone()), m))?
            }
            None => {
                let mut message = format!("unknown field `{key}`");
                if let Some(near) = nearest(key, SCHEMA.iter().map(|d| d.key)) {
                    message.push_str(&format!(", did you mean `{near}`?"));
                }
                return Err(at.error(span, message));
            }
        }
    }
    Ok(settings)
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
        let doc = toml_edit::Document::parse(text).map_err(|e| {
            let message = e.message().trim_end().replace('\n', " ");
            match e.span() {
                Some(span) => at.error(span, message),
                None => Error::config(format!("{}: {message}", path.display())),
            }
        })?;
        let root = doc.as_table();
        for (key, _) in root.iter() {
            if key != "defaults" && key != "profiles" {
                let mut message =
                    format!("unknown field `{key}`, expected `defaults` or `profiles`");
                if let Some(near) = nearest(key, ["defaults", "profiles"]) {
                    message = format!("unknown field `{key}`, did you mean `{near}`?");
                }
                return Err(at.error(key_span(root, key), message));
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let defaults = match root.get("defaults") {
            Some(item) => {
                let t = table(&at, item, key_span(root, "defaults"), "`defaults`")?;
                settings(&at, base, t, true)?
            }
            None => Settings::default(),
        };
        let mut profiles = BTreeMap::new();
        if let Some(item) = root.get("profiles") {
            let all = table(&at, item, key_span(root, "profiles"), "`profiles`")?;
            for (name, item) in all.iter() {
                let span = key_span(all, name);
                check_profile_name(name).map_err(|m| at.error(span.clone(), m))?;
                let what = format!("profile `{name}`");
                let t = table(&at, item, span, &what)?;
                profiles.insert(name.to_string(), settings(&at, base, t, false)?);
            }
        }
        Ok(Config {
            path,
            exists: true,
            defaults,
            profiles,
        })
    }

    /// The named profile's own settings, or an error naming the nearest profile.
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
        match nearest(name, self.profiles.keys().map(String::as_str)) {
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

    /// A profile's settings with `[defaults]` applied, whether or not it resolves.
    pub fn merged(&self, name: &str) -> Option<Settings> {
        self.profiles
            .get(name)
            .map(|s| s.clone().or(&self.defaults))
    }

    /// A profile's engine: the one it (or `[defaults]`) names, else the one its endpoint name
    /// implies (Aurora DSQL, ElastiCache, MemoryDB), as [`Config::resolve`] decides it.
    pub fn engine_of(&self, name: &str) -> Option<Engine> {
        let s = self.merged(name)?;
        s.engine.or_else(|| implied_engine(s.host.as_deref()?))
    }

    /// Which family a profile is, from its engine (named or implied) and port; None for an
    /// unknown profile or one that says neither.
    pub fn family_of(&self, name: &str) -> Option<Family> {
        let s = self.merged(name)?;
        engine::family(self.engine_of(name), s.port)
    }

    /// Resolves the settings for a command: flags over the profile over `[defaults]`.
    pub fn resolve(&self, name: Option<&str>, flags: Settings) -> Result<Profile> {
        let profile_settings = match name {
            Some(n) => self.profile(n)?.clone(),
            None => Settings::default(),
        };
        let merged = flags.or(&profile_settings).or(&self.defaults);
        let whose = |key: &str| match name {
            Some(n) => format!("profile '{n}' sets no {key}"),
            None => format!("no {key} given"),
        };
        let missing = |key: &str, flag: &str| Error::usage(format!("{}: give {flag}", whose(key)));
        let host = merged
            .host
            .clone()
            .ok_or_else(|| missing("host", "--host"))?;
        let user = merged
            .user
            .clone()
            .ok_or_else(|| missing("user", "--user"))?;
        let mut merged = merged;
        // The name tokens are signed for: `sign_host` when set; otherwise `host`, unless it
        // is a name that may be a DNS alias (CNAME) of one, which is looked up only when a
        // token has to be signed or a client started (see the alias module).
        let aws_name = merged.sign_host.clone().unwrap_or_else(|| host.clone());
        let alias_pending = merged.sign_host.is_none() && crate::endpoint::may_be_alias(&host);
        let (cache_name, serverless) = infer(&mut merged, &aws_name, alias_pending, name)?;
        let port = match (merged.port, merged.engine) {
            (Some(p), _) => p,
            (None, Some(engine)) => engine.default_port(),
            (None, None) => return Err(missing("port or engine", "--port or --engine")),
        };
        let mut profile = Profile {
            name: name.map(String::from),
            engine: merged.engine,
            host,
            port,
            user,
            refresh_margin: merged.refresh_margin.unwrap_or(DEFAULT_REFRESH_MARGIN),
            cache_name,
            serverless,
            given_host: None,
            alias_pending,
            dial_addr: None,
            set: merged,
        };
        if let Some(aws) = profile.set.sign_host.clone() {
            profile.stand_for(aws, None);
        }
        if let Some(region) = &profile.set.region {
            warn_new_region(region);
        }
        Ok(profile)
    }
}

/// Warns, once per process, that `region` (a setting or flag, checked when it was read) is
/// not a region iamdb knows: a region newer than this release is used all the same.
fn warn_new_region(region: &str) {
    static WARNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    if crate::endpoint::check_region(region) != Ok(crate::endpoint::RegionCheck::New) {
        return;
    }
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if !warned.iter().any(|r| r == region) {
        warned.push(region.to_string());
        crate::diag::warn(crate::endpoint::new_region_warning(region));
    }
}

/// What an endpoint name says about the profile: the engine of a DSQL, ElastiCache or
/// MemoryDB endpoint (a contradicting `engine` is an error), and for a cache its name and
/// whether it is serverless. With `alias_pending` (the name may be a CNAME that DNS has not
/// been asked about yet), a cache profile may lack its cache name for now.
fn infer(
    merged: &mut Settings,
    host: &str,
    alias_pending: bool,
    name: Option<&str>,
) -> Result<(Option<String>, bool)> {
    let whose = match name {
        Some(n) => format!("profile '{n}'"),
        None => "the endpoint given".to_string(),
    };
    // A DSQL, ElastiCache or MemoryDB endpoint is a profile of that engine when it names
    // none; naming another engine for it would sign tokens the service refuses.
    let cache = crate::endpoint::cache_endpoint(host);
    if let Some(implied) = implied_engine(host) {
        match merged.engine {
            None => merged.engine = Some(implied),
            Some(e) if e != implied => {
                let err = if implied == Engine::Dsql {
                    Error::config(format!(
                        "{host} is an Aurora DSQL endpoint, but {} says engine = \"{e}\"",
                        if name.is_some() { &whose } else { "--engine" }
                    ))
                    .hint("set engine = \"dsql\" (DSQL takes its own tokens)")
                } else {
                    let service = if implied == Engine::Memorydb {
                        "MemoryDB"
                    } else {
                        "ElastiCache"
                    };
                    Error::config(format!(
                        "{host} is an {service} endpoint, but {whose} says engine = \"{e}\""
                    ))
                    .hint(format!("set engine = \"{implied}\""))
                };
                return Err(err);
            }
            _ => {}
        }
    }
    Ok(match merged.engine {
        Some(e @ (Engine::Elasticache | Engine::Memorydb)) => {
            let cache_name = merged
                .cache_name
                .clone()
                .or_else(|| cache.as_ref().map(|c| c.name.clone()));
            if cache_name.is_none() && !alias_pending {
                return Err(Error::config(format!(
                    "{whose}: {host} is not an {e} endpoint name, so it does not say which cache tokens are for"
                ))
                .hint("set cache_name (and region) in the profile, or give --cache-name"));
            }
            let serverless = merged
                .serverless
                .or_else(|| cache.as_ref().map(|c| c.serverless))
                .unwrap_or(false);
            if serverless && e == Engine::Memorydb {
                return Err(Error::config(format!(
                    "{whose}: MemoryDB has no serverless clusters; remove serverless"
                )));
            }
            (cache_name, serverless)
        }
        _ => (None, false),
    })
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
    if crate::fsutil::is_link_loop(e) {
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
    for (key, value) in settings.toml_entries() {
        table.insert(key, toml_edit::Item::Value(value));
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

/// A profile as `profile show` prints it: each setting (defaults applied) with its value, or
/// what it means when unset.
pub fn describe(p: &Profile) -> Vec<(&'static str, String)> {
    let mut set = p.set.clone();
    set.port = Some(p.port);
    set.refresh_margin = Some(p.refresh_margin);
    set.shown()
        .into_iter()
        .zip(SCHEMA)
        .map(|((key, value), def)| (key, value.unwrap_or_else(|| format!("- ({})", def.unset))))
        .collect()
}

/// A profile as `profile show --format json` and `profile list --format json` give it.
#[derive(Debug, Serialize)]
pub struct ProfileDoc<'a> {
    pub name: Option<&'a str>,
    #[serde(flatten)]
    pub settings: Settings,
}

impl Profile {
    /// Every setting with defaults applied (port and refresh margin resolved).
    pub fn doc(&self) -> ProfileDoc<'_> {
        let mut settings = self.set.clone();
        settings.port = Some(self.port);
        settings.refresh_margin = Some(self.refresh_margin);
        ProfileDoc {
            name: self.name.as_deref(),
            settings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Choice;

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
        assert_eq!(p.set.aws_profile.as_deref(), Some("ops"));
        assert_eq!(p.refresh_margin, 60);
        assert_eq!(p.set.ssl_ca, Some(PathBuf::from("/cfg/ca.pem")));
        assert_eq!(p.set.cache, Some(Choice::Keyutils));
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
            (p.port, p.user.as_str(), p.set.connect_port),
            (3307, "other", Some(13306))
        );
    }

    #[test]
    fn profiles_may_be_dotted_keys_or_inline_tables() {
        let cfg = parse(
            "[profiles]\na.host = \"h\"\na.user = \"u\"\na.port = 5432\nb = { host = \"h\", user = \"v\", engine = \"mysql\" }\n",
        )
        .unwrap();
        let a = cfg.resolve(Some("a"), Settings::default()).unwrap();
        assert_eq!((a.user.as_str(), a.port), ("u", 5432));
        let b = cfg.resolve(Some("b"), Settings::default()).unwrap();
        assert_eq!((b.user.as_str(), b.port), ("v", 3306));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases = [
            (
                "[profiles.a]\nhots = \"x\"\n",
                "/cfg/config.toml:2:1: unknown field `hots`, did you mean `host`?",
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
                "/cfg/config.toml:2:8: port must be a whole number, not a string",
            ),
            (
                "[profiles.a]\nhost = \"\"\n",
                "/cfg/config.toml:2:8: host is empty",
            ),
            (
                "[profiles.a]\nuser = \"\"\n",
                "/cfg/config.toml:2:8: user is empty",
            ),
            (
                "[profiles.a]\nengine = \"oracle\"\n",
                "/cfg/config.toml:2:10: engine \"oracle\" is not one of postgres, mysql, mariadb, dsql, elasticache or memorydb",
            ),
            (
                "[profiles.a]\nregion = \"Ireland\"\n",
                "/cfg/config.toml:2:10: region \"Ireland\" is not an AWS region name",
            ),
            (
                "[defaults]\nregion = \"eu-wset-1\"\n",
                "/cfg/config.toml:2:10: region eu-wset-1 is not an AWS region; did you mean eu-west-1?",
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
                "/cfg/config.toml:2:1: `host` belongs in a [profiles.NAME] table",
            ),
            ("[profiles.a\n", "/cfg/config.toml:1:"),
            (
                "[profile.a]\n",
                "/cfg/config.toml:1:2: unknown field `profile`",
            ),
            (
                "[profiles.a]\ncache = \"disk\"\n",
                "/cfg/config.toml:2:9: cache \"disk\" is not one of auto, keyutils, secret-service, file or none",
            ),
            (
                "defaults = 3\n",
                "/cfg/config.toml:1:12: `defaults` must be a table",
            ),
            (
                "[profiles]\na = \"x\"\n",
                "/cfg/config.toml:2:5: profile `a` must be a table",
            ),
            (
                "[profiles.a.host]\nx = 1\n",
                "/cfg/config.toml:1:1: host must be a string, not a table",
            ),
            (
                "[profiles.a]\nport = \"5432\"\n",
                "/cfg/config.toml:2:8: port must be a whole number, not a string",
            ),
            // The first problem as written, not in alphabetical order.
            (
                "[profiles.b]\nzzz = 1\n[profiles.a]\nyyy = 1\n",
                "/cfg/config.toml:2:1: unknown field `zzz`",
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
    fn a_port_alone_says_the_family() {
        let cfg = parse(
            "[profiles.legacy]\nhost = \"h\"\nuser = \"u\"\nport = 5432\n[profiles.odd]\nhost = \"h\"\nport = 6000\n",
        )
        .unwrap();
        assert_eq!(cfg.family_of("legacy"), Some(Family::Postgres));
        assert_eq!(cfg.family_of("odd"), None);
        let p = cfg.resolve(Some("legacy"), Settings::default()).unwrap();
        assert_eq!(p.family(), Some(Family::Postgres));
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
