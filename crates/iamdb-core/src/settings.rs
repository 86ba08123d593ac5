//! Every profile setting, declared once. A setting's entry in [`settings!`] below gives its
//! name (the config file's key; the flag is the same with `-` for `_`), the kind of value it
//! takes (which parses, checks and writes it), where it may appear, which commands take it as
//! a flag, its one-line help and what it means when unset. From that one entry come: the
//! config file's loading with file:line:column errors, the flags of `iamdb token` and
//! `iamdb profile add` (so their help, man pages and completions), `profile add`'s TOML,
//! `profile show`, and the README's settings table (a test compares them; IAMDB_BLESS=1
//! rewrites it). Adding a setting is an entry here and the code that uses its value.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml_edit::{Item, Value};

use crate::endpoint;
use crate::engine::Engine;
use crate::named::Named;

/// The `cache` setting: which store to start with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choice {
    #[default]
    Auto,
    Keyutils,
    SecretService,
    File,
    None,
}

impl crate::named::Named for Choice {
    const ALL: &'static [Choice] = &[
        Choice::Auto,
        Choice::Keyutils,
        Choice::SecretService,
        Choice::File,
        Choice::None,
    ];

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn help(self) -> &'static str {
        match self {
            Choice::Auto => "The platform's keyring, falling back to the file cache",
            Choice::Keyutils => "The Linux kernel keyring (user keyring)",
            Choice::SecretService => "The Secret Service (GNOME Keyring, KWallet) over D-Bus",
            Choice::File => "A 0600 file in iamdb's private runtime directory",
            Choice::None => "No cache: every call signs a new token",
        }
    }
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Keyutils => "keyutils",
            Choice::SecretService => "secret-service",
            Choice::File => "file",
            Choice::None => "none",
        }
    }
}

/// Where a setting may be written in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In `[defaults]` and in profiles.
    Any,
    /// In profiles only: it names one endpoint.
    Profile,
}

/// Which commands take a setting as a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// `iamdb token` (for an endpoint given by flags alone) and `iamdb profile add`.
    Token,
    /// `iamdb profile add` only.
    Add,
}

/// One named choice of a setting's value: its name, other names it takes, its help.
pub type NamedValue = (&'static str, &'static [&'static str], &'static str);

/// What the command line, the docs and `profile show` know of a setting.
#[derive(Debug)]
pub struct Def {
    /// The config file's key, `snake_case`.
    pub key: &'static str,
    pub short: Option<char>,
    pub help: &'static str,
    /// What it means when unset, for `profile show` and the README.
    pub unset: &'static str,
    pub value_name: &'static str,
    pub scope: Scope,
    pub flag: Flag,
    pub choices: fn() -> Vec<NamedValue>,
}

impl Def {
    /// `--aws-profile` for `aws_profile`.
    pub fn flag_name(&self) -> String {
        self.key.replace('_', "-")
    }
}

/// How one kind of value is read from a flag or the config file, written back and shown.
/// Messages say what is wrong with the value without naming the setting: the caller puts the
/// key (`port`) or the flag (`--port`) in front.
pub trait Kind {
    type Value: Clone + PartialEq + fmt::Debug + Serialize;
    const VALUE_NAME: &'static str;

    /// From a flag's text.
    fn parse(text: &str) -> Result<Self::Value, String>;

    /// From the config file's value; a relative path is relative to the file's directory.
    fn from_toml(value: &Item, _base: &Path) -> Result<Self::Value, String> {
        Self::parse(string(value)?)
    }

    /// As `profile add` writes it into the config file.
    fn to_toml(value: &Self::Value) -> toml_edit::Value;

    /// As `profile show` prints it.
    fn show(value: &Self::Value) -> String;

    /// The named values it takes, when it takes a closed set.
    fn choices() -> Vec<NamedValue> {
        Vec::new()
    }
}

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "a number",
        Item::Value(Value::Float(_)) => "a decimal number",
        Item::Value(Value::Boolean(_)) => "true or false",
        Item::Value(Value::Datetime(_)) => "a date",
        Item::Value(Value::Array(_)) | Item::ArrayOfTables(_) => "a list",
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "a table",
        Item::None => "nothing",
    }
}

