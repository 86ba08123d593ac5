//! `iamdb login [PROFILE | --aws-profile NAME]`: an MFA role session now.

use std::path::Path;
use std::time::SystemTime;

use iamdb_core::config::Config;
use iamdb_core::error::Result;

use crate::cli::LoginArgs;
use crate::output;

pub fn run(config: Option<&Path>, args: LoginArgs) -> Result<()> {
    let config = Config::load(config)?;
    let (source, region) = iamdb_core::provider::login_source(
        &config,
        args.profile.as_deref(),
        args.aws_profile.as_deref(),
    )?;
    let login = iamdb_core::mfa::login(&source, region.as_deref())?;
    let Some(session) = &login.resolved.session else {
        return output::print(&format!(
            "AWS profile '{}' needs no MFA code: its credentials come from {}\n",
            login.aws_profile, login.resolved.source
        ));
    };
    let left = iamdb_core::when::parse_rfc3339(&session.expiration)
        .and_then(|t| t.duration_since(SystemTime::now()).ok())
        .map_or(0, |d| d.as_secs());
    let left = iamdb_core::when::duration(i64::try_from(left).unwrap_or(i64::MAX));
    let text = if login.kept {
        format!(
            "MFA session for {} (AWS profile '{}') valid until {} ({left}); iamdb uses it until 5 minutes before then\n",
            session.role_arn, session.aws_profile, session.expiration
        )
    } else {
        format!(
            "MFA session for {} (AWS profile '{}') made, but not kept: the cache is \"none\", so every call asks for a code\n",
            session.role_arn, session.aws_profile
        )
    };
    output::print(&text)
}
