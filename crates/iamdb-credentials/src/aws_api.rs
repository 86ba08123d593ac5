//! The AWS API calls behind `iamdb doctor` and `iamdb setup --lookup`: STS GetCallerIdentity
//! (who signs, and the time AWS reports), RDS DescribeDBInstances / DescribeDBClusters /
//! DescribeDBProxies (which resource an endpoint belongs to), and ElastiCache
//! DescribeReplicationGroups / DescribeServerlessCaches and MemoryDB DescribeClusters (a
//! cache's ARN, user groups or ACL). Only the `iamdb-credentials`
//! helper links this module, like `sdk`. Every call has short timeouts and at most two
//! attempts: a diagnosis must answer in seconds, not hang.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use iamdb_core::error::{Error, Result};
use iamdb_core::setup::Kind;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

pub use iamdb_core::protocol::{Identity, Resource};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

/// SDK config with the credentials iamdb would sign with, the given region, endpoint
/// overrides (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_RDS`, profile `endpoint_url`) and short
/// timeouts.
async fn sdk_config(
    aws_profile: Option<&str>,
    region: &str,
    sessions: iamdb_core::settings::Choice,
) -> Result<(aws_config::SdkConfig, iamdb_core::credentials::Resolved)> {
    let ask = crate::sdk::Ask {
        aws_profile,
        need_region: false,
        sts_region: Some(region),
        mfa: None,
        since: None,
        sessions,
    };
    let resolved =
        match crate::sdk::resolve_async(ask, iamdb_core::credentials::env_region()).await? {
            crate::sdk::Resolution::Resolved(r, _) => r,
            crate::sdk::Resolution::NeedMfa(c) => {
                return Err(Error::credentials(format!(
                    "AWS profile '{}' needs an MFA code for {} and has no role session",
                    c.aws_profile, c.serial
                ))
                .hint("run `iamdb login` for the profile first"));
            }
        };
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new(
                resolved.credentials.access_key_id(),
                resolved.credentials.secret_access_key(),
                resolved.credentials.session_token().map(String::from),
                resolved.credentials.expiry(),
                "iamdb",
            ),
        ))
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(client) = crate::network::http_client() {
        loader = loader.http_client(client);
    }
    if let Some(p) = aws_profile {
        loader = loader.profile_name(p);
    }
    Ok((loader.load().await, resolved))
}

/// One line for a failed API call: where the network failed, if it did (with a hint that fits
/// it), or the SDK's error (with `otherwise` as the hint).
fn api_error<E>(what: &str, e: &SdkError<E, HttpResponse>, otherwise: Option<&str>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(failure) = crate::network::from_sdk(e) {
        return Error::credentials(format!("{what} failed: {}", failure.message()))
            .hint(failure.hint());
    }
    let text = DisplayErrorContext(e).to_string().replace('\n', " ");
    let error = Error::credentials(format!("{what} failed: {text}"));
    match otherwise {
        Some(hint) => error.hint(hint),
        None => error,
    }
}

/// Remembers the `Date` header of the last response.
#[derive(Debug, Default, Clone)]
struct DateHeader(Arc<Mutex<Option<String>>>);

impl Intercept for DateHeader {
    fn name(&self) -> &'static str {
        "iamdb-date-header"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date")
            && let Ok(mut slot) = self.0.lock()
        {
            *slot = Some(date.to_string());
        }
        Ok(())
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) as Unix seconds.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text.trim(), format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// STS GetCallerIdentity with the profile's credentials.
pub fn identity(
    aws_profile: Option<&str>,
    region: &str,
    sessions: iamdb_core::settings::Choice,
) -> Result<Identity> {
    runtime()?.block_on(async {
        let (conf, resolved) = sdk_config(aws_profile, region, sessions).await?;
        let date = DateHeader::default();
        let out = aws_sdk_sts::Client::new(&conf)
            .get_caller_identity()
            .customize()
            .interceptor(date.clone())
            .send()
            .await
            .map_err(|e| {
                api_error(
                    "STS GetCallerIdentity",
                    &e,
                    Some("the credentials were refused; check them with `aws sts get-caller-identity`"),
                )
            })?;
        let server_time = date
            .0
            .lock()
            .ok()
            .and_then(|d| d.as_deref().and_then(parse_http_date));
        Ok(Identity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
            user_id: out.user_id().unwrap_or_default().to_string(),
            server_time,
            source: resolved.source.clone(),
            expiration: resolved
                .credentials
                .expiry()
                .map(|t| iamdb_core::when::rfc3339(iamdb_core::when::unix(t))),
        })
    })
}

