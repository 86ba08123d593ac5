//! Logging for `-v`: set up only when asked for, so the common path pays nothing.

/// `-v`: iamdb's own decisions; `-vv`: the AWS SDK's too. Nothing is set up without `-v`, so
/// the common path pays nothing for logging.
pub fn init(verbose: u8) {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    if verbose == 0 {
        return;
    }
    let others = if verbose >= 2 {
        Level::DEBUG
    } else {
        Level::WARN
    };
    // The SDK's credential chain says at debug level which provider gave the credentials.
    let filter = Targets::new()
        .with_target("iamdb", Level::DEBUG)
        .with_target("aws_config::meta::credentials::chain", Level::DEBUG)
        .with_default(others);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time(),
        )
        .with(filter)
        .init();
}
