//! What the `iamdb-credentials` helper's subcommands answer, as JSON on its stdout: shared by
//! the helper, which fills them in, and by `iamdb doctor` and `iamdb setup`, which read them
//! without linking the AWS SDK or rustls.

use serde::{Deserialize, Serialize};

use crate::setup::Kind;

/// What STS says about the caller.
#[derive(Debug, Serialize, Deserialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    /// The time in STS's `Date` header, Unix seconds, when it sent one.
    pub server_time: Option<i64>,
    /// Where the credentials came from, and when they expire (RFC 3339).
    pub source: String,
    pub expiration: Option<String>,
}

/// The RDS resource an endpoint belongs to.
#[derive(Debug, Serialize, Deserialize)]
pub struct Resource {
    pub kind: Kind,
    /// The instance or cluster identifier, or the proxy name.
    pub identifier: String,
    /// `db-...`, `cluster-...` (an Aurora instance's cluster's) or `prx-...`.
    pub resource_id: String,
    pub engine: Option<String>,
    /// Whether IAM database authentication is on, when RDS says.
    pub iam_enabled: Option<bool>,
    /// For an Aurora instance: IAM is granted on its cluster, named here.
    pub via_instance: Option<String>,
}

/// What a completed handshake agreed on.
#[derive(Debug, Serialize, Deserialize)]
pub struct Handshake {
    pub version: String,
    pub cipher: String,
}
