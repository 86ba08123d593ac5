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
    if let Some(cache) = cache_endpoint(host) {
        return cache.region;
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

/// Is `host` an endpoint name tokens can be signed for: an RDS, Aurora or RDS Proxy endpoint
/// that names its region, an Aurora DSQL endpoint, or an ElastiCache or MemoryDB endpoint? An
/// Aurora Global Database writer endpoint (`<name>.global-<id>.global.rds.amazonaws.com`) is
/// not: it is a CNAME of the current primary's cluster endpoint, which is.
pub fn is_aws_endpoint(host: &str) -> bool {
    region_from_host(host).is_some() || cache_endpoint(host).is_some()
}

/// Could `host` be an alias worth asking DNS about: not an AWS endpoint name already, not an
/// IP address, not `localhost`?
pub fn may_be_alias(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    !(is_aws_endpoint(&h)
        || h.parse::<std::net::IpAddr>().is_ok()
        || h == "localhost"
        || h.ends_with(".localhost"))
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

/// What an ElastiCache or MemoryDB endpoint name says: which service, the cache's name (what
/// tokens are signed for, in lower case), its region, and whether it is an ElastiCache
/// Serverless cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEndpoint {
    pub memorydb: bool,
    pub name: String,
    /// None when the short region code is one iamdb cannot read.
    pub region: Option<String>,
    pub serverless: bool,
}

/// Reads an ElastiCache or MemoryDB endpoint name:
/// - node-based ElastiCache: `master.<group>.<id>.<short region>.cache.amazonaws.com` (also
///   `replica.`, `clustercfg.`, and node names `<group>-001.<group>.<id>...`);
/// - ElastiCache Serverless: `<name>-<6 chars>.serverless.<short region>.cache.amazonaws.com`;
/// - MemoryDB: `clustercfg.<cluster>.<id>.memorydb.<region>.amazonaws.com`.
///
/// None for any other name (a CNAME, a tunnel): such profiles name the cache themselves.
pub fn cache_endpoint(host: &str) -> Option<CacheEndpoint> {
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    let labels: Vec<&str> = host.split('.').collect();
    let valid = |name: &str| {
        !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    match labels.as_slice() {
        [_, name, _id, "memorydb", region, "amazonaws", "com"]
            if valid(name) && is_region_name(region) =>
        {
            Some(CacheEndpoint {
                memorydb: true,
                name: name.to_string(),
                region: Some(region.to_string()),
                serverless: false,
            })
        }
        [first, "serverless", short, "cache", "amazonaws", "com"] => {
            let (name, suffix) = first.rsplit_once('-')?;
            (valid(name) && suffix.len() == 6).then(|| CacheEndpoint {
                memorydb: false,
                name: name.to_string(),
                region: short_region(short),
                serverless: true,
            })
        }
        [_, name, _id, short, "cache", "amazonaws", "com"] if valid(name) => Some(CacheEndpoint {
            memorydb: false,
            name: name.to_string(),
            region: short_region(short),
            serverless: false,
        }),
        _ => None,
    }
}

/// ElastiCache's short region codes: `use1` is us-east-1, `euw1` eu-west-1, `apse2`
/// ap-southeast-2, `cac1` ca-central-1, `usgw1` us-gov-west-1, `cnnw1` cn-northwest-1.
pub fn short_region(code: &str) -> Option<String> {
    let digits = code.find(|c: char| c.is_ascii_digit())?;
    let (letters, number) = code.split_at(digits);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (area, direction) = if let Some(rest) = letters.strip_prefix("usg") {
        ("us-gov", rest)
    } else if letters.len() > 2 {
        letters.split_at(2)
    } else {
        return None;
    };
    let direction = match direction {
        "e" => "east",
        "w" => "west",
        "n" => "north",
        "s" => "south",
        "c" => "central",
        "ne" => "northeast",
        "nw" => "northwest",
        "se" => "southeast",
        "sw" => "southwest",
        _ => return None,
    };
    let region = format!("{area}-{direction}-{number}");
    is_region_name(&region).then_some(region)
}

/// Every region of the partitions iamdb knows, by partition: commercial (`aws`), China
/// (`aws-cn`), GovCloud (`aws-us-gov`), the ISO partitions (`aws-iso`, `aws-iso-b`,
/// `aws-iso-e`, `aws-iso-f`) and the European Sovereign Cloud (`aws-eusc`).
///
/// Taken on 2026-12-01 from botocore 1.43.11's `data/partitions.json` (the `regions` of each
/// partition, its `aws-*-global` pseudo-regions left out), which agrees with its
/// `data/endpoints.json`. To refresh it:
/// `python3 -c "import botocore, os, json; print(json.load(open(os.path.join(os.path.dirname(botocore.__file__), 'data/partitions.json'))))"`.
/// A region missing here still works (with a warning) unless its name is one or two edits
/// from one listed: see [`check_region`].
pub const KNOWN_REGIONS: &[&str] = &[
    // aws
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    // aws-cn
    "cn-north-1",
    "cn-northwest-1",
    // aws-us-gov
    "us-gov-east-1",
    "us-gov-west-1",
    // aws-iso
    "us-iso-east-1",
    "us-iso-west-1",
    // aws-iso-b
    "us-isob-east-1",
    "us-isob-west-1",
    // aws-iso-e
    "eu-isoe-west-1",
    // aws-iso-f
    "us-isof-east-1",
    "us-isof-south-1",
    // aws-eusc
    "eusc-de-east-1",
];

/// What iamdb makes of a region name someone wrote (a flag, a setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionCheck {
    /// One of [`KNOWN_REGIONS`].
    Known,
    /// A well-formed name iamdb does not know and that is no typo of one it knows: a region
    /// newer than this release (a new number in a known area, `ap-southeast-9`, or a name far
    /// from every known one). It is used, with a warning.
    New,
}

/// Checks a region name: a known region, or a well-formed one too far from every known
/// region to be a typo of it ([`RegionCheck::New`]). The error says what is wrong without
/// naming the setting (the caller does): a name one or two edits (Damerau-Levenshtein) from a
/// known region is taken for a typo of it and refused with the suggestion, as is a name that
/// is not a region name at all. A name that only changes a known region's number
/// (`us-east-3`) is taken for a new region, since that is how AWS names most of them.
pub fn check_region(name: &str) -> Result<RegionCheck, String> {
    if KNOWN_REGIONS.contains(&name) {
        return Ok(RegionCheck::Known);
    }
    let well_formed = is_region_name(name);
    if well_formed && let Some((area, _)) = name.rsplit_once('-') {
        let known_area = KNOWN_REGIONS
            .iter()
            .any(|r| r.rsplit_once('-').is_some_and(|(a, _)| a == area));
        if known_area {
            return Ok(RegionCheck::New);
        }
    }
    let lower = name.to_ascii_lowercase();
    let near = KNOWN_REGIONS
        .iter()
        .map(|r| (strsim::damerau_levenshtein(&lower, r), *r))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, r)| r);
    match (near, well_formed) {
        (Some(near), true) => Err(format!("{name} is not an AWS region; did you mean {near}?")),
        (Some(near), false) => Err(format!(
            "{name:?} is not an AWS region name; did you mean {near}?"
        )),
        (None, true) => Ok(RegionCheck::New),
        (None, false) => Err(format!(
            "{name:?} is not an AWS region name (like \"eu-west-1\")"
        )),
    }
}

