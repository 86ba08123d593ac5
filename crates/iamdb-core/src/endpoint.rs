//! What an endpoint name says about itself: the region it lives in, and for Aurora DSQL the
//! cluster. A wrong region only fails at login ("PAM authentication failed" / "Access
//! denied"), so the region comes from the host name whenever the name carries one.

/// The region named in an RDS, Aurora or RDS Proxy endpoint, if the host is one:
/// `<name>.<id>.<region>.rds.amazonaws.com` (instances; `cluster-`, `cluster-ro-`,
/// `cluster-custom-` and `proxy-` ids alike), and in China `<name>.<id>.rds.<region>.amazonaws.com.cn`
/// or `<name>.<id>.<region>.rds.amazonaws.com.cn`.
pub fn region_from_host(host: &str) -> Option<String> {
    if let Some((_, region)) = dsql_cluster(host) {
        return Some(region);
    }
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    let lower = |i: usize| labels[i];
    let candidate = if n >= 5
        && lower(n - 3) == "rds"
        && lower(n - 2) == "amazonaws"
        && lower(n - 1) == "com"
    {
        labels[n - 4]
    } else if n >= 6 && lower(n - 3) == "amazonaws" && lower(n - 2) == "com" && lower(n - 1) == "cn"
    {
        if lower(n - 5) == "rds" {
            labels[n - 4]
        } else if lower(n - 4) == "rds" {
            labels[n - 5]
        } else {
            return None;
        }
    } else {
        return None;
    };
    is_region_name(candidate).then(|| candidate.to_string())
}

/// The cluster id and region of an Aurora DSQL endpoint, `<cluster id>.dsql.<region>.on.aws`
/// (ids are 26 lowercase letters and digits); None for any other name.
pub fn dsql_cluster(host: &str) -> Option<(String, String)> {
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [id, "dsql", region, "on", "aws"]
            if !id.is_empty()
                && id.len() <= 63
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && is_region_name(region) =>
        {
            Some((id.to_string(), region.to_string()))
        }
        _ => None,
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-northwest-1`, `ap-southeast-5`, ...
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// A host name iamdb will sign for: a DNS name or IPv4 address (the message says what is
/// wrong with it, the caller names the setting). Anything else (spaces, '/',
/// ':', '@', control characters, IPv6 literals) would make a token no server accepts, or inject
/// text into the files the token is written to.
pub fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("is empty".into());
    }
    if host.len() > 253 {
        return Err(format!(
            "is {} characters long; DNS names have at most 253",
            host.len()
        ));
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(format!(
            "contains {c:?}; only letters, digits, '-', '_' and '.' belong in a host name"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_from_endpoint_names() {
        let cases = [
            (
                "mydb.c9akciq32.us-east-1.rds.amazonaws.com",
                Some("us-east-1"),
            ),
            (
                "mydb.c9akciq32.eu-west-3.rds.amazonaws.com.",
                Some("eu-west-3"),
            ),
            (
                "MYDB.C9AKCIQ32.EU-WEST-3.RDS.AMAZONAWS.COM",
                Some("eu-west-3"),
            ),
            (
                "aurora.cluster-c9akciq32.ap-southeast-2.rds.amazonaws.com",
                Some("ap-southeast-2"),
            ),
            (
                "aurora.cluster-ro-c9akciq32.ap-southeast-2.rds.amazonaws.com",
                Some("ap-southeast-2"),
            ),
            (
                "reporting.cluster-custom-c9akciq32.ca-central-1.rds.amazonaws.com",
                Some("ca-central-1"),
            ),
            (
                "myproxy.proxy-c9akciq32.us-west-2.rds.amazonaws.com",
                Some("us-west-2"),
            ),
            (
                "gov.c9akciq32.us-gov-west-1.rds.amazonaws.com",
                Some("us-gov-west-1"),
            ),
            (
                "cn.c9akciq32.rds.cn-north-1.amazonaws.com.cn",
                Some("cn-north-1"),
            ),
            (
                "cn.c9akciq32.cn-northwest-1.rds.amazonaws.com.cn",
                Some("cn-northwest-1"),
            ),
            (
                "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws",
                Some("us-east-1"),
            ),
            (
                "0123456789ABCDEFGHIJKLMNOP.DSQL.AP-SOUTHEAST-5.ON.AWS.",
                Some("ap-southeast-5"),
            ),
            (
                "abcdefghijklmnopqrstuvwxyz.dsql.us-gov-west-1.on.aws",
                Some("us-gov-west-1"),
            ),
            ("x.dsql.notaregion.on.aws", None),
            ("a-b.dsql.us-east-1.on.aws", None),
            ("x.y.dsql.us-east-1.on.aws", None),
            ("db.example.com", None),
            ("localhost", None),
            ("127.0.0.1", None),
            ("rds.amazonaws.com", None),
            ("x.notaregion.rds.amazonaws.com", None),
            ("x.y.us-east-1.s3.amazonaws.com", None),
        ];
        for (host, want) in cases {
            assert_eq!(region_from_host(host).as_deref(), want, "{host}");
        }
    }

    #[test]
    fn hosts_that_cannot_be_signed_for_are_refused() {
        assert!(check_host("db.abc.us-east-1.rds.amazonaws.com").is_ok());
        assert!(check_host("10.0.0.1").is_ok());
        for bad in [
            "",
            "db host",
            "db/x",
            "db:5432",
            "user@db",
            "db\nx",
            "[::1]",
            "d\u{e9}.com",
        ] {
            assert!(check_host(bad).is_err(), "{bad:?}");
        }
        assert!(check_host(&"a".repeat(254)).is_err());
    }
}