fn string(item: &Item) -> Result<&str, String> {
    match item {
        Item::Value(Value::String(s)) => Ok(s.value()),
        other => Err(format!("must be a string, not {}", type_name(other))),
    }
}

fn integer(item: &Item) -> Result<i64, String> {
    match item {
        Item::Value(Value::Integer(i)) => Ok(*i.value()),
        other => Err(format!("must be a whole number, not {}", type_name(other))),
    }
}

fn named_choices<T: Named>() -> Vec<NamedValue> {
    T::ALL
        .iter()
        .map(|v| (v.name(), v.aliases(), v.help()))
        .collect()
}

fn named<T: Named>(text: &str) -> Result<T, String> {
    T::from_name(text).ok_or_else(|| {
        let mut message = format!("{text:?} is not one of {}", T::choices());
        let names = T::ALL.iter().map(|v| v.name());
        let near = (!text.trim().is_empty())
            .then(|| nearest(&text.to_ascii_lowercase(), names))
            .flatten();
        if let Some(near) = near {
            message.push_str(&format!("; did you mean {near}?"));
        }
        message
    })
}

pub struct EngineKind;
impl Kind for EngineKind {
    type Value = Engine;
    const VALUE_NAME: &'static str = "ENGINE";
    fn parse(text: &str) -> Result<Engine, String> {
        named(text)
    }
    fn to_toml(v: &Engine) -> toml_edit::Value {
        v.as_str().into()
    }
    fn show(v: &Engine) -> String {
        v.to_string()
    }
    fn choices() -> Vec<NamedValue> {
        named_choices::<Engine>()
    }
}

pub struct CacheKind;
impl Kind for CacheKind {
    type Value = Choice;
    const VALUE_NAME: &'static str = "STORE";
    fn parse(text: &str) -> Result<Choice, String> {
        named(text)
    }
    fn to_toml(v: &Choice) -> toml_edit::Value {
        v.as_str().into()
    }
    fn show(v: &Choice) -> String {
        v.as_str().to_string()
    }
    fn choices() -> Vec<NamedValue> {
        named_choices::<Choice>()
    }
}

pub struct ClientKind;
impl Kind for ClientKind {
    type Value = crate::engine::RedisClient;
    const VALUE_NAME: &'static str = "CLIENT";
    fn parse(text: &str) -> Result<crate::engine::RedisClient, String> {
        named(text)
    }
    fn to_toml(v: &crate::engine::RedisClient) -> toml_edit::Value {
        v.program().into()
    }
    fn show(v: &crate::engine::RedisClient) -> String {
        v.program().to_string()
    }
    fn choices() -> Vec<NamedValue> {
        named_choices::<crate::engine::RedisClient>()
    }
}

/// `true` or `false`.
pub struct BoolKind;
impl Kind for BoolKind {
    type Value = bool;
    const VALUE_NAME: &'static str = "BOOL";
    fn parse(text: &str) -> Result<bool, String> {
        match text.trim() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            other => Err(format!("must be true or false, not {other:?}")),
        }
    }
    fn from_toml(value: &Item, _base: &Path) -> Result<bool, String> {
        match value {
            Item::Value(Value::Boolean(b)) => Ok(*b.value()),
            other => Err(format!("must be true or false, not {}", type_name(other))),
        }
    }
    fn to_toml(v: &bool) -> toml_edit::Value {
        (*v).into()
    }
    fn show(v: &bool) -> String {
        v.to_string()
    }
}

/// An ElastiCache replication group, serverless cache or MemoryDB cluster name: what its
/// tokens are signed for. Lower-case letters, digits and hyphens (stored in lower case).
pub struct CacheNameKind;
impl Kind for CacheNameKind {
    type Value = String;
    const VALUE_NAME: &'static str = "NAME";
    fn parse(text: &str) -> Result<String, String> {
        let name = text.trim().to_ascii_lowercase();
        if name.is_empty() || name.len() > 63 {
            return Err(format!("must be 1 to 63 characters, not {:?}", text));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!(
                "{text:?} contains {c:?}; cache names are letters, digits and '-'"
            ));
        }
        Ok(name)
    }
    fn to_toml(v: &String) -> toml_edit::Value {
        v.as_str().into()
    }
    fn show(v: &String) -> String {
        v.clone()
    }
}

