//! What the AWS documentation makes people assemble by hand for IAM database authentication,
//! made correct for one profile: the IAM policy, the SQL that creates the database user, and
//! the command that turns IAM authentication on. Pure functions; `cmd::setup` gathers the
//! account and the resource id and prints.

use crate::engine::Engine;

/// The AWS partition a region belongs to, for ARNs.
pub fn partition(region: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("us-gov-", "aws-us-gov"),
        ("cn-", "aws-cn"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, p)| p)
}

pub use crate::protocol::ResourceKind as Kind;

/// The kind of resource a resource id names, or why it is not one.
pub fn check_resource_id(id: &str) -> Result<Kind, String> {
    let (kind, rest) = if let Some(rest) = id.strip_prefix("db-") {
        (Kind::Instance, rest)
    } else if let Some(rest) = id.strip_prefix("cluster-") {
        (Kind::Cluster, rest)
    } else if let Some(rest) = id.strip_prefix("prx-") {
        (Kind::Proxy, rest)
    } else {
        return Err(format!(
            "--resource-id: {id:?} is not a resource id: it starts with db- (an instance's DbiResourceId), \
             cluster- (an Aurora cluster's DbClusterResourceId) or prx- (an RDS Proxy's id)"
        ));
    };
    if rest.is_empty() || rest.len() > 64 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "--resource-id: {id:?} is not a resource id: after the prefix come only letters and digits \
             (it is not the instance name; see `aws rds describe-db-instances --query 'DBInstances[].DbiResourceId'`)"
        ));
    }
    Ok(kind)
}

/// The kind and identifier an RDS endpoint name shows: `NAME.ID.REGION.rds...` is an instance,
/// `NAME.cluster-ID...` (also `cluster-ro-`, `cluster-custom-`) a cluster, `NAME.proxy-ID...`
/// a proxy. None for names that are not RDS endpoints (a CNAME, a tunnel's name).
pub fn identifier_from_host(host: &str) -> Option<(Kind, String)> {
    crate::endpoint::region_from_host(host)?;
    let host = host.to_ascii_lowercase();
    let mut labels = host.split('.');
    let name = labels.next()?.to_string();
    let id = labels.next()?;
    let kind = if id.starts_with("cluster-") {
        Kind::Cluster
    } else if id.starts_with("proxy-") {
        Kind::Proxy
    } else {
        Kind::Instance
    };
    Some((kind, name))
}

/// The `rds-db:connect` resource for `user` on `resource_id`. `*`, `?` and `$` in a user name
/// would act as wildcards or policy variables, so they are written as IAM's literal forms
/// `${*}`, `${?}` and `${$}`.
pub fn resource_arn(region: &str, account: &str, resource_id: &str, user: &str) -> String {
    let mut escaped = String::with_capacity(user.len());
    for c in user.chars() {
        match c {
            '*' => escaped.push_str("${*}"),
            '?' => escaped.push_str("${?}"),
            '$' => escaped.push_str("${$}"),
            c => escaped.push(c),
        }
    }
    format!(
        "arn:{}:rds-db:{region}:{account}:dbuser:{resource_id}/{escaped}",
        partition(region)
    )
}

/// The identity policy that lets its holder log in as the user.
pub fn policy(resource_arn: &str) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "rds-db:connect",
            "Resource": resource_arn,
        }]
    })
}

/// A MySQL/MariaDB identifier in backquotes (the one quoting no sql_mode changes).
pub fn mysql_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A database name for a MySQL/MariaDB `GRANT ... ON db.*`, where `_` and `%` are wildcards
/// (`shop_prod` would also grant `shopXprod`): both escaped with `\`, as is `\` itself, then
/// backquoted.
pub fn mysql_db_pattern(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '_' | '%' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    mysql_ident(&escaped)
}

/// A PostgreSQL identifier in double quotes.
pub fn postgres_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Why a user name cannot be a database user the SQL creates, if it cannot.
pub fn check_user(engine: Engine, user: &str) -> Result<(), String> {
    if let Some(c) = user.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the user name contains the control character {c:?}; no database client can send it"
        ));
    }
    let bytes = engine.family() == crate::engine::Family::Postgres;
    let max = if bytes { 63 } else { 80 };
    let len = if bytes {
        user.len()
    } else {
        user.chars().count()
    };
    if len > max {
        let unit = if bytes { "bytes" } else { "characters" };
        return Err(format!(
            "the user name is {len} {unit} long; {} user names have at most {max}",
            engine.as_str()
        ));
    }
    Ok(())
}

