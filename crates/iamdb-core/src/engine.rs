//! The engines iamdb makes tokens for, and what each implies: the wire family its clients
//! speak, its default port, the kind of token it takes and the client programs that reach it.
//! Every command asks [`family`] which family a profile is; nothing else decides it.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::named::Named;

/// The life of an RDS token, and the default of every other kind: RDS rejects tokens that
/// claim a longer one.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// The longest life Aurora DSQL accepts for a token: a week.
pub const DSQL_MAX_LIFETIME: u64 = 604_800;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    #[serde(alias = "postgresql")]
    Postgres,
    Mysql,
    Mariadb,
    /// Aurora DSQL: PostgreSQL's clients, its own tokens.
    Dsql,
    /// ElastiCache (node-based or serverless) for Valkey or Redis OSS.
    Elasticache,
    /// MemoryDB for Valkey or Redis OSS.
    Memorydb,
}

/// What the clients of an engine speak, and so which bridges serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// libpq and its programs: psql, .pgpass, pg_service.conf.
    Postgres,
    /// The MySQL and MariaDB clients: option files.
    Mysql,
    /// valkey-cli and redis-cli (RESP over TLS).
    Redis,
}

/// How a token for the engine is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// RDS, Aurora and RDS Proxy: `rds-db`, `host:port/?Action=connect&DBUser=...`, 900 s.
    Rds,
    /// Aurora DSQL: `dsql`, `host/?Action=DbConnectAdmin` for the `admin` role and
    /// `Action=DbConnect` for every other, 1 s to a week (900 s by default).
    Dsql,
    /// ElastiCache (node-based): `elasticache`, `<cache name>/?Action=connect&User=...`, 900 s.
    ElastiCache,
    /// ElastiCache Serverless: the same with `&ResourceType=ServerlessCache`.
    ElastiCacheServerless,
    /// MemoryDB: `memorydb`, `<cluster name>/?Action=connect&User=...`, 900 s.
    MemoryDb,
}

impl TokenKind {
    /// The lifetimes a token of this kind may have, in seconds.
    pub fn lifetimes(self) -> std::ops::RangeInclusive<u64> {
        match self {
            TokenKind::Dsql => 1..=DSQL_MAX_LIFETIME,
            TokenKind::Rds
            | TokenKind::ElastiCache
            | TokenKind::ElastiCacheServerless
            | TokenKind::MemoryDb => TOKEN_LIFETIME.as_secs()..=TOKEN_LIFETIME.as_secs(),
        }
    }

    /// Whether the token is signed for a cache's name rather than its endpoint.
    pub fn signs_cache_name(self) -> bool {
        matches!(
            self,
            TokenKind::ElastiCache | TokenKind::ElastiCacheServerless | TokenKind::MemoryDb
        )
    }
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
            Engine::Dsql => "dsql",
            Engine::Elasticache => "elasticache",
            Engine::Memorydb => "memorydb",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Engine::Postgres | Engine::Dsql => Family::Postgres,
            Engine::Mysql | Engine::Mariadb => Family::Mysql,
            Engine::Elasticache | Engine::Memorydb => Family::Redis,
        }
    }

    pub fn default_port(self) -> u16 {
        self.family().default_port()
    }

    /// The kind of token the engine takes (ElastiCache Serverless caches take
    /// [`TokenKind::ElastiCacheServerless`]; the profile says which).
    pub fn token_kind(self) -> TokenKind {
        match self {
            Engine::Dsql => TokenKind::Dsql,
            Engine::Elasticache => TokenKind::ElastiCache,
            Engine::Memorydb => TokenKind::MemoryDb,
            Engine::Postgres | Engine::Mysql | Engine::Mariadb => TokenKind::Rds,
        }
    }

    /// The database clients connect to when the profile names none (None: the client's own
    /// default). DSQL clusters have one database, `postgres`.
    pub fn default_database(self) -> Option<&'static str> {
        match self {
            Engine::Dsql => Some("postgres"),
            _ => None,
        }
    }

    /// The iamdb command that runs the engine's client, which names `shell-init`'s function
    /// for a profile of this engine (`psql-PROFILE` runs `iamdb psql PROFILE`).
    pub fn client(self) -> &'static str {
        match self {
            Engine::Postgres | Engine::Dsql => "psql",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
            Engine::Elasticache | Engine::Memorydb => "valkey",
        }
    }
}

