//! `iamdb token [PROFILE] [flags]`: the token alone and a newline (or none, `--format raw`),
//! or one JSON object.

use std::path::Path;

use serde_json::json;

use iamdb_core::config::Config;
use iamdb_core::error::Result;
use iamdb_core::provider::{self, CacheMode};
use iamdb_core::when;

use crate::cli::{TokenArgs, TokenFormat};
use crate::output;

pub fn run(config: Option<&Path>, args: TokenArgs) -> Result<()> {
    let flags = args.settings.settings()?;
    let config = Config::load(config)?;
    tracing::debug!(path = %config.path.display(), exists = config.exists, "config file");
    let profile = config.resolve(args.profile.as_deref(), flags)?;
    let mode = if args.no_cache {
        CacheMode::Off
    } else if args.refresh {
        CacheMode::Refresh
    } else {
        CacheMode::Use
    };
    let issued = provider::token_for(&profile, mode)?;
    match args.format {
        TokenFormat::Text => output::print(&format!("{}\n", issued.token)),
        TokenFormat::Raw => output::print(&issued.token),
        TokenFormat::Json => output::json(&json!({
            "token": issued.token,
            "expires_at": when::rfc3339(i64::try_from(issued.expires_at).unwrap_or(i64::MAX)),
            "cached": issued.cached,
            "profile": profile.name,
            "host": profile.host,
            "port": profile.port,
            "user": profile.user,
            "region": issued.region,
        })),
    }
}