/// The statements that create `user` as an IAM-authenticated user, and let it connect to
/// `database` when one is given: MySQL/MariaDB with what an application user needs there
/// (`SELECT, INSERT, UPDATE, DELETE`), PostgreSQL with `CONNECT` (the tables come with
/// [`database_sql`], run in that database).
pub fn sql(engine: Engine, user: &str, database: Option<&str>) -> Vec<String> {
    match engine {
        Engine::Dsql => dsql_sql(user, None),
        Engine::Elasticache | Engine::Memorydb => Vec::new(),
        Engine::Postgres => {
            let u = postgres_ident(user);
            let mut s = vec![
                format!("CREATE USER {u} WITH LOGIN;"),
                format!("GRANT rds_iam TO {u};"),
            ];
            if let Some(db) = database {
                s.push(format!(
                    "GRANT CONNECT ON DATABASE {} TO {u};",
                    postgres_ident(db)
                ));
            }
            s
        }
        Engine::Mysql | Engine::Mariadb => {
            let u = format!("{}@`%`", mysql_ident(user));
            let mut s = vec![format!(
                "CREATE USER {u} IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;"
            )];
            if let Some(db) = database {
                s.push(format!(
                    "GRANT {APP_PRIVILEGES} ON {}.* TO {u};",
                    mysql_db_pattern(db)
                ));
            }
            s
        }
    }
}

/// What an application user usually does with the tables: read and write rows, never change
/// the schema.
const APP_PRIVILEGES: &str = "SELECT, INSERT, UPDATE, DELETE";

/// PostgreSQL: the statements to run connected to `database` (privileges on schemas and tables
/// live in each database), giving `user` what an application user usually needs: the tables of
/// schema `public` to read and write (and their sequences, for `serial` columns), those the
/// master user creates later too. Empty for other engines, and without a database.
pub fn database_sql(engine: Engine, user: &str, database: Option<&str>) -> Vec<String> {
    if engine != Engine::Postgres || database.is_none() {
        return Vec::new();
    }
    let u = postgres_ident(user);
    vec![
        format!("GRANT USAGE ON SCHEMA public TO {u};"),
        format!("GRANT {APP_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {u};"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {u};"),
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {APP_PRIVILEGES} ON TABLES TO {u};"
        ),
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {u};"
        ),
    ]
}

/// The broad grant, for a user that changes the schema as well (migrations: `CREATE`,
/// `ALTER`, `DROP`): `setup` prints it commented out, for whoever needs it.
pub fn broad_sql(engine: Engine, user: &str, database: Option<&str>) -> Vec<String> {
    let Some(db) = database else {
        return Vec::new();
    };
    match engine {
        Engine::Postgres => {
            let u = postgres_ident(user);
            vec![
                format!(
                    "GRANT ALL PRIVILEGES ON DATABASE {} TO {u};",
                    postgres_ident(db)
                ),
                format!("GRANT ALL ON SCHEMA public TO {u};"),
                format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {u};"),
            ]
        }
        Engine::Mysql | Engine::Mariadb => vec![format!(
            "GRANT ALL PRIVILEGES ON {}.* TO {}@`%`;",
            mysql_db_pattern(db),
            mysql_ident(user)
        )],
        Engine::Dsql | Engine::Elasticache | Engine::Memorydb => Vec::new(),
    }
}

/// A PostgreSQL string literal in single quotes.
fn postgres_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statements that make `role` a DSQL role that `principal` (an IAM role or user ARN) logs
/// in as. The built-in `admin` role needs none.
fn dsql_sql(role: &str, principal: Option<&str>) -> Vec<String> {
    if role == "admin" {
        return Vec::new();
    }
    let r = postgres_ident(role);
    vec![
        format!("CREATE ROLE {r} WITH LOGIN;"),
        format!(
            "AWS IAM GRANT {r} TO {};",
            postgres_literal(principal.unwrap_or("arn:aws:iam::ACCOUNT:role/NAME"))
        ),
    ]
}

