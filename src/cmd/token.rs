use std::path::Path;

use serde_json::json;

use crate::cli::{EndpointArgs, Format, TokenArgs};
use iamdb_core::config::{self, Config, Settings};
use iamdb_core::error::Result;
use iamdb_core::provider::{self, CacheMode};

pub(crate) fn flags(e: &EndpointArgs) -> Settings {
    Settings {
        engine: e.engine,
        host: e.host.clone(),
        port: e.port,
        user: e.user.clone(),
        region: e.region.clone(),
        aws_profile: e.aws_profile.clone(),
        ..Settings::default()
    }
}

pub fn run(config_path: Option<&Path>, args: TokenArgs) -> Result<()> {
    let flags = flags(&args.endpoint);
    config::check_flags(&flags)?;
    let config = Config::load(config_path)?;
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
        Format::Text => super::print(&format!("{}\n", issued.token)),
        Format::Json => {
            let doc = json!({
                "token": issued.token,
                "expires_at": super::rfc3339(issued.expires_at),
                "cached": issued.cached,
                "profile": profile.name,
                "host": profile.host,
                "port": profile.port,
                "user": profile.user,
                "region": issued.region,
            });
            super::print(&format!("{doc}\n"))
        }
    }
}