/// A DNS name or IPv4 address (see [`endpoint::check_host`]).
pub struct HostKind;
impl Kind for HostKind {
    type Value = String;
    const VALUE_NAME: &'static str = "HOST";
    fn parse(text: &str) -> Result<String, String> {
        endpoint::check_host(text).map(|()| text.to_string())
    }
    fn to_toml(v: &String) -> toml_edit::Value {
        v.as_str().into()
    }
    fn show(v: &String) -> String {
        v.clone()
    }
}

/// A whole number from a flag's text, or the message `range` gives for what was written
/// instead: a number out of range and text that is no number get the same wording.
fn whole_number(text: &str, range: fn(&dyn fmt::Display) -> String) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| range(&format_args!("{text:?}")))
}

/// A TCP port, 1-65535.
pub struct PortKind;
impl PortKind {
    fn range(given: &dyn fmt::Display) -> String {
        format!("must be between 1 and 65535, not {given}")
    }
    fn check(n: i64) -> Result<u16, String> {
        u16::try_from(n)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| Self::range(&n))
    }
}
impl Kind for PortKind {
    type Value = u16;
    const VALUE_NAME: &'static str = "PORT";
    fn parse(text: &str) -> Result<u16, String> {
        Self::check(whole_number(text, Self::range)?)
    }
    fn from_toml(value: &Item, _base: &Path) -> Result<u16, String> {
        Self::check(integer(value)?)
    }
    fn to_toml(v: &u16) -> toml_edit::Value {
        i64::from(*v).into()
    }
    fn show(v: &u16) -> String {
        v.to_string()
    }
}

/// A database user name: no control characters, at most 256 bytes.
pub struct UserKind;
impl Kind for UserKind {
    type Value = String;
    const VALUE_NAME: &'static str = "USER";
    fn parse(text: &str) -> Result<String, String> {
        if text.is_empty() {
            return Err("is empty".into());
        }
        if text.len() > 256 {
            return Err("is longer than 256 bytes".into());
        }
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(format!("{text:?} contains the control character {c:?}"));
        }
        Ok(text.to_string())
    }
    fn to_toml(v: &String) -> toml_edit::Value {
        v.as_str().into()
    }
    fn show(v: &String) -> String {
        v.clone()
    }
}

/// A free-text value iamdb copies into `.pgpass`, option files and `pg_service.conf`: one line
/// of at most 1024 bytes, or it could add lines of its own there.
pub struct TextKind;
impl Kind for TextKind {
    type Value = String;
    const VALUE_NAME: &'static str = "NAME";
    fn parse(text: &str) -> Result<String, String> {
        check_text(text).map(|()| text.to_string())
    }
    fn to_toml(v: &String) -> toml_edit::Value {
        v.as_str().into()
    }
    fn show(v: &String) -> String {
        v.clone()
    }
}

/// Why `value` cannot be a one-line value of a client file, if it cannot.
pub fn check_text(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("is empty".into());
    }
    if value.len() > 1024 {
        return Err("is longer than 1024 bytes".into());
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!("{value:?} contains the control character {c:?}"));
    }
    Ok(())
}

/// An AWS region name: a region iamdb knows, or a well-formed name far from all of them (a
/// region newer than this release, which resolving a profile warns about). A
/// typo of a known region is refused with the suggestion (see [`endpoint::check_region`]).
pub struct RegionKind;
impl Kind for RegionKind {
    type Value = String;
    const VALUE_NAME: &'static str = "REGION";
    fn parse(text: &str) -> Result<String, String> {
        endpoint::check_region(text).map(|_| text.to_string())
    }
    fn to_toml(v: &String) -> toml_edit::Value {
        v.as_str().into()
    }
    fn show(v: &String) -> String {
        v.clone()
    }
}

/// A file: in the config file relative to its directory (`~/` is the home directory); on the
/// command line relative to the current directory, stored absolute.
pub struct PathKind;
impl Kind for PathKind {
    type Value = PathBuf;
    const VALUE_NAME: &'static str = "FILE";
    fn parse(text: &str) -> Result<PathBuf, String> {
        check_text(text)?;
        let p = PathBuf::from(text);
        Ok(std::path::absolute(&p).unwrap_or(p))
    }
    fn from_toml(value: &Item, base: &Path) -> Result<PathBuf, String> {
        let text = string(value)?;
        check_text(text)?;
        if let Some(rest) = text.strip_prefix("~/")
            && let Some(home) = dirs::home_dir()
        {
            return Ok(home.join(rest));
        }
        Ok(base.join(text))
    }
    fn to_toml(v: &PathBuf) -> toml_edit::Value {
        v.to_string_lossy().as_ref().into()
    }
    fn show(v: &PathBuf) -> String {
        v.display().to_string()
    }
}

