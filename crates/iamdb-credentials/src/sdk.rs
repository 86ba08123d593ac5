//! AWS credentials through aws-config: shared files, assume-role, web identity, SSO,
//! credential_process, ECS and EC2 metadata, on a single-threaded runtime.
//!
//! Only the `iamdb-credentials` helper calls this module. Linking aws-config (with tokio,
//! hyper, rustls and aws-lc) into `iamdb` itself tripled the cost of starting it, which is
//! the whole cost of a cache hit; see `provider::resolve_credentials`.

use std::time::Duration;

use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;

use aws_config::profile::ProfileSet;

use iamdb_core::credentials::{Region, Resolved, effective_profile, env_region};
use iamdb_core::error::{Error, Result};
use iamdb_core::protocol::{MfaChallenge, MfaCode};
use iamdb_core::settings::Choice;

/// What a credentials call asks for (see `iamdb_core::protocol::Call::Credentials`).
#[derive(Clone, Copy)]
pub struct Ask<'a> {
    pub aws_profile: Option<&'a str>,
    pub need_region: bool,
    pub sts_region: Option<&'a str>,
    pub mfa: Option<&'a MfaCode>,
    pub since: Option<u64>,
    pub sessions: Choice,
}

/// Credentials (with the region, when asked for), or the MFA code a role session needs.
pub enum Resolution {
    Resolved(Resolved, Option<Region>),
    NeedMfa(MfaChallenge),
}

/// How long an EC2 metadata probe may take where there may be no EC2: the SDK's default
/// (several attempts of 1 s each) would make every user off EC2 wait seconds for an error.
const IMDS_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const IMDS_READ_TIMEOUT: Duration = Duration::from_secs(1);

/// The aws-config half of `iamdb_core::provider::resolve_credentials`, with the same arguments, bounded by
/// `IAMDB_CREDENTIALS_TIMEOUT` (30 s).
pub fn resolve(ask: Ask<'_>) -> Result<Resolution> {
    let env_region = env_region();
    let aws_profile = ask.aws_profile;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    let limit = iamdb_core::env::get().credentials_timeout;
    adopt_orphans();
    runtime.block_on(async {
        match tokio::time::timeout(limit, resolve_async(ask, env_region)).await {
            Ok(r) => r,
            Err(_) => Err({
                // A credential_process still running past the deadline (and whatever it
                // started) would otherwise run on after iamdb gave up on it.
                kill_descendants();
                // A request still unanswered is what the wait was for.
                if let Some(endpoint) = crate::network::pending() {
                    let failure = crate::network::Failure {
                        endpoint: Some(endpoint),
                        cause: crate::network::Cause::Timeout(Some(limit)),
                    };
                    Error::credentials(format!(
                        "no AWS credentials for profile '{}': {}",
                        effective_profile(aws_profile),
                        failure.message()
                    ))
                    .hint(failure.hint())
                } else {
                    Error::credentials(format!(
                        "AWS credentials for profile '{}' were not resolved within {} s",
                        effective_profile(aws_profile),
                        limit.as_secs()
                    ))
                    .hint("check that STS (or AWS_ENDPOINT_URL_STS), the SSO portal or your credential_process answer")
                }
            }),
        }
    })
}

/// Makes this process the reaper of its orphaned descendants (Linux): when a
/// `credential_process` shell exits and leaves a child behind, that child becomes ours, so that
/// [`kill_descendants`] can still find it.
fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_CHILD_SUBREAPER takes a plain integer and affects only this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
}

/// Kills every process this one started that is still running (the credential_process and
/// its children), Linux: children are found in /proc by their parent id; orphans of theirs
/// come back to this process (see [`adopt_orphans`]) and are found in the next round.
fn kill_descendants() {
    #[cfg(target_os = "linux")]
    {
        let me = std::process::id();
        for _ in 0..50 {
            let children: Vec<i32> = std::fs::read_dir("/proc")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| parent_of(*pid) == Some(me))
                .collect();
            if children.is_empty() {
                return;
            }
            for pid in children {
                // SAFETY: kill and waitpid on a child of this process, found just above.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
            }
        }
    }
}

/// The parent process id in /proc/PID/stat (after the command name, which may hold spaces).
#[cfg(target_os = "linux")]
fn parent_of(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The AWS config files as aws-config reads them; None when they cannot be read or parsed
/// (aws-config then reports that itself).
async fn profile_set() -> Option<ProfileSet> {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
        .await
        .map_err(|e| tracing::debug!(error = %e, "AWS config not read"))
        .ok()
}

pub(crate) async fn resolve_async(ask: Ask<'_>, env_region: Option<Region>) -> Result<Resolution> {
    let Ask {
        aws_profile,
        need_region,
        sts_region,
        ..
    } = ask;
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
    let mut conf = ProviderConfig::default().with_region(sdk_region.clone());
    if let Some(client) = crate::network::http_client() {
        conf = conf.with_http_client(client);
    }
    let set = profile_set().await;

    // A role chain with an MFA device is iamdb's to resolve (aws-config would assume the role
    // without a code). Keys in the environment come first in the default chain.
    let env_keys = std::env::var_os("AWS_ACCESS_KEY_ID").is_some_and(|v| !v.is_empty());
    if let Some(set) = &set
        && (aws_profile.is_some() || !env_keys)
        && let Some(chain) = crate::roles::plan(set, &profile_name)?
    {
        let region = sdk_region
            .as_ref()
            .map_or_else(|| "us-east-1".to_string(), |r| r.to_string());
        let mut cache =
            iamdb_core::cache::Cache::new(ask.sessions, iamdb_core::env::get().keyring_timeout);
        let outcome = crate::roles::resolve(
            &chain,
            crate::roles::Inputs {
                target: &profile_name,
                region: &region,
                conf: &conf,
                set,
                mfa: ask.mfa,
                since: ask.since,
                cache: &mut cache,
            },
        )
        .await?;
        return Ok(match outcome {
            crate::roles::Outcome::NeedMfa(c) => Resolution::NeedMfa(c),
            crate::roles::Outcome::Resolved(c, session) => {
                let how = match &session {
                    Some(s) if s.cached => ", through a cached MFA role session",
                    Some(_) => ", through a new MFA role session",
                    None => "",
                };
                Resolution::Resolved(
                    Resolved {
                        credentials: iamdb_core::credentials::Credentials::new(
                            c.access_key_id(),
                            c.secret_access_key(),
                            c.session_token().map(String::from),
                            c.expiry(),
                        ),
                        source: format!("AWS profile '{profile_name}'{how}"),
                        session,
                    },
                    if need_region { aws_region } else { None },
                )
            }
        });
    }

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
    let credentials = result.map_err(|e| {
        crate::explain::credentials_error(&profile_name, aws_profile.is_some(), set.as_ref(), &e)
    })?;
    let source = match aws_profile {
        Some(name) => format!("AWS profile '{name}'"),
        None => "the default credential chain".to_string(),
    };
    Ok(Resolution::Resolved(
        Resolved {
            credentials: iamdb_core::credentials::Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                credentials.session_token().map(String::from),
                credentials.expiry(),
            ),
            source,
            session: None,
        },
        if need_region { aws_region } else { None },
    ))
}
