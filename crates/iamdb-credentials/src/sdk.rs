//! AWS credentials through aws-config: shared files, assume-role, web identity, SSO,
//! credential_process, ECS and EC2 metadata, on a single-threaded runtime.
//!
//! Only the `iamdb-credentials` helper calls this module. Linking aws-config (with tokio,
//! hyper, rustls and aws-lc) into `iamdb` itself tripled the cost of starting it, which is
//! the whole cost of a cache hit; see `provider::resolve_credentials`.

use std::error::Error as _;
use std::time::Duration;

use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;

use iamdb_core::credentials::{
    Region, Resolved, config_file, credentials_file, effective_profile, env_region,
};
use iamdb_core::error::{Error, Result};

/// How long an EC2 metadata probe may take where there may be no EC2: the SDK's default
/// (several attempts of 1 s each) would make every user off EC2 wait seconds for an error.
const IMDS_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const IMDS_READ_TIMEOUT: Duration = Duration::from_secs(1);

/// The aws-config half of `iamdb_core::provider::resolve_credentials`, with the same arguments, bounded by
/// `IAMDB_CREDENTIALS_TIMEOUT` (30 s).
pub fn resolve(
    aws_profile: Option<&str>,
    need_region: bool,
    sts_region: Option<&str>,
) -> Result<(Resolved, Option<Region>)> {
    let env_region = env_region();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    let limit = iamdb_core::env::get().credentials_timeout;
    adopt_orphans();
    runtime.block_on(async {
        match tokio::time::timeout(limit, resolve_async(aws_profile, need_region, sts_region, env_region)).await {
            Ok(r) => r,
            Err(_) => Err({
                // A credential_process still running past the deadline (and whatever it
                // started) would otherwise run on after iamdb gave up on it.
                kill_descendants();
                Error::credentials(format!(
                "AWS credentials for profile '{}' were not resolved within {} s",
                effective_profile(aws_profile),
                limit.as_secs()
            ))
            .hint("check that STS (or AWS_ENDPOINT_URL_STS), the SSO portal or your credential_process answer")}),
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

pub(crate) async fn resolve_async(
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
            credentials: iamdb_core::credentials::Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                credentials.session_token().map(String::from),
                credentials.expiry(),
            ),
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