/// The IAM principal DSQL maps a role to, from an ARN STS or a person gave: an IAM role or
/// user as is, an assumed-role session as its role (`arn:aws:sts::A:assumed-role/R/S` is
/// `arn:aws:iam::A:role/R`; a role with a path needs the path written back by hand).
fn principal_arn(arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (partition, service, account, resource) = match parts.as_slice() {
        ["arn", partition, service, "", account, resource]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (*partition, *service, *account, *resource)
        }
        _ => {
            return Err(format!(
                "{arn:?} is not an IAM role or user ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            ));
        }
    };
    match (service, resource.split_once('/')) {
        ("iam", Some(("role" | "user", name))) if !name.is_empty() => Ok(arn.to_string()),
        ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
            Some((role, _session)) if !role.is_empty() => {
                Ok(format!("arn:{partition}:iam::{account}:role/{role}"))
            }
            _ => Err(format!(
                "{arn:?} is an assumed-role ARN without a role name"
            )),
        },
        _ => Err(format!(
            "{arn:?} is not an IAM role or user ARN (arn:aws:iam::ACCOUNT:role/NAME); DSQL maps roles to IAM roles and users"
        )),
    }
}

/// The AWS CLI command that turns IAM authentication on for the resource.
pub fn enable_command(kind: Kind, identifier: &str, region: &str) -> String {
    let id = shell_word(identifier);
    match kind {
        Kind::Instance => format!(
            "aws rds modify-db-instance --db-instance-identifier {id} --enable-iam-database-authentication --apply-immediately --region {region}"
        ),
        Kind::Cluster => format!(
            "aws rds modify-db-cluster --db-cluster-identifier {id} --enable-iam-database-authentication --apply-immediately --region {region}"
        ),
        Kind::Proxy => format!(
            "aws rds modify-db-proxy --db-proxy-name {id} --default-auth-scheme IAM_AUTH --require-tls --region {region}"
        ),
    }
}

/// `word` as one shell word: bare when it is plain, else in single quotes.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.,/:=@+".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// What `setup` is asked: the resource id, or to look it up through the RDS API, and the
/// account, when not from STS.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub resource_id: Option<String>,
    pub lookup: bool,
    pub account: Option<String>,
    /// DSQL: the IAM role or user ARN a role is granted to (`--principal`).
    pub principal: Option<String>,
}

