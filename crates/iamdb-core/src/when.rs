//! Instants as iamdb shows them: RFC 3339 in UTC, and spans like `14m 58s`.

use std::time::SystemTime;

/// Unix seconds of an instant (negative before 1970).
pub fn unix(t: SystemTime) -> i64 {
    time::OffsetDateTime::from(t).unix_timestamp()
}

/// `2026-11-21T10:00:00Z`.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// The instant an RFC 3339 text names.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// `2d 03h`, `1h 05m`, `14m 58s`, `9s`.
pub fn duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    if s >= 86400 {
        format!("{}d {:02}h", s / 86400, s % 86400 / 3600)
    } else if s >= 3600 {
        format!("{}h {:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
