//! What valkey-cli and redis-cli are given to log in to an ElastiCache or MemoryDB profile:
//! TLS with the profile's CA bundle, the host and port they dial (a tunnel's, with SNI set to
//! the real endpoint), the user, and the token in the client's password variable
//! (`VALKEYCLI_AUTH`, `REDISCLI_AUTH`), never on its command line, where `ps` shows it.

use std::path::Path;

use crate::config::Profile;
use crate::engine::RedisClient;

/// The client's arguments before the user's own: `--tls --cacert CA -h HOST -p PORT [--sni
/// ENDPOINT] --user USER`.
pub fn args(p: &Profile, ca: &Path) -> Vec<String> {
    let mut args = vec![
        "--tls".to_string(),
        "--cacert".to_string(),
        ca.display().to_string(),
        "-h".to_string(),
        p.dial_host().to_string(),
        "-p".to_string(),
        p.dial_port().to_string(),
    ];
    if p.set.connect_host.is_some() {
        // Through a tunnel the certificate is still the endpoint's, and so is the name sent.
        args.extend(["--sni".to_string(), p.host.clone()]);
    }
    args.extend(["--user".to_string(), p.user.clone()]);
    args
}

/// The environment that logs a client (or a driver run by `iamdb exec`) in: the token in both
/// clients' password variables, and the connection in `IAMDB_HOST`, `IAMDB_PORT`,
/// `IAMDB_USER`, `IAMDB_TLS_SERVER_NAME` and `IAMDB_CA_FILE`.
pub fn env(p: &Profile, token: &str, ca: &Path) -> Vec<(String, String)> {
    vec![
        (
            RedisClient::ValkeyCli.auth_variable().to_string(),
            token.to_string(),
        ),
        (
            RedisClient::RedisCli.auth_variable().to_string(),
            token.to_string(),
        ),
        ("IAMDB_HOST".to_string(), p.dial_host().to_string()),
        ("IAMDB_PORT".to_string(), p.dial_port().to_string()),
        ("IAMDB_USER".to_string(), p.user.clone()),
        ("IAMDB_TLS_SERVER_NAME".to_string(), p.host.clone()),
        ("IAMDB_CA_FILE".to_string(), ca.display().to_string()),
    ]
}

/// The client to run: the profile's `client`, else valkey-cli when it is on `PATH`, else
/// redis-cli.
pub fn client(p: &Profile) -> RedisClient {
    p.set.client.unwrap_or_else(|| {
        let on_path = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|d| d.join("valkey-cli").is_file())
        });
        if on_path {
            RedisClient::ValkeyCli
        } else {
            RedisClient::RedisCli
        }
    })
}