/// Everything `iamdb setup` prints for a profile, as JSON or as text.
#[derive(Debug, serde::Serialize)]
pub struct Plan {
    pub profile: String,
    pub engine: &'static str,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// RDS: the profile's database, which the grants are on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    pub region: String,
    pub partition: &'static str,
    pub account: String,
    /// RDS: the instance, cluster or proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<PlanResource>,
    /// DSQL: the cluster id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// DSQL: the IAM principal the role is granted to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    pub resource_arn: String,
    pub policy: serde_json::Value,
    /// The statements that create the database user, as the master user.
    pub sql: Vec<String>,
    /// PostgreSQL: the statements to run connected to the profile's database (the tables).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub database_sql: Vec<String>,
    /// The broad grant (schema changes too), printed commented out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broad_sql: Vec<String>,
    /// RDS: the command that turns IAM authentication on (DSQL has no other kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_iam: Option<String>,
    /// ElastiCache/MemoryDB: the cache, and what the API said of it with `--lookup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<PlanCache>,
    /// ElastiCache/MemoryDB: the AWS CLI commands that create the IAM-authenticated user and
    /// let it in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct PlanCache {
    pub name: String,
    pub serverless: bool,
    pub arn: String,
    pub user_arn: String,
    /// `valkey` or `redis` (from the API; `valkey` when not looked up).
    pub engine: String,
    pub user_groups: Vec<String>,
    pub acl: Option<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct PlanResource {
    pub kind: Kind,
    pub identifier: Option<String>,
    pub resource_id: String,
    pub iam_enabled: Option<bool>,
    pub via_instance: Option<String>,
}

/// Gathers what the plan needs: the region (AWS config when the host does not say), the
/// account (STS, unless given), the resource (given, or looked up through the RDS API).
pub fn plan(
    config: &crate::config::Config,
    name: &str,
    input: &Input,
) -> crate::error::Result<Plan> {
    use crate::error::Error;
    let profile =
        crate::alias::resolve(&config.resolve(Some(name), crate::config::Settings::default())?)?;
    if let Some(account) = &input.account
        && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::usage(format!(
            "--account: {account:?} is not an AWS account id (12 digits)"
        )));
    }
    if profile.engine == Some(Engine::Dsql) {
        return dsql_plan(&profile, name, input);
    }
    if matches!(profile.engine, Some(Engine::Elasticache | Engine::Memorydb)) {
        return cache_plan(&profile, name, input);
    }
    if input.principal.is_some() {
        return Err(Error::usage(
            "--principal is for Aurora DSQL profiles; RDS grants rds-db:connect to whoever holds the policy",
        ));
    }
    let given_kind = match &input.resource_id {
        Some(id) => Some(check_resource_id(id).map_err(Error::usage)?),
        None => None,
    };
    if given_kind.is_none() && !input.lookup {
        return Err(Error::usage("give --resource-id ID, or --lookup"));
    }
    let choice = crate::provider::cache_choice(&profile, crate::provider::CacheMode::Use)?;
    let source = crate::provider::aws_source(&profile, choice);
    let region = match crate::provider::static_region(&profile) {
        Some(r) => r.name,
        None => crate::provider::resolve_credentials(&source, true, None)?
            .1
            .map(|r| r.name)
            .ok_or_else(|| {
                Error::config(format!(
                    "cannot tell which AWS region {} is in",
                    profile.host
                ))
                .hint(format!("set region in profile '{name}', or AWS_REGION"))
            })?,
    };
    if input.account.is_none() || input.lookup {
        // The helper's calls use the profile's role session: make it now, asking for an MFA
        // code if it needs one.
        crate::provider::resolve_credentials(&source, false, Some(&region))?;
    }
    let account = match &input.account {
        Some(a) => a.clone(),
        None => crate::helper::identity(&source, &region)?.account,
    };
    let resource = if input.lookup {
        Some(crate::helper::lookup(&source, &region, &profile.host)?)
    } else {
        None
    };
    let engine = match (
        profile.engine,
        resource.as_ref().and_then(|r| r.engine.as_deref()),
    ) {
        (Some(e), _) => e,
        (None, Some(rds)) if rds.contains("postgres") => Engine::Postgres,
        (None, Some(rds)) if rds.contains("mariadb") => Engine::Mariadb,
        (None, Some(rds)) if rds.contains("mysql") => Engine::Mysql,
        _ => match profile.family() {
            Some(family) => family.engine(),
            None => {
                return Err(Error::config(format!(
                    "profile '{name}' sets no engine, and the SQL differs per engine"
                ))
                .hint("set engine = \"postgres\", \"mysql\" or \"mariadb\" in the profile"));
            }
        },
    };
    check_user(engine, &profile.user)
        .map_err(|e| Error::config(format!("profile '{name}': {e}")))?;
    let (kind, resource_id) = match (&resource, &input.resource_id, given_kind) {
        (Some(r), _, _) => (r.kind, r.resource_id.clone()),
        (None, Some(id), Some(kind)) => (kind, id.clone()),
        _ => return Err(Error::usage("give --resource-id ID, or --lookup")),
    };
    let identifier = resource.as_ref().map(|r| r.identifier.clone()).or_else(|| {
        identifier_from_host(&profile.host)
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id)
    });
    let arn = resource_arn(&region, &account, &resource_id, &profile.user);
    let placeholder = match kind {
        Kind::Instance => "INSTANCE-ID",
        Kind::Cluster => "CLUSTER-ID",
        Kind::Proxy => "PROXY-NAME",
    };
    Ok(Plan {
        profile: name.to_string(),
        engine: engine.as_str(),
        host: profile.host.clone(),
        port: profile.port,
        user: profile.user.clone(),
        partition: partition(&region),
        account,
        policy: policy(&arn),
        sql: sql(engine, &profile.user, profile.set.database.as_deref()),
        database_sql: database_sql(engine, &profile.user, profile.set.database.as_deref()),
        broad_sql: broad_sql(engine, &profile.user, profile.set.database.as_deref()),
        database: profile.set.database.clone(),
        enable_iam: Some(enable_command(
            kind,
            identifier.as_deref().unwrap_or(placeholder),
            &region,
        )),
        resource: Some(PlanResource {
            kind,
            identifier,
            resource_id,
            iam_enabled: resource.as_ref().and_then(|r| r.iam_enabled),
            via_instance: resource.as_ref().and_then(|r| r.via_instance.clone()),
        }),
        cluster_id: None,
        principal: None,
        cache: None,
        commands: Vec::new(),
        resource_arn: arn,
        region,
    })
}