fn same_host(a: Option<&str>, host: &str) -> bool {
    a.is_some_and(|a| {
        a.trim_end_matches('.')
            .eq_ignore_ascii_case(host.trim_end_matches('.'))
    })
}

/// The resource behind `host`, found by the identifier its name shows and, failing that, by
/// reading every instance, cluster and proxy of the region for one whose endpoint it is.
pub fn lookup(
    aws_profile: Option<&str>,
    region: &str,
    host: &str,
    sessions: iamdb_core::settings::Choice,
) -> Result<Resource> {
    runtime()?.block_on(async {
        let (conf, _) = sdk_config(aws_profile, region, sessions).await?;
        let rds = aws_sdk_rds::Client::new(&conf);
        let guess = iamdb_core::setup::identifier_from_host(host);
        let order = match guess.as_ref().map(|g| g.0) {
            Some(Kind::Cluster) => [Kind::Cluster, Kind::Instance, Kind::Proxy],
            Some(Kind::Proxy) => [Kind::Proxy, Kind::Instance, Kind::Cluster],
            _ => [Kind::Instance, Kind::Cluster, Kind::Proxy],
        };
        for kind in order {
            let found = match kind {
                Kind::Instance => find_instance(&rds, host).await?,
                Kind::Cluster => find_cluster(&rds, host).await?,
                Kind::Proxy => find_proxy(&rds, host).await?,
            };
            if let Some(found) = found {
                return Ok(found);
            }
        }
        Err(Error::config(format!(
            "no RDS instance, Aurora cluster or RDS Proxy in {region} has the endpoint {host}"
        ))
        .hint("check the profile's host and region, or give the id with --resource-id"))
    })
}

/// The ElastiCache replication group or serverless cache, or the MemoryDB cluster, `name`.
pub fn cache_lookup(
    aws_profile: Option<&str>,
    region: &str,
    name: &str,
    memorydb: bool,
    serverless: bool,
    sessions: iamdb_core::settings::Choice,
) -> Result<iamdb_core::protocol::CacheResource> {
    use iamdb_core::protocol::CacheResource;
    runtime()?.block_on(async {
        let (conf, _) = sdk_config(aws_profile, region, sessions).await?;
        let missing = |what: &str| {
            Error::config(format!("no {what} named {name} in {region}"))
                .hint("check the profile's cache_name (or host) and region")
        };
        if memorydb {
            let out = aws_sdk_memorydb::Client::new(&conf)
                .describe_clusters()
                .cluster_name(name)
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error()
                        .is_some_and(|s| s.is_cluster_not_found_fault())
                    {
                        missing("MemoryDB cluster")
                    } else {
                        api_error(
                            "MemoryDB DescribeClusters",
                            &e,
                            Some("the identity needs memorydb:DescribeClusters"),
                        )
                    }
                })?;
            let c = out
                .clusters()
                .first()
                .ok_or_else(|| missing("MemoryDB cluster"))?;
            return Ok(CacheResource {
                arn: c.arn().unwrap_or_default().to_string(),
                engine: c.engine().map(String::from),
                user_groups: Vec::new(),
                acl: c.acl_name().map(String::from),
                status: c.status().map(String::from),
            });
        }
        let ec = aws_sdk_elasticache::Client::new(&conf);
        if serverless {
            let out = ec
                .describe_serverless_caches()
                .serverless_cache_name(name)
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error()
                        .is_some_and(|s| s.is_serverless_cache_not_found_fault())
                    {
                        missing("ElastiCache serverless cache")
                    } else {
                        api_error(
                            "ElastiCache DescribeServerlessCaches",
                            &e,
                            Some("the identity needs elasticache:DescribeServerlessCaches"),
                        )
                    }
                })?;
            let c = out
                .serverless_caches()
                .first()
                .ok_or_else(|| missing("ElastiCache serverless cache"))?;
            return Ok(CacheResource {
                arn: c.arn().unwrap_or_default().to_string(),
                engine: c.engine().map(String::from),
                user_groups: c.user_group_id().map(String::from).into_iter().collect(),
                acl: None,
                status: c.status().map(String::from),
            });
        }
        let out = ec
            .describe_replication_groups()
            .replication_group_id(name)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_replication_group_not_found_fault())
                {
                    missing("ElastiCache replication group")
                } else {
                    api_error(
                        "ElastiCache DescribeReplicationGroups",
                        &e,
                        Some("the identity needs elasticache:DescribeReplicationGroups"),
                    )
                }
            })?;
        let g = out
            .replication_groups()
            .first()
            .ok_or_else(|| missing("ElastiCache replication group"))?;
        Ok(CacheResource {
            arn: g.arn().unwrap_or_default().to_string(),
            engine: g.engine().map(String::from),
            user_groups: g.user_group_ids().to_vec(),
            acl: None,
            status: g.status().map(String::from),
        })
    })
}

