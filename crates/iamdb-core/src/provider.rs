//! Getting a token for a profile: from the cache when a fresh one is there, otherwise signed
//! anew (once, under a per-entry lock, however many processes ask at the same moment) and
//! stored. Everything that reaches for AWS config, credentials or a runtime sits behind the
//! cache check.

use std::time::{Duration, SystemTime};

use crate::cache::{self, Backend, Cache, Choice, Entry};
use crate::config::Profile;
use crate::credentials::{self, Region, Resolved};
use crate::endpoint;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::helper::AwsSource;
use crate::token::{self, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Serve a fresh cached token, else sign and store one.
    Use,
    /// Sign a new token and store it.
    Refresh,
    /// Neither read nor write the cache.
    Off,
}

/// A token and what is known about it.
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    /// Unix seconds.
    pub expires_at: u64,
    pub cached: bool,
    pub region: String,
}

impl Drop for Issued {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

/// The region that is known without reading AWS config: the profile's (or the flag's), else
/// the one in the host name. A profile region that contradicts the host gets a warning, since
/// such a token fails only at login.
pub fn static_region(profile: &Profile) -> Option<Region> {
    let region = static_region_quiet(profile);
    if let (Some(r), Some(h)) = (&region, endpoint::region_from_host(&profile.host))
        && r.name != h
    {
        crate::diag::warn(format!(
            "signing for region {}, but {} is in {h}; the database will refuse the token",
            r.name, profile.host
        ));
    }
    region
}

/// [`static_region`] without the warning (`doctor` reports the mismatch as a failed check).
pub fn static_region_quiet(profile: &Profile) -> Option<Region> {
    match (
        &profile.set.region,
        endpoint::region_from_host(&profile.host),
    ) {
        (Some(r), _) => Some(Region {
            name: r.clone(),
            source: "profile or --region".into(),
        }),
        (None, Some(h)) => Some(Region {
            name: h,
            source: "the host name".into(),
        }),
        (None, None) => None,
    }
}

/// Which cache store to start with: `IAMDB_CACHE`, else the profile's `cache`, else auto.
pub fn cache_choice(profile: &Profile, mode: CacheMode) -> Result<Choice> {
    if mode == CacheMode::Off {
        return Ok(Choice::None);
    }
    Ok(crate::env::load()?
        .cache
        .or(profile.set.cache)
        .unwrap_or(Choice::Auto))
}

/// The cache entry name: the profile plus a digest of everything configured that changes the
/// token or who signs it. It is the same before and after a DNS alias is resolved, so that a
/// cache hit asks DNS nothing.
pub fn entry_name(profile: &Profile, expires_in: u64) -> String {
    let lower = |s: Option<&String>| s.map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    let mut parts: Vec<Vec<u8>> = vec![
        b"iamdb-cache-v1".to_vec(),
        format!(
            "{:?}/{:?}/{}",
            profile.set.engine, profile.set.serverless, expires_in
        )
        .into_bytes(),
        profile.name.clone().unwrap_or_default().into_bytes(),
        profile.configured_host().to_ascii_lowercase().into_bytes(),
        lower(profile.set.sign_host.as_ref()).into_bytes(),
        lower(profile.set.cache_name.as_ref()).into_bytes(),
        profile.port.to_string().into_bytes(),
        profile.user.clone().into_bytes(),
        profile.set.region.clone().unwrap_or_default().into_bytes(),
    ];
    parts.extend(credentials::identity_material(
        profile.set.aws_profile.as_deref(),
    ));
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    cache::entry_name(profile.name.as_deref(), &token::fingerprint(&refs))
}

/// Whether signing for `profile` needs DNS first: its host may be an alias, and the name
/// tokens are signed for (or, for a cache, its region) is not known without it.
fn needs_alias_lookup(profile: &Profile) -> bool {
    profile.alias_pending
        && !(profile.token_kind().signs_cache_name()
            && profile.cache_name.is_some()
            && profile.set.region.is_some())
}

/// A token for `profile`.
pub fn token_for(profile: &Profile, mode: CacheMode) -> Result<Issued> {
    let expires_in = profile.expires_in()?;
    let pending = needs_alias_lookup(profile);
    let mut choice = cache_choice(profile, mode)?;
    if expires_in <= u64::from(profile.refresh_margin) && choice != Choice::None {
        tracing::debug!(
            expires_in,
            refresh_margin = profile.refresh_margin,
            "not caching: the token would be stale before it was stored (lifetime <= refresh_margin)"
        );
        choice = Choice::None;
    }
    let mut cache = Cache::new(choice, crate::env::get().keyring_timeout);
    let name = entry_name(profile, expires_in);
    tracing::debug!(entry = %name, choice = choice.as_str(), "cache entry");

    // Before DNS has said what an alias stands for, the region and the name signed for are
    // what the entry says (and its token is checked against them).
    let known_region = if pending {
        static_region_quiet(profile)
    } else {
        static_region(profile)
    };
    let signed_host = profile.signed_host();
    let expect = cache::Expect {
        kind: profile.token_kind(),
        expires_in,
        signed_host: (!pending).then_some(signed_host),
        host: profile.configured_host(),
        port: profile.port,
        user: &profile.user,
        region: known_region.as_ref().map(|r| r.name.as_str()),
    };
    let lookup = |cache: &mut Cache| {
        cache
            .get(&name, &expect, SystemTime::now(), profile.refresh_margin)
            .map(|(backend, mut entry)| {
                tracing::debug!(
                    backend = backend.as_str(),
                    expires_in = entry.remaining(SystemTime::now()),
                    "cache hit"
                );
                Issued {
                    token: std::mem::take(&mut entry.token),
                    expires_at: entry.expires_at,
                    cached: true,
                    region: std::mem::take(&mut entry.region),
                }
            })
    };
    if mode == CacheMode::Use
        && let Some(hit) = lookup(&mut cache)
    {
        return Ok(hit);
    }

    let _lock = if choice == Choice::None {
        None
    } else {
        lock(&name)
    };
    if mode == CacheMode::Use
        && let Some(hit) = lookup(&mut cache)
    {
        tracing::debug!("another iamdb process stored the token while this one waited");
        return Ok(hit);
    }
    let resolved_profile;
    let profile = if pending {
        resolved_profile = crate::alias::resolve(profile)?;
        &resolved_profile
    } else {
        profile
    };
    sign_and_store(profile, expires_in, choice, &mut cache, &name, pending)
}

/// Signs a new token for `profile` (its alias resolved) and stores it in `cache` as `name`.
fn sign_and_store(
    profile: &Profile,
    expires_in: u64,
    choice: Choice,
    cache: &mut Cache,
    name: &str,
    just_resolved: bool,
) -> Result<Issued> {
    let kind = profile.token_kind();
    // The region was checked against the host (and any mismatch warned about) before the
    // cache lookup, unless DNS has only now said which host it is.
    let known_region = if just_resolved {
        static_region(profile)
    } else {
        static_region_quiet(profile)
    };
    if kind.signs_cache_name() && known_region.is_none() {
        // AWS config's region would be a guess: the cache's region is what its name says.
        return Err(Error::config(format!(
            "cannot tell which AWS region cache {} ({}) is in: its endpoint name does not say",
            profile.signed_host(),
            profile.host
        ))
        .hint("set region in the profile, or give --region"));
    }
    if let Some(r) = &known_region {
        tracing::debug!(region = %r.name, source = %r.source, "region");
    }
    let (resolved, aws_region) = resolve_credentials(
        &aws_source(profile, choice),
        known_region.is_none(),
        known_region.as_ref().map(|r| r.name.as_str()),
    )?;
    tracing::debug!(source = %resolved.source, expiry = ?resolved.credentials.expiry(), "AWS credentials resolved");
    let region = match known_region {
        Some(r) => r,
        None => {
            let r = aws_region.ok_or_else(|| no_region(profile))?;
            tracing::debug!(region = %r.name, source = %r.source, "region");
            r
        }
    };

    let now = SystemTime::now();
    credentials::check_not_expired(&resolved, now)?;
    let token = token::sign(
        Target {
            kind,
            host: profile.signed_host(),
            port: profile.port,
            user: &profile.user,
            region: &region.name,
            expires_in,
        },
        &resolved.credentials,
        now,
    );
    let mut expires = now + Duration::from_secs(expires_in);
    if let Some(c) = resolved.credentials.expiry()
        && c < expires
    {
        tracing::debug!(
            in_seconds = c.duration_since(now).unwrap_or(Duration::ZERO).as_secs(),
            "the credentials expire before the token would"
        );
        expires = c;
    }
    let entry = Entry {
        token,
        signed_at: cache::unix(now),
        expires_at: cache::unix(expires),
        profile: profile.name.clone(),
        host: profile.configured_host().to_string(),
        signed_host: Some(profile.signed_host().to_string()),
        port: profile.port,
        user: profile.user.clone(),
        region: region.name.clone(),
    };
    if choice != Choice::None {
        let stored = cache.put(name, &entry, now);
        tracing::debug!(backend = ?stored.map(Backend::as_str), "token stored");
    }
    let mut entry = entry;
    Ok(Issued {
        token: std::mem::take(&mut entry.token),
        expires_at: entry.expires_at,
        cached: false,
        region: std::mem::take(&mut entry.region),
    })
}

fn no_region(profile: &Profile) -> Error {
    Error::config(format!(
        "cannot tell which AWS region {} is in: it is not an AWS endpoint name, DNS names none it is an alias of, and no region is configured",
        profile.host
    ))
    .hint("set sign_host to the endpoint name it stands for, or give --region, set `region` in the profile, or set AWS_REGION")
}

/// How long to wait for another iamdb process that is making the same token: as long as its
/// credential resolution may take, and a little more.
fn token_lock_wait() -> Duration {
    crate::env::get().credentials_timeout + Duration::from_secs(5)
}

/// Serialises refreshes of one entry across processes. Without a usable runtime directory
/// iamdb still works, it just may resolve credentials more than once.
fn lock(name: &str) -> Option<fsutil::Lock> {
    let file = format!("{}.lock", name.replace(':', "="));
    fsutil::runtime_lock(&file, token_lock_wait())
        .map_err(
            |e| tracing::debug!(error = %e, lock = %file, "cannot lock; refreshing without a lock"),
        )
        .ok()
}

/// Whose credentials `profile` signs with: its AWS profile, its `mfa_process`, and its cache
/// choice for role sessions.
pub fn aws_source(profile: &Profile, sessions: Choice) -> AwsSource {
    AwsSource {
        aws_profile: profile.set.aws_profile.clone(),
        mfa_process: profile.set.mfa_process.clone(),
        sessions,
        label: profile.name.clone(),
        interactive: true,
    }
}

/// Whose credentials `iamdb login` makes a session for: the AWS profile of iamdb profile
/// `profile`, else `aws_profile`, else `[defaults]`' (or the default one); with the region STS
/// is asked in when AWS config names none.
pub fn login_source(
    config: &crate::config::Config,
    profile: Option<&str>,
    aws_profile: Option<&str>,
) -> Result<(AwsSource, Option<String>)> {
    let env = crate::env::load()?;
    Ok(match profile {
        Some(name) => {
            let p = config.resolve(Some(name), crate::settings::Settings::default())?;
            let choice = cache_choice(&p, CacheMode::Use)?;
            let region = static_region_quiet(&p).map(|r| r.name);
            (aws_source(&p, choice), region)
        }
        None => {
            let defaults = &config.defaults;
            let source = AwsSource {
                aws_profile: aws_profile
                    .map(String::from)
                    .or_else(|| defaults.aws_profile.clone()),
                mfa_process: defaults.mfa_process.clone(),
                sessions: env.cache.or(defaults.cache).unwrap_or_default(),
                label: None,
                interactive: true,
            };
            (source, defaults.region.clone())
        }
    })
}

/// Resolves credentials, and the region too when `need_region` is set (the host did not
/// name one and nothing else did). `sts_region` is the region STS calls go to when AWS config
/// names none: the database's own region. Keys in the environment are read here; everything
/// else is resolved by the `iamdb-credentials` helper, with an MFA code when a role session
/// needs one (see [`crate::mfa`]).
pub fn resolve_credentials(
    source: &AwsSource,
    need_region: bool,
    sts_region: Option<&str>,
) -> Result<(Resolved, Option<Region>)> {
    let env_region = credentials::env_region();
    if let Some(resolved) = credentials::from_env(source.aws_profile.as_deref())?
        && (!need_region || env_region.is_some())
    {
        return Ok((resolved, if need_region { env_region } else { None }));
    }
    tracing::debug!("resolving AWS credentials through the helper");
    crate::mfa::resolve(source, need_region, sts_region, None)
}

/// Like [`resolve_credentials`], but never asks for an MFA code: a role session that needs
/// one is reported as the challenge (`doctor`).
pub fn resolve_or_challenge(
    source: &AwsSource,
    need_region: bool,
    sts_region: Option<&str>,
) -> Result<std::result::Result<(Resolved, Option<Region>), crate::protocol::MfaChallenge>> {
    let env_region = credentials::env_region();
    if let Some(resolved) = credentials::from_env(source.aws_profile.as_deref())?
        && (!need_region || env_region.is_some())
    {
        return Ok(Ok((resolved, if need_region { env_region } else { None })));
    }
    match crate::helper::credentials(source, need_region, sts_region, None, None)? {
        crate::helper::CredentialsReply::Resolved(doc) => Ok(Ok(credentials::from_doc(&doc)?)),
        crate::helper::CredentialsReply::NeedMfa(c) => Ok(Err(c)),
    }
}