/// The DSQL plan: the policy on the cluster (`dsql:DbConnectAdmin` for `admin`, else
/// `dsql:DbConnect`) and, for any role but `admin`, the SQL that creates it and maps it to the
/// IAM principal: `--principal`, or with `--lookup` the caller's identity from STS.
fn dsql_plan(
    profile: &crate::config::Profile,
    name: &str,
    input: &Input,
) -> crate::error::Result<Plan> {
    use crate::error::Error;
    let (cluster_id, region) = crate::endpoint::dsql_cluster(&profile.host).ok_or_else(|| {
        Error::config(format!(
            "profile '{name}': {} is not an Aurora DSQL endpoint name (<cluster id>.dsql.<region>.on.aws), and setup reads the cluster from it",
            profile.host
        ))
    })?;
    if input.resource_id.is_some() {
        return Err(Error::usage(
            "--resource-id is for RDS; a DSQL cluster is named by the profile's endpoint",
        ));
    }
    check_user(Engine::Dsql, &profile.user)
        .map_err(|e| Error::config(format!("profile '{name}': {e}")))?;
    let admin = profile.user == "admin";
    let mut principal = match &input.principal {
        Some(arn) => {
            Some(principal_arn(arn).map_err(|e| Error::usage(format!("--principal: {e}")))?)
        }
        None => None,
    };
    let mut account = input.account.clone().or_else(|| {
        principal
            .as_deref()
            .and_then(|p| p.split(':').nth(4))
            .map(String::from)
    });
    if input.lookup || account.is_none() {
        let choice = crate::provider::cache_choice(profile, crate::provider::CacheMode::Use)?;
        let source = crate::provider::aws_source(profile, choice);
        crate::provider::resolve_credentials(&source, false, Some(&region))?;
        let identity = crate::helper::identity(&source, &region)?;
        if input.lookup && principal.is_none() {
            principal = Some(principal_arn(&identity.arn).map_err(Error::credentials)?);
        }
        account.get_or_insert(identity.account);
    }
    if !admin && principal.is_none() {
        return Err(Error::usage(format!(
            "role '{}' must be granted to an IAM role or user: give --principal ARN, or --lookup for the caller's own",
            profile.user
        )));
    }
    let account = account.unwrap_or_default();
    let action = if admin {
        "dsql:DbConnectAdmin"
    } else {
        "dsql:DbConnect"
    };
    let arn = format!(
        "arn:{}:dsql:{region}:{account}:cluster/{cluster_id}",
        partition(&region)
    );
    Ok(Plan {
        profile: name.to_string(),
        engine: Engine::Dsql.as_str(),
        host: profile.host.clone(),
        port: profile.port,
        user: profile.user.clone(),
        partition: partition(&region),
        account,
        policy: serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Action": action, "Resource": arn }]
        }),
        sql: dsql_sql(&profile.user, principal.as_deref()),
        database_sql: Vec::new(),
        broad_sql: Vec::new(),
        database: None,
        enable_iam: None,
        resource: None,
        cluster_id: Some(cluster_id),
        principal,
        cache: None,
        commands: Vec::new(),
        resource_arn: arn,
        region,
    })
}

/// Why a name cannot be an IAM-authenticated ElastiCache/MemoryDB user, if it cannot: for
/// IAM the user id must equal its name, and ids are 1-40 letters, digits and hyphens,
/// starting with a letter.
fn check_cache_user(user: &str) -> Result<(), String> {
    let ok = !user.is_empty()
        && user.len() <= 40
        && user.starts_with(|c: char| c.is_ascii_alphabetic())
        && user.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !user.ends_with('-')
        && !user.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{user:?} cannot be an IAM-authenticated user: its id must equal its name, and ids are 1-40 letters, digits and single hyphens, starting with a letter"
        ))
    }
}