async fn find_instance(rds: &aws_sdk_rds::Client, host: &str) -> Result<Option<Resource>> {
    let mut pages = rds.describe_db_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            api_error(
                "RDS DescribeDBInstances",
                &e,
                Some("the identity needs rds:DescribeDBInstances, DescribeDBClusters and DescribeDBProxies; or give --resource-id"),
            )
        })?;
        for db in page.db_instances() {
            if !same_host(db.endpoint().and_then(|e| e.address()), host) {
                continue;
            }
            let identifier = db.db_instance_identifier().unwrap_or_default().to_string();
            if let Some(cluster) = db.db_cluster_identifier() {
                // Aurora grants IAM on the cluster, whichever instance one dials.
                let out = rds
                    .describe_db_clusters()
                    .db_cluster_identifier(cluster)
                    .send()
                    .await
                    .map_err(|e| api_error("RDS DescribeDBClusters", &e, None))?;
                if let Some(c) = out.db_clusters().first() {
                    return Ok(Some(cluster_resource(c, Some(identifier))));
                }
            }
            return Ok(Some(Resource {
                kind: Kind::Instance,
                identifier,
                resource_id: db.dbi_resource_id().unwrap_or_default().to_string(),
                engine: db.engine().map(String::from),
                iam_enabled: db.iam_database_authentication_enabled(),
                via_instance: None,
            }));
        }
    }
    Ok(None)
}

fn cluster_resource(c: &aws_sdk_rds::types::DbCluster, via: Option<String>) -> Resource {
    Resource {
        kind: Kind::Cluster,
        identifier: c.db_cluster_identifier().unwrap_or_default().to_string(),
        resource_id: c.db_cluster_resource_id().unwrap_or_default().to_string(),
        engine: c.engine().map(String::from),
        iam_enabled: c.iam_database_authentication_enabled(),
        via_instance: via,
    }
}

async fn find_cluster(rds: &aws_sdk_rds::Client, host: &str) -> Result<Option<Resource>> {
    let mut pages = rds.describe_db_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("RDS DescribeDBClusters", &e, None))?;
        for c in page.db_clusters() {
            let endpoints = [c.endpoint(), c.reader_endpoint()]
                .into_iter()
                .chain(c.custom_endpoints().iter().map(|s| Some(s.as_str())));
            if endpoints.into_iter().any(|e| same_host(e, host)) {
                return Ok(Some(cluster_resource(c, None)));
            }
        }
    }
    Ok(None)
}

async fn find_proxy(rds: &aws_sdk_rds::Client, host: &str) -> Result<Option<Resource>> {
    let mut pages = rds.describe_db_proxies().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("RDS DescribeDBProxies", &e, None))?;
        for p in page.db_proxies() {
            if !same_host(p.endpoint(), host) {
                continue;
            }
            // The proxy's resource id is the last part of its ARN: ...:db-proxy:prx-0123abcd.
            let arn = p.db_proxy_arn().unwrap_or_default();
            let resource_id = arn.rsplit(':').next().unwrap_or_default().to_string();
            let iam = p.default_auth_scheme() == Some("IAM_AUTH")
                || p.auth().iter().any(|a| {
                    a.iam_auth()
                        .is_some_and(|m| m.as_str() == "REQUIRED" || m.as_str() == "ENABLED")
                });
            return Ok(Some(Resource {
                kind: Kind::Proxy,
                identifier: p.db_proxy_name().unwrap_or_default().to_string(),
                resource_id,
                engine: p.engine_family().map(str::to_ascii_lowercase),
                iam_enabled: Some(iam),
                via_instance: None,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(
            super::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(super::parse_http_date("yesterday"), None);
    }
}
