//! Role chains with MFA. aws-config assumes roles without ever sending an MFA code, so a
//! profile whose chain has `mfa_serial` is resolved here instead: the chain's base credentials
//! come from aws-config (keys, SSO, `aws login`, credential_process, or the first role's
//! `credential_source`), and each role is assumed with STS AssumeRole, with `SerialNumber` and
//! `TokenCode` on the hop that names a device.
//!
//! From the first MFA hop on, every session is kept in iamdb's stores (the same chain as
//! tokens), keyed by what changes it (see `iamdb_core::cache::SessionKey`), and served until
//! five minutes before its end. A missing session with no code for its device is not an
//! error: the answer asks iamdb for the code ([`Outcome::NeedMfa`]).

use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::profile::{Profile, ProfileSet};
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_types::error::display::DisplayErrorContext;

use iamdb_core::cache::{Cache, Session, SessionKey, unix};
use iamdb_core::error::{Error, Result};
use iamdb_core::protocol::{MfaChallenge, MfaCode, SessionInfo};

/// STS's default, and aws-config's, for a role session.
const DEFAULT_DURATION: u32 = 3600;

/// One AssumeRole of a chain.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The AWS profile that names the role.
    pub profile: String,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub duration: u32,
    pub mfa_serial: Option<String>,
    pub mfa_process: Option<String>,
}

/// Where the chain's first credentials come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Base {
    /// A profile aws-config resolves alone: keys, SSO, `aws login`, credential_process.
    Profile(String),
    /// The keys written in a profile that is its own `source_profile`.
    Keys(String),
    /// `credential_source` of the first role.
    Environment,
    Ec2InstanceMetadata,
    EcsContainer,
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub base: Base,
    /// From the base outwards: the last hop's credentials are the answer.
    pub hops: Vec<Hop>,
}

/// The chain of `name` when a hop of it needs an MFA code; None when aws-config resolves it
/// alone (no role, no device, web identity), and reports its own errors.
pub fn plan(set: &ProfileSet, name: &str) -> Result<Option<Chain>> {
    let mut hops = Vec::new();
    let mut current = name.to_string();
    let mut seen: Vec<String> = Vec::new();
    let base = loop {
        if seen.contains(&current) {
            seen.push(current);
            return Err(Error::credentials(format!(
                "the AWS profiles' source_profile settings go round in a circle: {}",
                seen.join(" -> ")
            )));
        }
        seen.push(current.clone());
        let Some(profile) = set.get_profile(&current) else {
            if hops.is_empty() {
                return Ok(None);
            }
            return Err(Error::credentials(format!(
                "AWS profile '{current}', the source_profile of '{}', is not defined",
                seen[seen.len() - 2]
            ))
            .hint(format!("add [profile {current}] to the AWS config")));
        };
        let Some(role_arn) = profile.get("role_arn") else {
            break Base::Profile(current);
        };
        if profile.get("web_identity_token_file").is_some() {
            return Ok(None);
        }
        hops.push(hop(profile, &current, role_arn)?);
        match (
            profile.get("source_profile"),
            profile.get("credential_source"),
        ) {
            (Some(src), _) if src == current => break Base::Keys(current),
            (Some(src), _) => current = src.to_string(),
            (None, Some(source)) => {
                break match source {
                    "Environment" => Base::Environment,
                    "Ec2InstanceMetadata" => Base::Ec2InstanceMetadata,
                    "EcsContainer" => Base::EcsContainer,
                    other => {
                        return Err(Error::credentials(format!(
                            "AWS profile '{current}' has credential_source = {other}, which is none of Environment, Ec2InstanceMetadata, EcsContainer"
                        )));
                    }
                };
            }
            (None, None) => return Ok(None),
        }
    };
    hops.reverse();
    if hops.iter().all(|h| h.mfa_serial.is_none()) {
        return Ok(None);
    }
    // `mfa_process` of the profile asked for serves every hop that has none of its own.
    let fallback = set
        .get_profile(name)
        .and_then(|p| p.get("mfa_process"))
        .map(String::from);
    for h in &mut hops {
        if h.mfa_process.is_none() {
            h.mfa_process = fallback.clone();
        }
    }
    Ok(Some(Chain { base, hops }))
}

fn hop(profile: &Profile, name: &str, role_arn: &str) -> Result<Hop> {
    let duration = match profile.get("duration_seconds") {
        None => DEFAULT_DURATION,
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (900..=43_200).contains(d))
            .ok_or_else(|| {
                Error::credentials(format!(
                    "AWS profile '{name}' has duration_seconds = {text}, not a number of seconds from 900 to 43200"
                ))
            })?,
    };
    Ok(Hop {
        profile: name.to_string(),
        role_arn: role_arn.to_string(),
        external_id: profile.get("external_id").map(String::from),
        session_name: profile.get("role_session_name").map(String::from),
        duration,
        mfa_serial: profile.get("mfa_serial").map(String::from),
        mfa_process: profile.get("mfa_process").map(String::from),
    })
}