/// The ElastiCache/MemoryDB plan: `elasticache:Connect` (or `memorydb:Connect`) on both the
/// cache and the user, and the AWS CLI commands that create the IAM-authenticated user and add
/// it to the cache's user group (MemoryDB: its ACL). `--lookup` reads the cache through its
/// API: the account, the engine and the group or ACL attached.
fn cache_plan(
    profile: &crate::config::Profile,
    name: &str,
    input: &Input,
) -> crate::error::Result<Plan> {
    use crate::error::Error;
    if input.resource_id.is_some() || input.principal.is_some() {
        return Err(Error::usage(
            "--resource-id and --principal are for RDS and DSQL; a cache is named by its profile",
        ));
    }
    let memorydb = profile.engine == Some(Engine::Memorydb);
    let cache_name = profile.signed_host().to_string();
    check_cache_user(&profile.user).map_err(|e| Error::config(format!("profile '{name}': {e}")))?;
    let region = crate::provider::static_region(profile)
        .map(|r| r.name)
        .ok_or_else(|| {
            Error::config(format!(
                "cannot tell which AWS region cache {cache_name} is in: its endpoint name does not say"
            ))
            .hint(format!("set region in profile '{name}'"))
        })?;
    let choice = crate::provider::cache_choice(profile, crate::provider::CacheMode::Use)?;
    let source = crate::provider::aws_source(profile, choice);
    let found = if input.lookup {
        crate::provider::resolve_credentials(&source, false, Some(&region))?;
        Some(crate::helper::cache_lookup(
            &source,
            &region,
            &cache_name,
            memorydb,
            profile.serverless,
        )?)
    } else {
        None
    };
    let account = match (
        &input.account,
        found.as_ref().and_then(|f| f.arn.split(':').nth(4)),
    ) {
        (Some(a), _) => a.clone(),
        (None, Some(a)) if !a.is_empty() => a.to_string(),
        (None, _) => {
            crate::provider::resolve_credentials(&source, false, Some(&region))?;
            crate::helper::identity(&source, &region)?.account
        }
    };
    let p = partition(&region);
    let user = &profile.user;
    let (service, cache_arn, user_arn) = if memorydb {
        (
            "memorydb",
            format!("arn:{p}:memorydb:{region}:{account}:cluster/{cache_name}"),
            format!("arn:{p}:memorydb:{region}:{account}:user/{user}"),
        )
    } else {
        let kind = if profile.serverless {
            "serverlesscache"
        } else {
            "replicationgroup"
        };
        (
            "elasticache",
            format!("arn:{p}:elasticache:{region}:{account}:{kind}:{cache_name}"),
            format!("arn:{p}:elasticache:{region}:{account}:user:{user}"),
        )
    };
    let engine = found
        .as_ref()
        .and_then(|f| f.engine.clone())
        .unwrap_or_else(|| "valkey".to_string());
    let user_groups = found
        .as_ref()
        .map(|f| f.user_groups.clone())
        .unwrap_or_default();
    let acl = found.as_ref().and_then(|f| f.acl.clone());
    let u = shell_word(user);
    let commands = if memorydb {
        let acl_name = shell_word(acl.as_deref().unwrap_or("ACL-NAME"));
        vec![
            format!(
                "aws memorydb create-user --user-name {u} --authentication-mode Type=iam --access-string 'on ~* &* +@all' --region {region}"
            ),
            format!(
                "aws memorydb update-acl --acl-name {acl_name} --user-names-to-add {u} --region {region}"
            ),
        ]
    } else {
        let group = shell_word(user_groups.first().map_or("USER-GROUP-ID", String::as_str));
        let engine_word = if engine == "redis" { "redis" } else { "valkey" };
        vec![
            format!(
                "aws elasticache create-user --user-id {u} --user-name {u} --engine {engine_word} --authentication-mode Type=iam --access-string 'on ~* +@all' --region {region}"
            ),
            format!(
                "aws elasticache modify-user-group --user-group-id {group} --user-ids-to-add {u} --region {region}"
            ),
        ]
    };
    Ok(Plan {
        profile: name.to_string(),
        engine: if memorydb {
            Engine::Memorydb.as_str()
        } else {
            Engine::Elasticache.as_str()
        },
        host: profile.host.clone(),
        port: profile.port,
        user: user.clone(),
        partition: p,
        account,
        policy: serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": format!("{service}:Connect"),
                "Resource": [cache_arn, user_arn],
            }]
        }),
        sql: Vec::new(),
        database_sql: Vec::new(),
        broad_sql: Vec::new(),
        database: None,
        enable_iam: None,
        resource: None,
        cluster_id: None,
        principal: None,
        cache: Some(PlanCache {
            name: cache_name,
            serverless: profile.serverless,
            arn: found
                .as_ref()
                .map(|f| f.arn.clone())
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| cache_arn.clone()),
            user_arn,
            engine,
            user_groups,
            acl,
        }),
        commands,
        resource_arn: cache_arn,
        region,
    })
}