impl Family {
    pub fn default_port(self) -> u16 {
        match self {
            Family::Postgres => 5432,
            Family::Mysql => 3306,
            Family::Redis => 6379,
        }
    }

    /// For messages: "a PostgreSQL profile".
    pub fn describe(self) -> &'static str {
        match self {
            Family::Postgres => "PostgreSQL",
            Family::Mysql => "MySQL or MariaDB",
            Family::Redis => "Valkey or Redis OSS",
        }
    }

    /// The engine a profile of this family is taken for when it names none.
    pub fn engine(self) -> Engine {
        match self {
            Family::Postgres => Engine::Postgres,
            Family::Mysql => Engine::Mysql,
            Family::Redis => Engine::Elasticache,
        }
    }
}

/// Which family a profile is: its engine's, else what its port says (5432 is PostgreSQL's,
/// 3306 MySQL's and MariaDB's, 6379 Valkey's and Redis's); None when neither tells. `iamdb psql`, `exec`, every sync,
/// `shell-init`, completions and `doctor` all ask this.
pub fn family(engine: Option<Engine>, port: Option<u16>) -> Option<Family> {
    match (engine, port) {
        (Some(e), _) => Some(e.family()),
        (None, Some(5432)) => Some(Family::Postgres),
        (None, Some(3306)) => Some(Family::Mysql),
        (None, Some(6379)) => Some(Family::Redis),
        _ => None,
    }
}

/// The Valkey/Redis command-line client `iamdb valkey` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedisClient {
    ValkeyCli,
    RedisCli,
}

impl RedisClient {
    pub fn program(self) -> &'static str {
        match self {
            RedisClient::ValkeyCli => "valkey-cli",
            RedisClient::RedisCli => "redis-cli",
        }
    }

    /// The variable the client reads its password from (both read their own only).
    pub fn auth_variable(self) -> &'static str {
        match self {
            RedisClient::ValkeyCli => "VALKEYCLI_AUTH",
            RedisClient::RedisCli => "REDISCLI_AUTH",
        }
    }
}

impl Named for RedisClient {
    const ALL: &'static [RedisClient] = &[RedisClient::ValkeyCli, RedisClient::RedisCli];

    fn name(self) -> &'static str {
        self.program()
    }

    fn help(self) -> &'static str {
        match self {
            RedisClient::ValkeyCli => "Valkey's client",
            RedisClient::RedisCli => "Redis OSS's client (Debian's redis-tools)",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Named for Engine {
    const ALL: &'static [Engine] = &[
        Engine::Postgres,
        Engine::Mysql,
        Engine::Mariadb,
        Engine::Dsql,
        Engine::Elasticache,
        Engine::Memorydb,
    ];

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
            Engine::Dsql => "Aurora DSQL (PostgreSQL-compatible; tokens of up to a week)",
            Engine::Elasticache => "ElastiCache for Valkey or Redis OSS (node-based or serverless)",
            Engine::Memorydb => "MemoryDB for Valkey or Redis OSS",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_family_comes_from_the_engine_else_the_port() {
        assert_eq!(
            family(Some(Engine::Mariadb), Some(5432)),
            Some(Family::Mysql)
        );
        assert_eq!(family(None, Some(5432)), Some(Family::Postgres));
        assert_eq!(family(None, Some(3306)), Some(Family::Mysql));
        assert_eq!(family(None, Some(6000)), None);
        assert_eq!(family(None, None), None);
        assert_eq!(Engine::from_name("PostgreSQL"), Some(Engine::Postgres));
    }
}