/// Seconds before a token's expiry at which it is no longer served from the cache.
pub struct MarginKind;
impl MarginKind {
    fn range(given: &dyn fmt::Display) -> String {
        format!("must be between 0 and 899 seconds, not {given}")
    }
    fn check(n: i64) -> Result<u32, String> {
        u32::try_from(n)
            .ok()
            .filter(|m| u64::from(*m) < crate::engine::TOKEN_LIFETIME.as_secs())
            .ok_or_else(|| Self::range(&n))
    }
}
impl Kind for MarginKind {
    type Value = u32;
    const VALUE_NAME: &'static str = "SECONDS";
    fn parse(text: &str) -> Result<u32, String> {
        Self::check(whole_number(text, Self::range)?)
    }
    fn from_toml(value: &Item, _base: &Path) -> Result<u32, String> {
        Self::check(integer(value)?)
    }
    fn to_toml(v: &u32) -> toml_edit::Value {
        i64::from(*v).into()
    }
    fn show(v: &u32) -> String {
        format!("{v} s")
    }
}

/// A token's lifetime in seconds: 1 to a week (what DSQL accepts; RDS takes 900 only, which
/// the engine checks).
pub struct LifetimeKind;
impl LifetimeKind {
    fn range(given: &dyn fmt::Display) -> String {
        format!(
            "must be between 1 and {} seconds (a week), not {given}",
            crate::engine::DSQL_MAX_LIFETIME
        )
    }
    fn check(n: i64) -> Result<u32, String> {
        u32::try_from(n)
            .ok()
            .filter(|s| (1..=crate::engine::DSQL_MAX_LIFETIME).contains(&u64::from(*s)))
            .ok_or_else(|| Self::range(&n))
    }
}
impl Kind for LifetimeKind {
    type Value = u32;
    const VALUE_NAME: &'static str = "SECONDS";
    fn parse(text: &str) -> Result<u32, String> {
        Self::check(whole_number(text, Self::range)?)
    }
    fn from_toml(value: &Item, _base: &Path) -> Result<u32, String> {
        Self::check(integer(value)?)
    }
    fn to_toml(v: &u32) -> toml_edit::Value {
        i64::from(*v).into()
    }
    fn show(v: &u32) -> String {
        format!("{v} s")
    }
}

/// Declares the settings: the [`Settings`] struct and the [`SCHEMA`] table come from here.
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $kind:ty, scope: $scope:ident, flag: $flag:ident, short: $short:expr,
            unset: $unset:literal;
    )*) => {
        /// Validated settings of one table, or of the command line's flags; unset ones are None.
        #[derive(Debug, Default, Clone, PartialEq, Serialize)]
        pub struct Settings {
            $(
                $(#[doc = $doc])+
                pub $field: Option<<$kind as Kind>::Value>,
            )*
        }

        impl Settings {
            /// `self` where set, else `fallback`.
            pub fn or(self, fallback: &Settings) -> Settings {
                Settings {
                    $( $field: self.$field.or_else(|| fallback.$field.clone()), )*
                }
            }

            /// Sets `key` from the config file's value; None when there is no such setting.
            /// The message names the key.
            pub fn set_toml(
                &mut self,
                key: &str,
                value: &Item,
                base: &Path,
            ) -> Option<Result<(), String>> {
                match key {
                    $(
                        stringify!($field) => Some(
                            <$kind as Kind>::from_toml(value, base)
                                .map(|v| self.$field = Some(v))
                                .map_err(|m| format!("{} {m}", stringify!($field))),
                        ),
                    )*
                    _ => None,
                }
            }

            /// Sets `key` from a flag's text; the message names the flag: `--port: must be
            /// between 1 and 65535, not 0`.
            pub fn set_flag(&mut self, key: &str, text: &str) -> Result<(), String> {
                match key {
                    $(
                        stringify!($field) => {
                            let v = <$kind as Kind>::parse(text).map_err(|m| {
                                format!("--{}: {m}", stringify!($field).replace('_', "-"))
                            })?;
                            self.$field = Some(v);
                            Ok(())
                        }
                    )*
                    _ => Err(format!("no setting named {key}")),
                }
            }

            /// The settings that are set, in the schema's order, as TOML values.
            pub fn toml_entries(&self) -> Vec<(&'static str, toml_edit::Value)> {
                let mut out = Vec::new();
                $(
                    if let Some(v) = &self.$field {
                        out.push((stringify!($field), <$kind as Kind>::to_toml(v)));
                    }
                )*
                out
            }

            /// Every setting, shown, in the schema's order (None: unset).
            pub fn shown(&self) -> Vec<(&'static str, Option<String>)> {
                vec![ $( (stringify!($field), self.$field.as_ref().map(<$kind as Kind>::show)), )* ]
            }
        }

        /// Every setting, in the order the config file, `profile add` and the docs list them.
        pub static SCHEMA: &[Def] = &[
            $(
                Def {
                    key: stringify!($field),
                    short: $short,
                    help: concat!($($doc, "\n"),+),
                    unset: $unset,
                    value_name: <$kind as Kind>::VALUE_NAME,
                    scope: Scope::$scope,
                    flag: Flag::$flag,
                    choices: <$kind as Kind>::choices,
                },
            )*
        ];
    };
}