impl Plan {
    /// The plan for a person: the three steps, each with its command, policy or SQL.
    pub fn render(&self) -> String {
        if self.engine == Engine::Dsql.as_str() {
            return self.render_dsql();
        }
        if let Some(cache) = &self.cache {
            return self.render_cache(cache);
        }
        let mut out = format!(
            "# iamdb setup for profile {}: {} on {}:{} ({}), account {}, {}\n",
            self.profile, self.user, self.host, self.port, self.engine, self.account, self.region
        );
        let Some(r) = &self.resource else {
            return out;
        };
        let what = match (&r.via_instance, r.identifier.as_deref()) {
            (Some(via), Some(id)) => format!("Aurora cluster {id} (of instance {via})"),
            (_, Some(id)) => format!("{} {id}", r.kind.as_str()),
            (_, None) => r.kind.as_str().to_string(),
        };
        out.push_str(&format!("# resource: {what}, {}\n\n", r.resource_id));
        let state = match r.iam_enabled {
            Some(true) => "it is on already; nothing to do",
            Some(false) => "it is OFF now",
            None => "skip if it is on already",
        };
        out.push_str(&format!(
            "# 1. Turn IAM database authentication on ({state}):\n{}\n\n",
            self.enable_iam.as_deref().unwrap_or_default()
        ));
        out.push_str(&self.policy_step(2, "users or roles that connect"));
        out.push_str(if self.engine == Engine::Postgres.as_str() {
            "# 3. Create the database user (as the master user, in psql):\n"
        } else {
            "# 3. Create the database user (as the master user, in mysql):\n"
        });
        if r.kind == Kind::Proxy {
            out.push_str(
                "#    (through a proxy with --default-auth-scheme IAM_AUTH; a proxy that logs in\n\
                 #    with Secrets Manager secrets needs the user's password secret instead)\n",
            );
        }
        for statement in &self.sql {
            out.push_str(statement);
            out.push('\n');
        }
        if !self.database_sql.is_empty() {
            // `\connect` takes the name as psql reads an identifier: in double quotes, as is.
            let db = postgres_ident(self.database.as_deref().unwrap_or_default());
            out.push_str(&format!(
                "-- In {db}: read and write the tables of schema public (and those you create later)\n\\connect {db}\n"
            ));
            for statement in &self.database_sql {
                out.push_str(statement);
                out.push('\n');
            }
        }
        if !self.broad_sql.is_empty() {
            out.push_str(
                "-- Only a user that changes the schema too (migrations: CREATE, ALTER, DROP) needs the broad grant:\n",
            );
            for statement in &self.broad_sql {
                out.push_str(&format!("-- {statement}\n"));
            }
        }
        out
    }

    /// Step `n`: the IAM policy for `who` (the same words and JSON for every engine).
    fn policy_step(&self, n: u8, who: &str) -> String {
        format!(
            "# {n}. Allow the IAM {who} (attach with `aws iam put-role-policy`,\n\
             #    `put-user-policy` or `create-policy`):\n{}\n\n",
            serde_json::to_string_pretty(&self.policy).unwrap_or_default()
        )
    }

    fn render_cache(&self, cache: &PlanCache) -> String {
        let what = match (self.engine, cache.serverless) {
            ("memorydb", _) => "MemoryDB cluster",
            (_, true) => "ElastiCache serverless cache",
            _ => "ElastiCache replication group",
        };
        let mut out = format!(
            "# iamdb setup for profile {}: user {} on {what} {} ({}), account {}, {}\n\n",
            self.profile, self.user, cache.name, self.host, self.account, self.region
        );
        out.push_str(&self.policy_step(1, "users or roles that connect"));
        let to = if self.engine == "memorydb" {
            match &cache.acl {
                Some(acl) => format!("add it to the cluster's ACL {acl}"),
                None => "add it to the cluster's ACL (see `aws memorydb describe-clusters`)".into(),
            }
        } else {
            match cache.user_groups.first() {
                Some(g) => format!("add it to the cache's user group {g}"),
                None => "add it to a user group attached to the cache".into(),
            }
        };
        out.push_str(&format!(
            "# 2. Create the IAM-authenticated user (its id is its name) and {to}:\n"
        ));
        for c in &self.commands {
            out.push_str(c);
            out.push('\n');
        }
        out.push_str(
            "# IAM connections are closed after 12 hours; MemoryDB's IAM users cannot use MULTI/EXEC.\n",
        );
        out
    }

