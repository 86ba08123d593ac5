//! Every command, flag and argument of iamdb, declared once. The doc comments are the help
//! text; completions and man pages are generated from these same definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{ArgMatches, FromArgMatches};
use iamdb_core::clients::mysql::Flavour;
use iamdb_core::error::{Error, Result};
use iamdb_core::named::Named;
use iamdb_core::settings::{Def, Flag, SCHEMA, Settings};

/// clap's choices for one of core's named enums, with each value's help and aliases.
fn named<T: Named + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    let values = T::ALL.iter().map(|v| {
        PossibleValue::new(v.name())
            .aliases(v.aliases().iter().copied())
            .help(v.help())
    });
    PossibleValuesParser::new(values).map(|s| T::from_name(&s).expect("one of the listed names"))
}

#[derive(Debug, Parser)]
#[command(
    name = "iamdb",
    version = env!("IAMDB_VERSION"),
    about = "AWS IAM database authentication tokens for RDS, Aurora, DSQL, ElastiCache and MemoryDB, cached and ready for psql, mysql, valkey-cli and friends",
    long_about = "iamdb makes an IAM authentication token for Amazon RDS, Aurora and RDS Proxy, \
Aurora DSQL, ElastiCache or MemoryDB from your AWS credentials (byte for byte what the AWS CLI \
and botocore make), keeps it in the OS keyring until shortly before it expires, and hands it to \
the database clients you already use.",
    after_help = "Exit codes: 0 ok, 1 internal error, 2 usage error, 3 config error, \
4 AWS credential error, 5 cache error, 6 a check failed (doctor, inspect, ca update), \
7 installation problem (iamdb-credentials missing or from another release), 130 Ctrl-C at the \
MFA code prompt.\n\n\
MFA: an AWS profile whose role has mfa_serial gets its code from mfa_process (iamdb's profile, \
else the AWS profile), else from the terminal, once per role session (kept in the cache until 5 \
minutes before it ends, 1 hour by default); with no terminal, run `iamdb login PROFILE` first.\n\n\
Environment: IAMDB_CONFIG (the config file; it must be writable by its owner only), IAMDB_CACHE \
(auto, keyutils, secret-service, file, none), IAMDB_KEYRING_TIMEOUT_MS (a Secret Service \
call's deadline, 3000), IAMDB_CREDENTIALS_TIMEOUT (seconds to resolve AWS credentials, 30)."
)]
pub struct Cli {
    /// Config file to read instead of $XDG_CONFIG_HOME/iamdb/config.toml (or $IAMDB_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log to stderr what was resolved and from where (-vv adds the AWS SDK's own logs).
    /// Tokens and secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print an IAM authentication token for a profile or for the given endpoint. An AWS
    /// profile with an MFA device asks for a code once per role session (see `iamdb login`).
    Token(TokenArgs),
    /// List, show, add or remove connection profiles in the config file.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// List or clear cached tokens and MFA role sessions (secrets themselves are never shown).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Run psql logged in to a PostgreSQL profile: TLS verified, the token never on a command line.
    #[command(
        after_help = "Examples:\n  iamdb psql prod\n  iamdb psql prod -- -c 'SELECT current_user'\n\nlibpq variables that could send the token elsewhere (PGSERVICE, PGHOSTADDR, PGSSLMODE, ...)\nare removed from psql's environment; -v names them."
    )]
    Psql(ClientArgs),
    /// Run mysql logged in to a MySQL/MariaDB profile: TLS verified, the token never on a
    /// command line or on disk.
    #[command(
        after_help = "Examples:\n  iamdb mysql reports\n  iamdb mysql reports -- -e 'SELECT CURRENT_USER()'"
    )]
    Mysql(ClientArgs),
    /// Like `iamdb mysql`, with the `mariadb` client.
    Mariadb(ClientArgs),
    /// Run valkey-cli (or redis-cli) logged in to an ElastiCache or MemoryDB profile: TLS
    /// verified, the token in VALKEYCLI_AUTH/REDISCLI_AUTH, never on a command line.
    #[command(
        after_help = "Examples:\n  iamdb valkey sessions\n  iamdb valkey sessions -- GET user:42\n  iamdb valkey sessions -- -3 HELLO 3\n\nThe client is the profile's `client` setting, else valkey-cli when it is installed, else\nredis-cli. Through a tunnel (connect_host) the client dials the tunnel and sends the\nendpoint's name as SNI. IAM connections are closed after 12 hours."
    )]
    Valkey(ClientArgs),
    /// Print an option file for a MySQL/MariaDB profile, for `--defaults-file` (the client's own
    /// option files included first, the profile's [client] group last, so that it wins), or
    /// keep [client_PROFILE] groups in an option file that ~/.my.cnf includes (`sync`).
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  mysql --defaults-file=<(iamdb mycnf reports)\n  iamdb mycnf sync && mysql --defaults-group-suffix=_reports\n\nWith --defaults-extra-file instead, a [client] group in ~/.my.cnf (read after it) could\nsend the token to another server."
    )]
    Mycnf(MycnfArgs),
    /// Run any program with a profile's connection in its environment: for PostgreSQL, PGHOST,
    /// PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT, PGGSSENCMODE (inherited
    /// libpq variables that could send the token elsewhere, such as PGSERVICE and PGHOSTADDR,
    /// are removed; -v names them); for MySQL/MariaDB, MYSQL_HOST, MYSQL_TCP_PORT and
    /// IAMDB_MYSQL_DEFAULTS_FILE (a private option file, for --defaults-file); for
    /// ElastiCache/MemoryDB, VALKEYCLI_AUTH and REDISCLI_AUTH (the token), IAMDB_HOST,
    /// IAMDB_PORT, IAMDB_USER, IAMDB_TLS_SERVER_NAME and IAMDB_CA_FILE.
    #[command(
        after_help = "Examples:\n  iamdb exec prod -- pg_dump -Fc -f prod.dump\n  iamdb exec prod -- python3 app.py\n  iamdb exec reports -- sh -c 'mysqldump --defaults-file=\"$IAMDB_MYSQL_DEFAULTS_FILE\" shop'"
    )]
    Exec(ExecArgs),
    /// Keep fresh tokens for PostgreSQL profiles in ~/.pgpass (or $PGPASSFILE).
    #[command(subcommand)]
    Pgpass(PgpassCommand),
    /// Write the man pages (iamdb.1 and one per subcommand) into DIR.
    Man {
        /// Where to write them [default: the current directory].
        #[arg(value_name = "DIR", default_value = ".")]
        dir: std::path::PathBuf,
    },
    /// Refresh the tokens in every synced file (.pgpass, iamdb's my.cnf) before they expire;
    /// with --watch, keep doing so until stopped (SIGTERM or Ctrl-C), for GUI clients.
    Refresh {
        /// Keep running, waking up shortly before the next token is due.
        #[arg(long)]
        watch: bool,
    },
    /// Print shell functions that make each profile a command (`psql-PROFILE`, `mysql-PROFILE`,
    /// `mariadb-PROFILE`, `valkey-PROFILE`), for `eval "$(iamdb shell-init bash)"`.
    #[command(
        after_help = "Examples:\n  eval \"$(iamdb shell-init bash)\"     # in ~/.bashrc\n  eval \"$(iamdb shell-init zsh)\"      # in ~/.zshrc\n  iamdb shell-init fish | source      # in ~/.config/fish/config.fish"
    )]
    ShellInit {
        #[arg(value_enum)]
        shell: InitShell,
    },
    /// Decode a token (from stdin, or the argument) and say what is wrong with it: expired,
    /// truncated, signed in the future, for the wrong host, region or service. Never shows the
    /// signature or the session token; exits 6 when the token cannot log in.
    #[command(
        after_help = "Examples:\n  iamdb token prod | iamdb inspect\n  iamdb inspect --format json < token.txt\n\nA token on the command line is visible to other users in `ps`; prefer stdin."
    )]
    Inspect {
        /// The token, or `-` for stdin [default: stdin].
        #[arg(value_name = "TOKEN")]
        token: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The Amazon RDS CA bundle that profiles without `ssl_ca` verify the server with
    /// (embedded in iamdb, installed as a file for the clients).
    #[command(subcommand)]
    Ca(CaCommand),
    /// Print the Tab-completion script for a shell (profile names complete too).
    #[command(
        after_help = "Examples:\n  source <(iamdb completions bash)     # in ~/.bashrc, or save it as\n                                       # ~/.local/share/bash-completion/completions/iamdb\n  iamdb completions zsh > ~/.zfunc/_iamdb   # a directory in $fpath, before compinit\n  iamdb completions fish > ~/.config/fish/completions/iamdb.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Keep a [PROFILE] section per PostgreSQL profile in ~/.pg_service.conf (or
    /// $PGSERVICEFILE), for `psql service=PROFILE` after `iamdb pgpass sync`.
    #[command(subcommand)]
    Pgservice(PgserviceCommand),
    /// Write a servers.json that pgAdmin 4 imports: one server per PostgreSQL or DSQL profile
    /// in the group "iamdb", TLS verified, its password from `iamdb token PROFILE` (pgAdmin's
    /// PasswordExecCommand, run again before the token expires).
    #[command(
        after_help = "Examples:\n  iamdb pgadmin > servers.json          # then Tools > Import/Export Servers in pgAdmin\n  iamdb pgadmin prod --output ~/servers.json   # merge into an earlier export\n\nWith --output naming an existing file, servers in other groups, and iamdb servers not named\nnow, are kept. pgAdmin runs password commands in desktop mode only."
    )]
    Pgadmin(PgadminArgs),
    /// Check, in order, everything between you and an IAM login, and say how to fix what
    /// fails: config, region, AWS credentials (and their MFA session), identity (STS), clock,
    /// DNS, TCP, TLS against the CA bundle, cache, client programs, synced files. Exits 6 when
    /// a check fails.
    #[command(
        after_help = "Examples:\n  iamdb doctor prod\n  iamdb doctor            # every profile, or just AWS credentials when there is none\n  iamdb doctor prod --format json | jq '.profiles[0].checks[] | select(.status == \"fail\")'\n\nNetwork steps time out after a few seconds each."
    )]
    Doctor(DoctorArgs),
    /// Print what AWS needs for a profile's IAM login: the IAM policy granting rds-db:connect,
    /// the SQL that creates the database user, and the command that turns IAM authentication on.
    /// For Aurora DSQL: the policy granting dsql:DbConnect (dsql:DbConnectAdmin for admin) on the
    /// cluster, and the SQL that creates the role and maps it to an IAM principal. For
    /// ElastiCache and MemoryDB: the policy granting elasticache:Connect or memorydb:Connect on the
    /// cache and the user, and the AWS CLI that creates the IAM-authenticated user and adds it to
    /// the user group or ACL.
    #[command(
        after_help = "Examples:\n  iamdb setup prod --lookup                  # the resource id through the RDS API\n  iamdb setup prod --resource-id db-ABCDEFGHIJKLMNOPQRSTUVWXY0\n  iamdb setup prod --lookup --format json | jq .policy > policy.json\n  iamdb setup dsql-app --principal arn:aws:iam::123456789012:role/app\n  iamdb setup dsql-app --lookup              # DSQL: grant the role to your own identity"
    )]
    Setup(SetupArgs),
    /// Run a command while holding the lock iamdb takes to edit FILE, so that a script that
    /// changes the file (`.pgpass`, `pg_service.conf`, `~/.my.cnf`) never races a sync or a
    /// refresh. The lock is private to this user; iamdb gives up waiting for it after 10 s.
    #[command(
        after_help = "Examples:\n  iamdb lock ~/.pgpass -- sh -c 'echo \"db.example.com:5432:*:me:pw\" >> ~/.pgpass'\n\nExits with the command's exit code."
    )]
    Lock(LockArgs),
    /// Ask for the MFA code of a profile's role now and keep the role session in the cache,
    /// so that tokens, clients, synced files and `refresh --watch` use it without asking
    /// (for use before starting a GUI client or a refresher that has no terminal).
    #[command(
        after_help = "Examples:\n  iamdb login prod                 # the AWS profile of iamdb profile prod\n  iamdb login --aws-profile dba    # an AWS profile directly\n\nThe code comes from mfa_process when the profile (or its AWS profile) sets one, else it is\nasked for on the terminal. A session is kept until 5 minutes before it ends (1 hour by default,\nduration_seconds in the AWS profile); `iamdb cache list` shows it, `iamdb cache clear` removes it."
    )]
    Login(LoginArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Profile from the config file whose AWS profile to log in [default: the AWS default
    /// profile, or AWS_PROFILE].
    #[arg(value_name = "PROFILE", conflicts_with = "aws_profile")]
    pub profile: Option<String>,
    /// An AWS profile (from ~/.aws/config) to log in, instead of an iamdb profile's.
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The file the command changes.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The program to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Profile to check [default: every profile in the config file].
    #[arg(value_name = "PROFILE")]
    pub profile: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Profile name from the config file.
    #[arg(value_name = "PROFILE")]
    pub profile: String,
    /// The resource the policy grants: an instance's DbiResourceId (db-...), an Aurora
    /// cluster's DbClusterResourceId (cluster-...) or an RDS Proxy's id (prx-...).
    #[arg(long, value_name = "ID")]
    pub resource_id: Option<String>,
    /// Find the resource id through the RDS API (DescribeDBInstances, DescribeDBClusters,
    /// DescribeDBProxies) from the profile's host; for Aurora DSQL, take the principal a role
    /// is granted to from STS (your own identity).
    #[arg(long, conflicts_with = "resource_id")]
    pub lookup: bool,
    /// Aurora DSQL: the IAM role or user ARN the profile's role is granted to (`AWS IAM GRANT`).
    #[arg(long, value_name = "ARN")]
    pub principal: Option<String>,
    /// The AWS account id for the policy [default: the account STS names for your credentials].
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Print where the installed bundle is (whether or not it is there yet).
    Path,
    /// Write the embedded bundle to that path (0644, atomically), or confirm it is current.
    Install,
    /// Download the current bundle from AWS, check that every certificate in it parses, and
    /// replace the installed file atomically. Kept until `iamdb ca install` puts the embedded
    /// one back.
    Update {
        /// Where to download it from.
        #[arg(long, value_name = "URL", default_value = iamdb_core::ca::RDS_BUNDLE_URL)]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PgserviceCommand {
    /// Write or refresh the sections of the PostgreSQL profiles (all, or those named); iamdb
    /// only touches sections it wrote.
    Sync(SyncArgs),
}

/// Shared by psql, mysql, mariadb and valkey; `complete::command` gives each its profile completion.
#[derive(Debug, Args)]
pub struct ClientArgs {
    // The indexes are explicit: `complete::command` adds a completer to PROFILE, which moves
    // it behind ARGS in clap's list.
    /// Profile name from the config file.
    #[arg(value_name = "PROFILE", index = 1)]
    pub profile: String,
    /// Arguments for the client, after `--`.
    #[arg(last = true, value_name = "ARGS", index = 2)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct MycnfArgs {
    /// Profile whose [client] group to print.
    #[arg(value_name = "PROFILE")]
    pub profile: Option<String>,
    /// The client the option file is for [default: what `mysql --help` says it is].
    #[arg(long, value_parser = named::<Flavour>(), value_name = "FLAVOUR", global = true)]
    pub flavour: Option<Flavour>,
    #[command(subcommand)]
    pub command: Option<MycnfCommand>,
}

#[derive(Debug, Subcommand)]
pub enum MycnfCommand {
    /// Write or refresh [client_PROFILE] groups (all MySQL/MariaDB profiles, or those named)
    /// in iamdb's 0600 option file, and include it from ~/.my.cnf once (`--remove` takes the
    /// include line out too, once no group is left, and removes each file left empty).
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    // The indexes are explicit: `complete::command` adds a completer to PROFILE, which moves
    // it behind COMMAND in clap's list.
    /// Profile name from the config file.
    #[arg(value_name = "PROFILE", index = 1)]
    pub profile: String,
    /// The program to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND", index = 2)]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
pub enum PgpassCommand {
    /// Write or refresh one line per PostgreSQL profile (all of them, or those named) inside a
    /// block iamdb marks as its own; every other line is kept as it is. Scripts that change
    /// the file while iamdb may be syncing should run under `iamdb lock FILE -- COMMAND`, which
    /// takes the lock iamdb takes.
    Sync(SyncArgs),
}

/// What every `sync` takes (`complete::command` gives each its profile completion).
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Profiles to sync [default: every profile of the engines the file is for].
    #[arg(value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// Take iamdb's entries out again (all of them, or those of the profiles named); a file
    /// left with nothing else in it is removed.
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct PgadminArgs {
    /// Profiles to write [default: every PostgreSQL and DSQL profile].
    #[arg(value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// Merge into this servers.json (created when missing) instead of printing it.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  iamdb token prod\n  iamdb token --host db1.abc123.eu-west-1.rds.amazonaws.com --engine postgres --user app\n  iamdb token prod --format json\n  iamdb token prod --format raw        # no newline, for a GUI's password command"
)]
pub struct TokenArgs {
    /// Profile name from the config file; may be omitted when --host and --user are given.
    #[arg(value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Where the token is for; every flag overrides the profile's value.
    #[command(flatten)]
    pub settings: SettingFlags<false>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TokenFormat::Text)]
    pub format: TokenFormat,

    /// Neither read nor store the cache.
    #[arg(long, conflicts_with = "refresh")]
    pub no_cache: bool,

    /// Ignore a cached token; make a new one and store it.
    #[arg(long)]
    pub refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenFormat {
    /// The token alone on one line, with its newline.
    Text,
    /// The token with no newline, for GUI tools that keep whatever a password command prints.
    Raw,
    /// One JSON object: the token, its expiry, and what it is for.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON object.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the profiles in the config file.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show one profile with defaults applied and the region it resolves to.
    Show {
        #[arg(value_name = "PROFILE")]
        name: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Add a profile to the config file, keeping everything else in it as it is.
    Add(ProfileAddArgs),
    /// Remove a profile from the config file, keeping everything else in it as it is.
    Remove {
        #[arg(value_name = "PROFILE")]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ProfileAddArgs {
    /// Name of the new profile (letters, digits, '-', '_' and '.').
    #[arg(value_name = "PROFILE")]
    pub name: String,

    /// The profile's settings; see the README's settings table.
    #[command(flatten)]
    pub settings: SettingFlags<true>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List cached tokens (profile, endpoint, backend and time left) and MFA role sessions (AWS
    /// profile, role and time left), never a secret.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Remove cached tokens and role sessions, all of them or those of one profile, from every store this
    /// platform has (whatever `cache` or IAMDB_CACHE chooses): entries named `iamdb:...` in the
    /// kernel keyring (the user keyring) and the Secret Service, and the file cache's files.
    Clear {
        #[arg(value_name = "PROFILE")]
        profile: Option<String>,
    },
}

/// A setting's named values, for `--help`, man pages and completion. clap takes any text: the
/// schema checks it (`Settings::set_flag`), as it checks the config file's, so that a wrong
/// value gets the same message from a flag as from the file.
#[derive(Clone)]
struct Listed(Vec<PossibleValue>);

impl TypedValueParser for Listed {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.0.iter().cloned()))
    }
}

/// Profile settings given as flags, made from the settings schema (iamdb_core::settings): every
/// setting `iamdb profile add` takes (`ALL`), or those `iamdb token` takes for an endpoint given
/// by flags alone. Their values are checked by the schema, as the config file's are, when the
/// command asks for [`SettingFlags::settings`].
#[derive(Debug, Clone, Default)]
pub struct SettingFlags<const ALL: bool> {
    given: Vec<(&'static str, String)>,
}

impl<const ALL: bool> SettingFlags<ALL> {
    fn defs() -> impl Iterator<Item = &'static Def> {
        SCHEMA.iter().filter(|d| ALL || d.flag == Flag::Token)
    }

    /// The settings given, checked; the message names the flag.
    pub fn settings(&self) -> Result<Settings> {
        let mut settings = Settings::default();
        for (key, value) in &self.given {
            settings.set_flag(key, value).map_err(Error::usage)?;
        }
        Ok(settings)
    }
}

impl<const ALL: bool> FromArgMatches for SettingFlags<ALL> {
    fn from_arg_matches(matches: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let mut flags = Self::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(
        &mut self,
        matches: &ArgMatches,
    ) -> std::result::Result<(), clap::Error> {
        for def in Self::defs() {
            if let Some(value) = matches.get_one::<String>(def.key) {
                self.given.retain(|(k, _)| *k != def.key);
                self.given.push((def.key, value.clone()));
            }
        }
        Ok(())
    }
}

impl<const ALL: bool> Args for SettingFlags<ALL> {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for def in Self::defs() {
            let help: Vec<&str> = def.help.lines().map(str::trim).collect();
            let mut arg = clap::Arg::new(def.key)
                .long(def.flag_name())
                .value_name(def.value_name)
                .help(help.join(" "));
            if let Some(c) = def.short {
                arg = arg.short(c);
            }
            let choices = (def.choices)();
            if !choices.is_empty() {
                arg = arg.value_parser(Listed(
                    choices
                        .into_iter()
                        .map(|(name, aliases, help)| {
                            PossibleValue::new(name)
                                .aliases(aliases.iter().copied())
                                .help(help)
                        })
                        .collect(),
                ));
            }
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}