settings! {
    /// Database engine; sets the default port and which clients and files the profile is for.
    engine: EngineKind, scope: Any, flag: Token, short: None,
        unset: "from a DSQL, ElastiCache or MemoryDB endpoint name, else from the port: 5432 is PostgreSQL, 3306 MySQL";
    /// The endpoint: an RDS, Aurora, RDS Proxy, DSQL or cache endpoint name, or a DNS alias (CNAME) of one.
    host: HostKind, scope: Profile, flag: Token, short: None,
        unset: "required";
    /// The AWS endpoint name tokens are signed for and TLS checks when `host` is an alias of it; no DNS lookup then.
    sign_host: HostKind, scope: Profile, flag: Token, short: None,
        unset: "host when it is an AWS endpoint name, else the first AWS endpoint name in its CNAME chain";
    /// Database port, 1-65535.
    port: PortKind, scope: Any, flag: Token, short: None,
        unset: "the engine's: 5432 for postgres and dsql, 3306 for mysql and mariadb, 6379 for elasticache and memorydb";
    /// Database user name (the IAM-enabled database user).
    user: UserKind, scope: Any, flag: Token, short: Some('u'),
        unset: "required";
    /// Database (schema) name clients connect to.
    database: TextKind, scope: Any, flag: Add, short: None,
        unset: "the client's default";
    /// AWS region to sign for.
    region: RegionKind, scope: Any, flag: Token, short: None,
        unset: "from the host name, else AWS_REGION, AWS_DEFAULT_REGION or the AWS profile";
    /// AWS profile (from ~/.aws/config) whose credentials sign the token.
    aws_profile: TextKind, scope: Any, flag: Token, short: None,
        unset: "the AWS default credential chain";
    /// Command that prints an MFA code (run with `sh -c`) when a role session needs one.
    mfa_process: TextKind, scope: Any, flag: Add, short: None,
        unset: "the AWS profile's mfa_process, else the terminal is asked";
    /// CA bundle clients verify the server against; relative to the config file, `~/` works.
    ssl_ca: PathKind, scope: Any, flag: Add, short: None,
        unset: "the Amazon RDS CA bundle iamdb installs";
    /// Host clients dial instead of `host` (a tunnel end); the token is still signed for `host`.
    connect_host: HostKind, scope: Profile, flag: Add, short: None,
        unset: "host";
    /// Port clients dial instead of `port` (a tunnel end).
    connect_port: PortKind, scope: Profile, flag: Add, short: None,
        unset: "port";
    /// Seconds before expiry at which a cached token is no longer served (0-899).
    refresh_margin: MarginKind, scope: Any, flag: Add, short: None,
        unset: "120";
    /// Token lifetime in seconds: Aurora DSQL takes 1-604800 (a week); RDS tokens always live 900.
    expires_in: LifetimeKind, scope: Any, flag: Token, short: None,
        unset: "900";
    /// ElastiCache/MemoryDB: the replication group, serverless cache or cluster name tokens are signed for.
    cache_name: CacheNameKind, scope: Profile, flag: Token, short: None,
        unset: "read from the endpoint name";
    /// ElastiCache: whether the cache is serverless (its tokens say ResourceType=ServerlessCache).
    serverless: BoolKind, scope: Profile, flag: Token, short: None,
        unset: "read from the endpoint name, else false";
    /// The client `iamdb valkey` runs.
    client: ClientKind, scope: Any, flag: Add, short: None,
        unset: "valkey-cli when it is installed, else redis-cli";
    /// Cache store to start with (IAMDB_CACHE wins).
    cache: CacheKind, scope: Any, flag: Add, short: None,
        unset: "auto";
}