    fn render_dsql(&self) -> String {
        let mut out = format!(
            "# iamdb setup for profile {}: role {} on {} (dsql), account {}, {}\n",
            self.profile, self.user, self.host, self.account, self.region
        );
        out.push_str(&format!(
            "# cluster: {}\n\n",
            self.cluster_id.as_deref().unwrap_or_default()
        ));
        out.push_str(&self.policy_step(1, "role or user that connects"));
        if self.sql.is_empty() {
            out.push_str(
                "# 2. Nothing to create: every cluster has the admin role, and dsql:DbConnectAdmin\n\
                 #    is all it takes.\n",
            );
            return out;
        }
        out.push_str(&format!(
            "# 2. Create the role and map it to {} (as admin, in psql):\n",
            self.principal.as_deref().unwrap_or("the IAM principal")
        ));
        for statement in &self.sql {
            out.push_str(statement);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_from_regions() {
        for (region, want) in [
            ("us-east-1", "aws"),
            ("eu-central-2", "aws"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("eusc-de-east-1", "aws-eusc"),
        ] {
            assert_eq!(partition(region), want, "{region}");
        }
    }

    #[test]
    fn resource_ids_and_endpoint_shapes() {
        assert_eq!(
            check_resource_id("db-ABCDEFGHIJKL01234"),
            Ok(Kind::Instance)
        );
        assert_eq!(
            check_resource_id("cluster-ABCDEFGHIJKL0"),
            Ok(Kind::Cluster)
        );
        assert_eq!(check_resource_id("prx-0123456789abcdef0"), Ok(Kind::Proxy));
        for bad in ["mydb", "db-", "db-ab/cd", "cluster-a b", "prx-x*", "DB-ABC"] {
            assert!(check_resource_id(bad).is_err(), "{bad}");
        }
        assert_eq!(
            identifier_from_host("mydb.c9akciq32.us-east-1.rds.amazonaws.com"),
            Some((Kind::Instance, "mydb".into()))
        );
        assert_eq!(
            identifier_from_host("Orders.cluster-ro-c9akciq32.eu-west-1.rds.amazonaws.com"),
            Some((Kind::Cluster, "orders".into()))
        );
        assert_eq!(
            identifier_from_host("edge.proxy-c9akciq32.eu-west-1.rds.amazonaws.com"),
            Some((Kind::Proxy, "edge".into()))
        );
        assert_eq!(identifier_from_host("db.internal.example.com"), None);
    }

    #[test]
    fn arns_keep_wildcards_literal() {
        assert_eq!(
            resource_arn("cn-north-1", "123456789012", "db-ABC", "jane_doe"),
            "arn:aws-cn:rds-db:cn-north-1:123456789012:dbuser:db-ABC/jane_doe"
        );
        assert_eq!(
            resource_arn("us-east-1", "123456789012", "prx-0a", "a*b?c$d"),
            "arn:aws:rds-db:us-east-1:123456789012:dbuser:prx-0a/a${*}b${?}c${$}d"
        );
    }

    #[test]
    fn sql_quotes_any_name() {
        assert_eq!(
            sql(Engine::Postgres, "a\"b", Some("shop")),
            [
                "CREATE USER \"a\"\"b\" WITH LOGIN;",
                "GRANT rds_iam TO \"a\"\"b\";",
                "GRANT CONNECT ON DATABASE \"shop\" TO \"a\"\"b\";"
            ]
        );
        assert_eq!(
            sql(Engine::Mysql, "it`s'; DROP", None),
            [
                "CREATE USER `it``s'; DROP`@`%` IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;"
            ]
        );
        // What an application user needs, not everything; the broad grant is apart.
        assert_eq!(
            sql(Engine::Mariadb, "app", Some("shop_1"))[1],
            "GRANT SELECT, INSERT, UPDATE, DELETE ON `shop\\_1`.* TO `app`@`%`;"
        );
        assert_eq!(
            broad_sql(Engine::Mysql, "app", Some("shop")),
            ["GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`;"]
        );
        let tables = database_sql(Engine::Postgres, "a\"b", Some("shop"));
        assert!(tables.contains(
            &"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"a\"\"b\";"
                .to_string()
        ));
        assert!(tables.iter().all(|s| !s.contains("ALL PRIVILEGES")));
        assert!(database_sql(Engine::Postgres, "app", None).is_empty());
        assert!(database_sql(Engine::Mysql, "app", Some("shop")).is_empty());
        assert!(check_user(Engine::Postgres, "line\nbreak").is_err());
        assert!(check_user(Engine::Postgres, &"x".repeat(64)).is_err());
        assert!(check_user(Engine::Mariadb, &"é".repeat(80)).is_ok());
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("mydb-1"), "mydb-1");
        assert_eq!(shell_word("it's $(x)"), "'it'\\''s $(x)'");
    }
}