/// The answer to a credentials call on a chain.
pub enum Outcome {
    Resolved(aws_credential_types::Credentials, Option<SessionInfo>),
    NeedMfa(MfaChallenge),
}

/// What a chain is resolved with.
pub struct Inputs<'a> {
    /// The AWS profile asked for (its endpoint settings reach STS).
    pub target: &'a str,
    pub region: &'a str,
    pub conf: &'a ProviderConfig,
    pub set: &'a ProfileSet,
    pub mfa: Option<&'a MfaCode>,
    /// Only sessions made since then (Unix milliseconds) are served.
    pub since: Option<u64>,
    pub cache: &'a mut Cache,
}

pub async fn resolve(chain: &Chain, inputs: Inputs<'_>) -> Result<Outcome> {
    let Inputs {
        target,
        region,
        conf,
        set,
        mfa,
        since,
        cache,
    } = inputs;
    let mut creds = base_credentials(&chain.base, conf, set).await?;
    let mut info = None;
    let mut cacheable = false;
    for hop in &chain.hops {
        cacheable |= hop.mfa_serial.is_some();
        let key = SessionKey {
            source: creds.access_key_id().to_string(),
            role_arn: hop.role_arn.clone(),
            mfa_serial: hop.mfa_serial.clone(),
            external_id: hop.external_id.clone(),
            session_name: hop.session_name.clone(),
            duration_seconds: hop.duration,
        };
        let now = SystemTime::now();
        if cacheable
            && let Some((backend, s)) = cache.get_session(&key, now)
            && since.is_none_or(|t| s.created_ms >= t)
        {
            tracing::debug!(role = %hop.role_arn, backend = backend.as_str(), remaining = s.remaining(now), "role session from the cache");
            if let Some(serial) = &hop.mfa_serial {
                info = Some(session_info(hop, serial, s.expires_at, true));
            }
            creds = aws_credential_types::Credentials::new(
                s.access_key_id.clone(),
                s.secret_access_key.clone(),
                Some(s.session_token.clone()),
                Some(SystemTime::UNIX_EPOCH + Duration::from_secs(s.expires_at)),
                "iamdb role session",
            );
            continue;
        }
        let code = match &hop.mfa_serial {
            None => None,
            Some(serial) => match mfa.filter(|m| &m.serial == serial) {
                Some(m) => Some(m.code.as_str()),
                None => {
                    return Ok(Outcome::NeedMfa(MfaChallenge {
                        aws_profile: hop.profile.clone(),
                        role_arn: hop.role_arn.clone(),
                        serial: serial.clone(),
                        mfa_process: hop.mfa_process.clone(),
                        key: key.digest(),
                    }));
                }
            },
        };
        let session = assume_role(&creds, hop, code, target, region).await?;
        let expires_at = session.expiry().map_or(0, unix);
        if let Some(serial) = &hop.mfa_serial {
            info = Some(session_info(hop, serial, expires_at, false));
        }
        if cacheable {
            let stored = cache.put_session(
                &Session {
                    key,
                    aws_profile: hop.profile.clone(),
                    access_key_id: session.access_key_id().to_string(),
                    secret_access_key: session.secret_access_key().to_string(),
                    session_token: session.session_token().unwrap_or_default().to_string(),
                    created_at: unix(now),
                    expires_at,
                    created_ms: millis(now),
                },
                now,
            );
            tracing::debug!(role = %hop.role_arn, backend = ?stored.map(|b| b.as_str()), "role session stored");
        }
        creds = session;
    }
    Ok(Outcome::Resolved(creds, info))
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn session_info(hop: &Hop, serial: &str, expires_at: u64, cached: bool) -> SessionInfo {
    SessionInfo {
        aws_profile: hop.profile.clone(),
        role_arn: hop.role_arn.clone(),
        serial: serial.to_string(),
        expiration: iamdb_core::when::rfc3339(i64::try_from(expires_at).unwrap_or(i64::MAX)),
        cached,
    }
}

async fn base_credentials(
    base: &Base,
    conf: &ProviderConfig,
    set: &ProfileSet,
) -> Result<aws_credential_types::Credentials> {
    let (result, name) = match base {
        Base::Profile(name) => (
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(name)
                .configure(conf)
                .build()
                .provide_credentials()
                .await,
            name.clone(),
        ),
        Base::Keys(name) => {
            let p = set.get_profile(name);
            let get = |k: &str| p.and_then(|p| p.get(k)).map(String::from);
            return match (get("aws_access_key_id"), get("aws_secret_access_key")) {
                (Some(id), Some(secret)) => Ok(aws_credential_types::Credentials::new(
                    id,
                    secret,
                    get("aws_session_token"),
                    None,
                    "profile keys",
                )),
                _ => Err(Error::credentials(format!(
                    "AWS profile '{name}' is its own source_profile but has no aws_access_key_id and aws_secret_access_key"
                ))),
            };
        }
        Base::Environment => (
            aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new()
                .provide_credentials()
                .await,
            "credential_source = Environment".into(),
        ),
        Base::Ec2InstanceMetadata => (
            aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                .configure(conf)
                .build()
                .provide_credentials()
                .await,
            "credential_source = Ec2InstanceMetadata".into(),
        ),
        Base::EcsContainer => (
            aws_config::ecs::EcsCredentialsProvider::builder()
                .configure(conf)
                .build()
                .provide_credentials()
                .await,
            "credential_source = EcsContainer".into(),
        ),
    };
    result.map_err(|e| crate::explain::credentials_error(&name, true, Some(set), &e))
}

/// STS AssumeRole for one hop, with the MFA code when the hop has a device. The STS client
/// takes its endpoint from the AWS profile asked for and the environment
/// (`AWS_ENDPOINT_URL_STS`), like aws-config's own.
async fn assume_role(
    source: &aws_credential_types::Credentials,
    hop: &Hop,
    code: Option<&str>,
    target: &str,
    region: &str,
) -> Result<aws_credential_types::Credentials> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .profile_name(target)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(SharedCredentialsProvider::new(source.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        );
    if let Some(client) = crate::network::http_client() {
        loader = loader.http_client(client);
    }
    let conf = loader.load().await;
    let session_name = hop
        .session_name
        .clone()
        .unwrap_or_else(|| format!("iamdb-{}", unix(SystemTime::now())));
    let sent_code = code.is_some();
    let out = aws_sdk_sts::Client::new(&conf)
        .assume_role()
        .role_arn(&hop.role_arn)
        .role_session_name(session_name)
        .duration_seconds(i32::try_from(hop.duration).unwrap_or(3600))
        .set_external_id(hop.external_id.clone())
        .set_serial_number(code.and(hop.mfa_serial.clone()))
        .set_token_code(code.map(String::from))
        .send()
        .await
        .map_err(|e| assume_role_error(hop, sent_code, &e))?;
    let c = out.credentials().ok_or_else(|| {
        Error::credentials(format!(
            "STS answered AssumeRole of {} without credentials",
            hop.role_arn
        ))
    })?;
    let expiry = SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(c.expiration().secs()).unwrap_or(0));
    Ok(aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        Some(expiry),
        "iamdb role session",
    ))
}