/// The schema entry of `key`.
pub fn def(key: &str) -> Option<&'static Def> {
    SCHEMA.iter().find(|d| d.key == key)
}

/// The README's settings table, as the schema makes it.
pub fn markdown_table() -> String {
    let mut out = String::from("| key | meaning | when unset |\n|---|---|---|\n");
    for d in SCHEMA {
        let mut meaning = d.help.trim().replace('\n', " ");
        let choices = (d.choices)();
        if !choices.is_empty() {
            let names: Vec<String> = choices.iter().map(|(n, _, _)| format!("`{n}`")).collect();
            meaning.push_str(&format!(" One of {}.", names.join(", ")));
        }
        if d.scope == Scope::Profile {
            meaning.push_str(" Profiles only.");
        }
        out.push_str(&format!("| `{}` | {meaning} | {} |\n", d.key, d.unset));
    }
    out
}

/// The nearest of `names` to `name` (a typo of one or two letters, or a prefix).
pub fn nearest<'a>(name: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (strsim::levenshtein(name, n), n))
        .filter(|(d, n)| *d <= 2.max(name.len() / 4) || n.starts_with(name) || name.starts_with(n))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_file_values_are_checked_the_same_way() {
        let mut s = Settings::default();
        s.set_flag("port", "5433").unwrap();
        assert_eq!(s.port, Some(5433));
        assert_eq!(
            s.set_flag("port", "0").unwrap_err(),
            "--port: must be between 1 and 65535, not 0"
        );
        assert_eq!(
            s.set_flag("port", "99999").unwrap_err(),
            "--port: must be between 1 and 65535, not 99999"
        );
        assert_eq!(
            s.set_flag("port", "x").unwrap_err(),
            "--port: must be between 1 and 65535, not \"x\""
        );
        assert_eq!(
            s.set_flag("refresh_margin", "soon").unwrap_err(),
            "--refresh-margin: must be between 0 and 899 seconds, not \"soon\""
        );
        assert_eq!(
            s.set_flag("engine", "postgress").unwrap_err(),
            "--engine: \"postgress\" is not one of postgres, mysql, mariadb, dsql, elasticache or memorydb; did you mean postgres?"
        );
        assert_eq!(
            s.set_flag("region", "eu-wset-1").unwrap_err(),
            "--region: eu-wset-1 is not an AWS region; did you mean eu-west-1?"
        );
        s.set_flag("region", "xy-moon-1").unwrap();
        assert_eq!(s.region.as_deref(), Some("xy-moon-1"));
        let base = Path::new("/cfg");
        assert_eq!(
            s.set_toml("port", &toml_edit::value(0), base)
                .unwrap()
                .unwrap_err(),
            "port must be between 1 and 65535, not 0"
        );
        assert_eq!(
            s.set_flag("aws_profile", "a\tb").unwrap_err(),
            "--aws-profile: \"a\\tb\" contains the control character '\\t'"
        );
        s.set_toml("ssl_ca", &toml_edit::value("ca.pem"), base)
            .unwrap()
            .unwrap();
        assert_eq!(s.ssl_ca, Some(PathBuf::from("/cfg/ca.pem")));
        assert!(s.set_toml("hots", &toml_edit::value("x"), base).is_none());
    }

    #[test]
    fn every_setting_is_in_the_schema_once() {
        let shown = Settings::default().shown();
        assert_eq!(shown.len(), SCHEMA.len());
        for ((key, _), def) in shown.iter().zip(SCHEMA) {
            assert_eq!(*key, def.key);
        }
        assert!(markdown_table().contains("| `aws_profile` |"));
    }
}
