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
}

/// What the clients of an engine speak, and so which bridges serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// libpq and its programs: psql, .pgpass, pg_service.conf.
    Postgres,
    /// The MySQL and MariaDB clients: option files.
    Mysql,
}

/// How a token for the engine is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// RDS, Aurora and RDS Proxy: `rds-db`, `host:port/?Action=connect&DBUser=...`, 900 s.
    Rds,
    /// Aurora DSQL: `dsql`, `host/?Action=DbConnectAdmin` for the `admin` role and
    /// `Action=DbConnect` for every other, 1 s to a week (900 s by default).
    Dsql,
}

impl TokenKind {
    /// The lifetimes a token of this kind may have, in seconds.
    pub fn lifetimes(self) -> std::ops::RangeInclusive<u64> {
        match self {
            TokenKind::Rds => TOKEN_LIFETIME.as_secs()..=TOKEN_LIFETIME.as_secs(),
            TokenKind::Dsql => 1..=DSQL_MAX_LIFETIME,
        }
    }
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
            Engine::Dsql => "dsql",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Engine::Postgres | Engine::Dsql => Family::Postgres,
            Engine::Mysql | Engine::Mariadb => Family::Mysql,
        }
    }

    pub fn default_port(self) -> u16 {
        self.family().default_port()
    }

    pub fn token_kind(self) -> TokenKind {
        match self {
            Engine::Dsql => TokenKind::Dsql,
            Engine::Postgres | Engine::Mysql | Engine::Mariadb => TokenKind::Rds,
        }
    }

    /// The database clients connect to when the profile names none (None: the client's own
    /// default). DSQL clusters have one database, `postgres`.
    pub fn default_database(self) -> Option<&'static str> {
        match self {
            Engine::Dsql => Some("postgres"),
            Engine::Postgres | Engine::Mysql | Engine::Mariadb => None,
        }
    }

    /// The client program `shell-init`'s functions run for a profile of this engine.
    pub fn client(self) -> &'static str {
        match self {
            Engine::Postgres | Engine::Dsql => "psql",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
        }
    }
}

impl Family {
    pub fn default_port(self) -> u16 {
        match self {
            Family::Postgres => 5432,
            Family::Mysql => 3306,
        }
    }

    /// For messages: "a PostgreSQL profile".
    pub fn describe(self) -> &'static str {
        match self {
            Family::Postgres => "PostgreSQL",
            Family::Mysql => "MySQL or MariaDB",
        }
    }

    /// The engine a profile of this family is taken for when it names none.
    pub fn engine(self) -> Engine {
        match self {
            Family::Postgres => Engine::Postgres,
            Family::Mysql => Engine::Mysql,
        }
    }
}

/// Which family a profile is: its engine's, else what its port says (5432 is PostgreSQL's,
/// 3306 MySQL's and MariaDB's); None when neither tells. `iamdb psql`, `exec`, every sync,
/// `shell-init`, completions and `doctor` all ask this.
pub fn family(engine: Option<Engine>, port: Option<u16>) -> Option<Family> {
    match (engine, port) {
        (Some(e), _) => Some(e.family()),
        (None, Some(5432)) => Some(Family::Postgres),
        (None, Some(3306)) => Some(Family::Mysql),
        _ => None,
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
