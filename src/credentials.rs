//! AWS credentials and the AWS-side region, resolved the way the AWS CLI resolves them.
//!
//! With `aws_profile` set (config or `--aws-profile`) only that profile is used, as with
//! `aws --profile NAME`: static keys, assume-role (`source_profile`, `credential_source`),
//! web identity, SSO and `credential_process`. Without it the default chain runs: environment,
//! the shared files (`AWS_PROFILE` or `default`), web identity, ECS, EC2 IMDSv2.
//!
//! Keys in the environment are read directly, with no async runtime and no file access: that
//! is the common case in CI and containers and it should cost nothing. Everything else goes
//! through aws-config on a single-threaded runtime that exists only on this path.

use std::error::Error as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;

use crate::error::{Error, Result};

/// How long an EC2 metadata probe may take where there may be no EC2: the SDK's default
/// (several attempts of 1 s each) would make every user off EC2 wait seconds for an error.
const IMDS_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const IMDS_READ_TIMEOUT: Duration = Duration::from_secs(1);

/// An upper bound on resolving credentials (STS, SSO, a credential_process...).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Environment variables that decide which identity signs, or where it comes from. They
/// are part of every cache key, so switching identity never serves another's token.
const IDENTITY_ENV: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn config_file() -> Option<PathBuf> {
    env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join("config")))
}

pub fn credentials_file() -> Option<PathBuf> {
    env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join("credentials")))
}

/// What selects the signing identity, as bytes to hash into a cache key: the identity
/// environment, and the paths and identity (inode, size, mtime) of the shared AWS files, so that editing
/// ~/.aws/credentials or ~/.aws/config drops tokens made with what was there before. Costs two
/// stat calls; the files are not read.
pub fn identity_material(aws_profile: Option<&str>) -> Vec<Vec<u8>> {
    let mut parts = vec![aws_profile.unwrap_or("").as_bytes().to_vec()];
    for name in IDENTITY_ENV {
        parts.push(
            std::env::var_os(name)
                .map(|v| v.into_encoded_bytes())
                .unwrap_or_default(),
        );
    }
    for file in [config_file(), credentials_file()].into_iter().flatten() {
        parts.push(file.as_os_str().as_encoded_bytes().to_vec());
        parts.push(file_stamp(&file));
    }
    parts
}

#[cfg(unix)]
fn file_stamp(path: &std::path::Path) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => format!(
            "{}:{}:{}:{}.{}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        )
        .into_bytes(),
        Err(_) => b"-".to_vec(),
    }
}

#[cfg(not(unix))]
fn file_stamp(path: &std::path::Path) -> Vec<u8> {
    match std::fs::metadata(path).and_then(|m| Ok((m.len(), m.modified()?))) {
        Ok((len, mtime)) => format!("{len}:{mtime:?}").into_bytes(),
        Err(_) => b"-".to_vec(),
    }
}

/// Resolved credentials and a word on where they came from.
pub struct Resolved {
    pub credentials: Credentials,
    pub source: String,
}

/// Where a region came from, for `-v` and `profile show`.
#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub source: String,
}

/// The region of the environment: `AWS_REGION`, then `AWS_DEFAULT_REGION`.
pub fn env_region() -> Option<Region> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| {
            env(name).map(|r| Region {
                name: r,
                source: format!("environment ({name})"),
            })
        })
}

/// Credentials straight from the environment, when the default chain would pick them.
fn from_env(aws_profile: Option<&str>) -> Result<Option<Resolved>> {
    if aws_profile.is_some() {
        return Ok(None);
    }
    let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) else {
        return Ok(None);
    };
    let session = env("AWS_SESSION_TOKEN").or_else(|| env("AWS_SECURITY_TOKEN"));
    let expiry = match env("AWS_CREDENTIAL_EXPIRATION") {
        Some(text) => Some(
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .map(SystemTime::from)
                .map_err(|_| {
                    Error::credentials(format!(
                        "AWS_CREDENTIAL_EXPIRATION={text:?} is not an RFC 3339 time"
                    ))
                    .hint("use a time like 2026-01-31T12:00:00Z, or unset it")
                })?,
        ),
        None => None,
    };
    Ok(Some(Resolved {
        credentials: Credentials::new(id, secret, session, expiry, "Environment"),
        source: "environment variables".into(),
    }))
}

/// The profile name aws-config will use: explicit, else AWS_PROFILE, else `default`.
fn effective_profile(aws_profile: Option<&str>) -> String {
    aws_profile
        .map(String::from)
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into())
}