/// One line saying which role STS refused, whether a code was sent, and what to do.
fn assume_role_error(
    hop: &Hop,
    sent_code: bool,
    e: &aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError>,
) -> Error {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    if let Some(failure) = crate::network::from_sdk(e) {
        return Error::credentials(format!(
            "AssumeRole of {} for AWS profile '{}' failed: {}",
            hop.role_arn,
            hop.profile,
            failure.message()
        ))
        .hint(failure.hint());
    }
    let (code, message) = match e.as_service_error() {
        Some(s) => (
            s.code().unwrap_or_default().to_string(),
            s.message().unwrap_or_default().trim().to_string(),
        ),
        None => (String::new(), String::new()),
    };
    let device = hop.mfa_serial.as_deref().unwrap_or_default();
    if code == "AccessDenied" && message.contains("MultiFactorAuthentication") {
        return Error::credentials(format!(
            "STS refused the MFA code for {device} (assuming {} for AWS profile '{}'): {message}",
            hop.role_arn, hop.profile
        ))
        .hint("type the code the device shows now (each code works once); nothing was cached");
    }
    if code == "AccessDenied" {
        let with = if sent_code {
            format!("with an MFA code from {device}")
        } else {
            "without an MFA code".to_string()
        };
        return Error::credentials(format!(
            "STS refused AssumeRole of {} for AWS profile '{}' ({with}): {message}",
            hop.role_arn, hop.profile
        ))
        .hint("check the role's trust policy (who may assume it, and its MFA condition) and the caller's sts:AssumeRole permission");
    }
    let detail = if message.is_empty() {
        DisplayErrorContext(e).to_string().replace('\n', " ")
    } else {
        format!("{code}: {message}")
    };
    Error::credentials(format!(
        "AssumeRole of {} for AWS profile '{}' failed: {detail}",
        hop.role_arn, hop.profile
    ))
    .hint("check that STS (or AWS_ENDPOINT_URL_STS) answers")
}