/// The warning for a region [`check_region`] calls new: iamdb signs for it all the same.
pub fn new_region_warning(name: &str) -> String {
    format!(
        "region {name} is not one iamdb {} knows: taken for a region newer than this release",
        env!("CARGO_PKG_VERSION")
    )
}

/// Whether `s` is shaped like a region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`,
/// `cn-northwest-1`, `eusc-de-east-1`, ... (lower-case words and a number, joined by `-`),
/// known or not. Endpoint names are read with it, so that the endpoints of a region newer
/// than this release still say their region; settings and flags go through [`check_region`].
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
    fn cache_endpoints_name_their_cache_and_region() {
        let ec = |name: &str, region: &str, serverless: bool| {
            Some(CacheEndpoint {
                memorydb: false,
                name: name.into(),
                region: Some(region.into()),
                serverless,
            })
        };
        let cases = [
            (
                "master.orders-rg.abc123.use1.cache.amazonaws.com",
                ec("orders-rg", "us-east-1", false),
            ),
            (
                "replica.orders-rg.abc123.euw1.cache.amazonaws.com",
                ec("orders-rg", "eu-west-1", false),
            ),
            (
                "clustercfg.Orders-RG.abc123.apse2.cache.amazonaws.com",
                ec("orders-rg", "ap-southeast-2", false),
            ),
            (
                "orders-rg-001.orders-rg.abc123.cac1.cache.amazonaws.com",
                ec("orders-rg", "ca-central-1", false),
            ),
            (
                "sessions-a1b2c3.serverless.apne1.cache.amazonaws.com",
                ec("sessions", "ap-northeast-1", true),
            ),
            (
                "master.gov-rg.abc123.usgw1.cache.amazonaws.com",
                ec("gov-rg", "us-gov-west-1", false),
            ),
            (
                "clustercfg.ledger.abc123.memorydb.eu-central-2.amazonaws.com",
                Some(CacheEndpoint {
                    memorydb: true,
                    name: "ledger".into(),
                    region: Some("eu-central-2".into()),
                    serverless: false,
                }),
            ),
            ("cache.internal.example.com", None),
            ("x-abc.serverless.use1.cache.amazonaws.com", None),
        ];
        for (host, want) in cases {
            assert_eq!(cache_endpoint(host), want, "{host}");
        }
        assert_eq!(
            region_from_host("master.orders-rg.abc123.use1.cache.amazonaws.com").as_deref(),
            Some("us-east-1")
        );
        for (code, want) in [
            ("use1", Some("us-east-1")),
            ("usw2", Some("us-west-2")),
            ("euc1", Some("eu-central-1")),
            ("eun1", Some("eu-north-1")),
            ("eus2", Some("eu-south-2")),
            ("aps1", Some("ap-south-1")),
            ("sae1", Some("sa-east-1")),
            ("mec1", Some("me-central-1")),
            ("ilc1", Some("il-central-1")),
            ("cnnw1", Some("cn-northwest-1")),
            ("zz1", None),
            ("usx1", None),
            ("use", None),
        ] {
            assert_eq!(short_region(code).as_deref(), want, "{code}");
        }
    }

    #[test]
    fn region_typos_are_refused_and_new_regions_accepted() {
        for known in [
            "eu-west-1",
            "ap-southeast-7",
            "mx-central-1",
            "cn-northwest-1",
        ] {
            assert_eq!(check_region(known), Ok(RegionCheck::Known), "{known}");
        }
        for known in [
            "us-gov-west-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
        ] {
            assert_eq!(check_region(known), Ok(RegionCheck::Known), "{known}");
        }
        for (typo, near) in [
            ("eu-wset-1", "eu-west-1"),
            ("us-est-1", "us-east-1"),
            ("ap-southeast-l", "ap-southeast-1"),
            ("eu-west1", "eu-west-1"),
            ("EU-WEST-1", "eu-west-1"),
            ("us-gov-wets-1", "us-gov-west-1"),
            ("eusc-de-eats-1", "eusc-de-east-1"),
        ] {
            let err = check_region(typo).unwrap_err();
            assert!(
                err.ends_with(&format!("did you mean {near}?")),
                "{typo}: {err}"
            );
        }
        // A new number in a known area, and a name far from every known one: newer regions.
        for new in [
            "ap-southeast-9",
            "us-east-3",
            "xy-moon-1",
            "eusc-fr-north-1",
        ] {
            assert_eq!(check_region(new), Ok(RegionCheck::New), "{new}");
        }
        assert_eq!(
            check_region("Ireland").unwrap_err(),
            "\"Ireland\" is not an AWS region name (like \"eu-west-1\")"
        );
        // Every known name is well formed, and endpoint names in a newer region still say it.
        assert!(KNOWN_REGIONS.iter().all(|r| is_region_name(r)));
        assert_eq!(
            region_from_host("db.c9akciq32.xy-moon-1.rds.amazonaws.com").as_deref(),
            Some("xy-moon-1")
        );
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
