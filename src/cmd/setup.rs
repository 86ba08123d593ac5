//! `iamdb setup PROFILE`: the IAM policy, the SQL and the enable-IAM command for one profile,
//! with the account from STS and the resource id given or looked up through the RDS API.

use std::path::Path;

use serde_json::json;

use crate::cli::{Format, SetupArgs};
use iamdb_core::config::{Config, Engine, Settings};
use iamdb_core::credentials;
use iamdb_core::error::{Error, Result};
use iamdb_core::helper;
use iamdb_core::protocol::Resource;
use iamdb_core::provider;
use iamdb_core::setup::{self, Kind};

pub fn run(config_path: Option<&Path>, args: SetupArgs) -> Result<()> {
    let config = Config::load(config_path)?;
    let profile = config.resolve(Some(&args.profile), Settings::default())?;
    if let Some(account) = &args.account
        && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::usage(format!(
            "--account {account:?} is not an AWS account id (12 digits)"
        )));
    }
    let given_kind = match &args.resource_id {
        Some(id) => Some(setup::check_resource_id(id).map_err(Error::usage)?),
        None => None,
    };

    let region = match provider::static_region(&profile) {
        Some(r) => r.name,
        None => credentials::resolve(profile.aws_profile.as_deref(), true, None)?
            .1
            .map(|r| r.name)
            .ok_or_else(|| {
                Error::config(format!(
                    "cannot tell which AWS region {} is in",
                    profile.host
                ))
                .hint(format!(
                    "set region in profile '{}', or AWS_REGION",
                    args.profile
                ))
            })?,
    };
    let aws_profile = profile.aws_profile.as_deref();
    let account = match &args.account {
        Some(a) => a.clone(),
        None => helper::identity(aws_profile, &region)?.account,
    };

    let resource: Option<Resource> = if args.lookup {
        Some(helper::lookup(aws_profile, &region, &profile.host)?)
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
        _ => {
            return Err(Error::config(format!(
                "profile '{}' sets no engine, and the SQL differs per engine",
                args.profile
            ))
            .hint("set engine = \"postgres\", \"mysql\" or \"mariadb\" in the profile"));
        }
    };
    setup::check_user(engine, &profile.user)
        .map_err(|e| Error::config(format!("profile '{}': {e}", args.profile)))?;

    let (kind, resource_id) = match (&resource, &args.resource_id, given_kind) {
        (Some(r), _, _) => (r.kind, r.resource_id.clone()),
        (None, Some(id), Some(kind)) => (kind, id.clone()),
        _ => unreachable!("clap requires --resource-id or --lookup"),
    };
    let identifier = resource.as_ref().map(|r| r.identifier.clone()).or_else(|| {
        setup::identifier_from_host(&profile.host)
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id)
    });
    let arn = setup::resource_arn(&region, &account, &resource_id, &profile.user);
    let policy = setup::policy(&arn);
    let sql = setup::sql(engine, &profile.user, profile.database.as_deref());
    let placeholder = match kind {
        Kind::Instance => "INSTANCE-ID",
        Kind::Cluster => "CLUSTER-ID",
        Kind::Proxy => "PROXY-NAME",
    };
    let enable = setup::enable_command(kind, identifier.as_deref().unwrap_or(placeholder), &region);
    let iam_enabled = resource.as_ref().and_then(|r| r.iam_enabled);

    match args.format {
        Format::Json => {
            let doc = json!({
                "profile": args.profile,
                "engine": engine.as_str(),
                "host": profile.host,
                "port": profile.port,
                "user": profile.user,
                "region": region,
                "partition": setup::partition(&region),
                "account": account,
                "resource": {
                    "kind": kind,
                    "identifier": identifier,
                    "resource_id": resource_id,
                    "iam_enabled": iam_enabled,
                    "via_instance": resource.as_ref().and_then(|r| r.via_instance.clone()),
                },
                "resource_arn": arn,
                "policy": policy,
                "sql": sql,
                "enable_iam": enable,
            });
            super::print(&format!("{doc}\n"))
        }
        Format::Text => {
            let mut out = format!(
                "# iamdb setup for profile {}: {} on {}:{} ({}), account {account}, {region}\n",
                args.profile,
                profile.user,
                profile.host,
                profile.port,
                engine.as_str()
            );
            let what = match (&resource, identifier.as_deref()) {
                (Some(r), _) if r.via_instance.is_some() => format!(
                    "Aurora cluster {} (of instance {})",
                    r.identifier,
                    r.via_instance.as_deref().unwrap_or_default()
                ),
                (_, Some(id)) => format!("{} {id}", kind.as_str()),
                (_, None) => kind.as_str().to_string(),
            };
            out.push_str(&format!("# resource: {what}, {resource_id}\n\n"));
            let state = match iam_enabled {
                Some(true) => "it is on already; nothing to do",
                Some(false) => "it is OFF now",
                None => "skip if it is on already",
            };
            out.push_str(&format!(
                "# 1. Turn IAM database authentication on ({state}):\n{enable}\n\n"
            ));
            out.push_str(
                "# 2. Allow the IAM users or roles that connect (attach with `aws iam put-role-policy`,\n\
                 #    `put-user-policy` or `create-policy`):\n",
            );
            out.push_str(&serde_json::to_string_pretty(&policy).unwrap_or_default());
            out.push_str("\n\n");
            let who = match engine {
                Engine::Postgres => {
                    "# 3. Create the database user (as the master user, in psql):\n"
                }
                _ => "# 3. Create the database user (as the master user, in mysql):\n",
            };
            out.push_str(who);
            if kind == Kind::Proxy {
                out.push_str(
                    "#    (through a proxy with --default-auth-scheme IAM_AUTH; a proxy that logs in\n\
                     #    with Secrets Manager secrets needs the user's password secret instead)\n",
                );
            }
            for statement in &sql {
                out.push_str(statement);
                out.push('\n');
            }
            super::print(&out)
        }
    }
}