/// Resolves credentials, and the region too when `need_region` is set (the host did not
/// name one and nothing else did). `sts_region` is the region STS calls go to when AWS config
/// names none: the database's own region.
pub fn resolve(
    aws_profile: Option<&str>,
    need_region: bool,
    sts_region: Option<&str>,
) -> Result<(Resolved, Option<Region>)> {
    let env_region = env_region();
    if let Some(resolved) = from_env(aws_profile)?
        && (!need_region || env_region.is_some())
    {
        return Ok((resolved, if need_region { env_region } else { None }));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match tokio::time::timeout(RESOLVE_TIMEOUT, resolve_async(aws_profile, need_region, sts_region, env_region)).await {
            Ok(r) => r,
            Err(_) => Err(Error::credentials(format!(
                "AWS credentials for profile '{}' were not resolved within {} s",
                effective_profile(aws_profile),
                RESOLVE_TIMEOUT.as_secs()
            ))
            .hint("check that STS (or AWS_ENDPOINT_URL_STS), the SSO portal or your credential_process answer")),
        }
    })
}

async fn resolve_async(
    aws_profile: Option<&str>,
    need_region: bool,
    sts_region: Option<&str>,
    env_region: Option<Region>,
) -> Result<(Resolved, Option<Region>)> {
    let profile_name = effective_profile(aws_profile);
    let profile_region = if env_region.is_none() {
        let provider = aws_config::profile::ProfileFileRegionProvider::builder()
            .profile_name(&profile_name)
            .build();
        use aws_config::meta::region::ProvideRegion;
        provider.region().await.map(|r| Region {
            name: r.to_string(),
            source: format!("AWS config (profile '{profile_name}')"),
        })
    } else {
        None
    };
    let aws_region = env_region.or(profile_region);
    let sdk_region = aws_region
        .as_ref()
        .map(|r| r.name.clone())
        .or(sts_region.map(String::from));
    let sdk_region = sdk_region.map(aws_config::Region::new);
    let conf = ProviderConfig::default().with_region(sdk_region.clone());

    let result = match aws_profile {
        Some(name) => {
            let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(name)
                .configure(&conf)
                .build();
            provider.provide_credentials().await
        }
        None => {
            let imds = aws_config::imds::Client::builder()
                .max_attempts(1)
                .connect_timeout(IMDS_CONNECT_TIMEOUT)
                .read_timeout(IMDS_READ_TIMEOUT)
                .build();
            let mut builder =
                aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .imds_client(imds);
            // Without a region the builder runs its own region chain, which asks EC2 metadata.
            if let Some(region) = sdk_region {
                builder = builder.region(region);
            }
            let chain = builder.configure(conf).build().await;
            chain.provide_credentials().await
        }
    };
    let credentials =
        result.map_err(|e| credentials_error(&profile_name, aws_profile.is_some(), &e))?;
    let source = match aws_profile {
        Some(name) => format!("AWS profile '{name}'"),
        None => "the default credential chain".to_string(),
    };
    Ok((
        Resolved {
            credentials,
            source,
        },
        if need_region { aws_region } else { None },
    ))
}

/// One line saying what failed and why, and what to run to fix it.
fn credentials_error(
    profile: &str,
    explicit: bool,
    e: &aws_credential_types::provider::error::CredentialsError,
) -> Error {
    let mut chain = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !chain.iter().any(|c| c.contains(&text)) {
            chain.push(text);
        }
        source = s.source();
    }
    let detail = chain.join(": ").replace('\n', " ");
    let lower = detail.to_ascii_lowercase();
    if lower.contains("sso") {
        return Error::credentials(format!(
            "no AWS credentials for profile '{profile}': {detail}"
        ))
        .hint(format!(
            "run `aws sso login --profile {profile}` and try again"
        ));
    }
    if !explicit && (lower.contains("imds") || lower.contains("no providers in chain")) {
        // The default chain reports only its last provider (EC2 metadata), which says little.
        return Error::credentials(format!(
            "no AWS credentials found: none in the environment, none for profile '{profile}' in ~/.aws, \
             no web identity, container or EC2 instance role ({detail})"
        ))
        .hint("set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws configure` or `aws sso login`, or name a profile with --aws-profile");
    }
    if explicit && lower.contains("not enabled") {
        let files = [config_file(), credentials_file()]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        return Error::credentials(format!("AWS profile '{profile}' is not defined, or has no credentials, in {files}"))
            .hint(format!("add [profile {profile}] to the AWS config (`aws configure --profile {profile}`), or fix aws_profile / --aws-profile"));
    }
    let err = Error::credentials(format!(
        "no AWS credentials for profile '{profile}': {detail}"
    ));
    if explicit && (lower.contains("not defined") || lower.contains("could not find")) {
        err.hint(format!(
            "add [profile {profile}] to ~/.aws/config, or fix aws_profile / --aws-profile"
        ))
    } else {
        err.hint(format!(
            "check the profile with `aws sts get-caller-identity --profile {profile}`"
        ))
    }
}

/// Fails when the credentials have already expired: signing works offline, so expired
/// credentials would make a token that looks right and fails at login.
pub fn check_not_expired(resolved: &Resolved, now: SystemTime) -> Result<()> {
    if let Some(expiry) = resolved.credentials.expiry()
        && expiry <= now
    {
        let when = time::OffsetDateTime::from(expiry)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        return Err(Error::credentials(format!(
            "the AWS credentials from {} expired at {when}",
            resolved.source
        ))
        .hint("refresh them (for SSO: `aws sso login`) and try again"));
    }
    Ok(())
}
