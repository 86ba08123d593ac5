//! One line for a failure to get AWS credentials: what failed, why, and the command that fixes
//! it (`aws sso login`, `aws login`, `aws configure`), for `sdk` and `roles` alike.

use std::error::Error as _;

use aws_config::profile::ProfileSet;

use iamdb_core::credentials::{config_file, credentials_file};
use iamdb_core::error::Error;

/// One line saying what failed and why, and what to run to fix it. `set` tells how the
/// profile logs in (SSO, `aws login`), for the command that renews it.
pub fn credentials_error(
    profile: &str,
    explicit: bool,
    set: Option<&ProfileSet>,
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
    let setting = |key: &str| {
        set.and_then(|s| s.get_profile(profile))
            .and_then(|p| p.get(key))
            .is_some()
    };
    // A provider that could not reach its endpoint (STS, the SSO portal, the sign-in service)
    // says where and why, not that the credentials are wrong.
    if !matches!(
        e,
        aws_credential_types::provider::error::CredentialsError::CredentialsNotLoaded(_)
    ) && let Some(failure) = crate::network::diagnose(e)
    {
        let login = if setting("login_session") {
            Some("aws login")
        } else if setting("sso_session") || setting("sso_start_url") {
            Some("aws sso login")
        } else {
            None
        };
        let hint = match login {
            // The session may also have run out: logging in again renews it.
            Some(login) => format!(
                "{}; if the session has expired, run `{login} --profile {profile}` once the network is back",
                failure.hint()
            ),
            None => failure.hint(),
        };
        return Error::credentials(format!(
            "no AWS credentials for profile '{profile}': {}",
            failure.message()
        ))
        .hint(hint);
    }
    if setting("login_session") {
        return Error::credentials(format!(
            "no AWS credentials for profile '{profile}' (an `aws login` session): {detail}"
        ))
        .hint(format!("run `aws login --profile {profile}` and try again"));
    }
    if lower.contains("sso") || setting("sso_session") || setting("sso_start_url") {
        return Error::credentials(format!(
            "no AWS credentials for profile '{profile}': {detail}"
        ))
        .hint(format!(
            "run `aws sso login --profile {profile}` and try again"
        ));
    }
    if !explicit && (lower.contains("imds") || lower.contains("no providers in chain")) {
        // Half a key pair in the environment is ignored by the chain; say which half is missing.
        if let Some((set, missing)) = half_set_env_keys() {
            return Error::credentials(format!(
                "no AWS credentials found: {set} is set in the environment but {missing} is not, so the environment's keys were not used"
            ))
            .hint(format!("set {missing} too, or unset {set} to use another credential source"));
        }
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

/// Which of the environment's key pair is set when only one is: (set, missing).
fn half_set_env_keys() -> Option<(&'static str, &'static str)> {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    const ID: &str = "AWS_ACCESS_KEY_ID";
    const SECRET: &str = "AWS_SECRET_ACCESS_KEY";
    match (set(ID), set(SECRET)) {
        (true, false) => Some((ID, SECRET)),
        (false, true) => Some((SECRET, ID)),
        _ => None,
    }
}
