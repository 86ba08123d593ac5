//! `iamdb inspect [TOKEN | -]`: iamdb-core's report on a token, for a person or as JSON.

use std::io::Read;

use serde_json::json;

use iamdb_core::error::{Error, Kind, Result};
use iamdb_core::{inspect, when};

use crate::cli::Format;
use crate::output;

/// Longer than any real token (about 1.5 KB with a long session token), short enough that
/// `iamdb inspect < /dev/zero` ends.
const MAX_INPUT: u64 = 64 * 1024;

pub fn run(token: Option<String>, format: Format) -> Result<()> {
    let text = match token.as_deref() {
        Some(t) if t != "-" => t.to_string(),
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(MAX_INPUT + 1)
                .read_to_end(&mut buf)
                .map_err(|e| Error::usage(format!("cannot read the token from stdin: {e}")))?;
            if buf.len() as u64 > MAX_INPUT {
                return Err(Error::usage(format!(
                    "stdin holds more than {} KiB: that is not a token",
                    MAX_INPUT / 1024
                )));
            }
            String::from_utf8_lossy(&buf).into_owned()
        }
    };
    let now = when::unix(std::time::SystemTime::now());
    let report = inspect::inspect(&text, now);
    match format {
        Format::Text => output::print(&inspect::render(&report))?,
        Format::Json => {
            let mut doc = serde_json::to_value(&report)
                .map_err(|e| Error::internal(format!("inspect report: {e}")))?;
            doc["usable"] = json!(report.usable());
            let at = |t: Option<i64>| t.map(|t| when::rfc3339(t.max(0)));
            doc["signed_at"] = json!(at(report.signed_at));
            doc["expires_at"] = json!(at(report.expires_at));
            output::json(&doc)?;
        }
    }
    if report.usable() {
        Ok(())
    } else {
        Err(Error::silent(Kind::Check))
    }
}
