//! iamdb's tokens are byte for byte botocore's `generate_db_auth_token` (what
//! `aws rds generate-db-auth-token` prints) for the same credentials at the same instant.
//! Both sides run under libfaketime with the clock frozen, and the table covers user names
//! that need encoding, every partition, default and odd ports, and session credentials.

use crate::common::*;

const SESSION: &str = "IQoJb3JpZ2luX2VjEMv//////////wEaCXVzLWVhc3QtMSJHMEUCIQDgR5kX+8Q6Nnq0Uq/\
    dQH3fX5a1c8n8yB4m3Q1r9Y2mFgIgC7bX8pD0HkR3V9h5cS4K3b1m+Zl0pI2Q6/sZbX0y8aYq+gIIxP//////////\
    ARAAGgw1NTU1NTU1NTU1NTUiDFpbh2v3S5G4m+3X6irNAbd6m8x4Q8+T1Xh3B2JQf0Z6H5W0P9Y8Z4Vv3R4b3K2n\
    X8q+P5d7f1Y3h9N2kJ6xT8m0Q4L3a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6A7B8C9D0\
    E1F2G3H4I5J6K7L8M9N0O1P2Q3R4S5T6U7V8W9X0Y1Z2a3b4c5d6e7f8g9h0i1j2k3l4m5n6o7p8q9r0s1t2u3v4==";

struct Case {
    host: &'static str,
    port: u16,
    user: &'static str,
    /// Region given to both sides; iamdb also gets it with --region unless the host names it.
    region: &'static str,
    pass_region: bool,
    session: bool,
    secret: &'static str,
}

const fn case(
    host: &'static str,
    port: u16,
    user: &'static str,
    region: &'static str,
    pass_region: bool,
) -> Case {
    Case {
        host,
        port,
        user,
        region,
        pass_region,
        session: false,
        secret: SECRET,
    }
}

const fn with_session(mut c: Case) -> Case {
    c.session = true;
    c
}

const fn with_secret(mut c: Case, secret: &'static str) -> Case {
    c.secret = secret;
    c
}

const AWS_PG: &str = "db1.c9akciq32.eu-west-1.rds.amazonaws.com";
const AWS_MY: &str = "legacy.c9akciq32.us-east-1.rds.amazonaws.com";

fn cases() -> Vec<Case> {
    vec![
        case(AWS_PG, 5432, "app", "eu-west-1", false),
        case(AWS_MY, 3306, "app", "us-east-1", false),
        case(AWS_PG, 5432, "a+b", "eu-west-1", false),
        case(AWS_PG, 5432, "a b", "eu-west-1", false),
        case(AWS_PG, 5432, "a&b", "eu-west-1", false),
        case(AWS_PG, 5432, "a#b", "eu-west-1", false),
        case(AWS_PG, 5432, "100%", "eu-west-1", false),
        case(AWS_PG, 5432, "team/app", "eu-west-1", false),
        case(AWS_PG, 5432, "app@corp", "eu-west-1", false),
        case(AWS_PG, 5432, "k=v", "eu-west-1", false),
        case(AWS_PG, 5432, "jos\u{e9}", "eu-west-1", false),
        case(AWS_PG, 5432, "\u{7528}\u{6237}", "eu-west-1", false),
        case(AWS_PG, 5432, "o'brien", "eu-west-1", false),
        case(AWS_PG, 5432, "~tilde.dot-dash_under", "eu-west-1", false),
        case(AWS_PG, 5432, "a?b:c;d", "eu-west-1", false),
        case(AWS_PG, 5432, "back\\slash\"quote", "eu-west-1", false),
        case(AWS_PG, 5432, "<>[]{}|^`!$*(),", "eu-west-1", false),
        case(
            AWS_PG,
            5432,
            "a_user_name_that_is_sixty_three_characters_long_for_postgres_xx",
            "eu-west-1",
            false,
        ),
        case(
            "aurora.cluster-c9akciq32.ap-southeast-2.rds.amazonaws.com",
            5432,
            "app",
            "ap-southeast-2",
            false,
        ),
        case(
            "aurora.cluster-ro-c9akciq32.ap-southeast-2.rds.amazonaws.com",
            3306,
            "ro",
            "ap-southeast-2",
            false,
        ),
        case(
            "rep.cluster-custom-c9akciq32.ca-central-1.rds.amazonaws.com",
            3306,
            "rep",
            "ca-central-1",
            false,
        ),
        case(
            "edge.proxy-c9akciq32.us-west-2.rds.amazonaws.com",
            5432,
            "app",
            "us-west-2",
            false,
        ),
        case(
            "gov.c9akciq32.us-gov-west-1.rds.amazonaws.com",
            5432,
            "app",
            "us-gov-west-1",
            false,
        ),
        case(
            "cn.c9akciq32.rds.cn-north-1.amazonaws.com.cn",
            3306,
            "app",
            "cn-north-1",
            false,
        ),
        case(
            "cnw.c9akciq32.rds.cn-northwest-1.amazonaws.com.cn",
            5432,
            "a+b",
            "cn-northwest-1",
            false,
        ),
        case("db.internal.example.com", 5432, "app", "eu-central-1", true),
        case(
            "DB1.C9AKCIQ32.EU-WEST-1.RDS.AMAZONAWS.COM",
            5432,
            "app",
            "eu-west-1",
            false,
        ),
        case(AWS_PG, 443, "app", "eu-west-1", false),
        case("Mixed.Case.example.com", 443, "app", "eu-west-1", true),
        case(AWS_PG, 1, "app", "eu-west-1", false),
        case(AWS_PG, 65535, "app", "eu-west-1", false),
        with_session(case(AWS_PG, 5432, "app", "eu-west-1", false)),
        with_session(case(AWS_MY, 3306, "a+b c", "us-east-1", false)),
        with_session(case(
            "gov.c9akciq32.us-gov-east-1.rds.amazonaws.com",
            3306,
            "u",
            "us-gov-east-1",
            false,
        )),
        with_secret(
            case(AWS_PG, 5432, "app", "eu-west-1", false),
            "s3cr3t+/=with/slashes+and+plus",
        ),
        case(AWS_PG, 5432, "app", "us-east-2", true),
    ]
}

fn iamdb_token(instant: &str, c: &Case) -> String {
    let mut sb = Sandbox::new("conformance");
    sb.set("AWS_ACCESS_KEY_ID", AKID)
        .set("AWS_SECRET_ACCESS_KEY", c.secret);
    if c.session {
        sb.set("AWS_SESSION_TOKEN", SESSION);
    }
    let port = c.port.to_string();
    let mut args = vec![
        "token",
        "--no-cache",
        "--host",
        c.host,
        "--port",
        &port,
        "--user",
        c.user,
    ];
    if c.pass_region {
        args.extend(["--region", c.region]);
    }
    sb.run_at(instant, &args).ok().token().to_string()
}

#[test]
fn tokens_match_botocore_byte_for_byte() {
    if !require_faketime() {
        return;
    }
    let cases = cases();
    assert!(cases.len() >= 30);
    // Instants around the edges of the date in the credential scope.
    for instant in [
        "2026-03-04 05:06:07",
        "2028-02-29 23:59:59",
        "2026-12-31 23:59:59",
    ] {
        let boto: Vec<BotoCase<'_>> = cases
            .iter()
            .map(|c| BotoCase {
                host: c.host,
                port: c.port,
                user: c.user,
                region: c.region,
                access_key: AKID,
                secret_key: c.secret,
                session_token: c.session.then_some(SESSION),
            })
            .collect();
        let expected = botocore_tokens(instant, &boto);
        assert_eq!(expected.len(), cases.len());
        let mut mismatches = Vec::new();
        for (c, want) in cases.iter().zip(&expected) {
            let got = iamdb_token(instant, c);
            if &got != want {
                mismatches.push(format!(
                    "{}:{} user {:?}\n  iamdb:    {got}\n  botocore: {want}",
                    c.host, c.port, c.user
                ));
            }
        }
        assert!(
            mismatches.is_empty(),
            "at {instant}:\n{}",
            mismatches.join("\n")
        );
    }
}

#[test]
fn tokens_match_the_aws_cli() {
    if !require_faketime() || !require("aws") {
        return;
    }
    let instant = "2026-07-08 09:10:11";
    for c in cases()
        .iter()
        .filter(|c| c.session || c.user.contains('+') || c.port == 443)
    {
        let mut sb = Sandbox::new("awscli");
        sb.set("AWS_ACCESS_KEY_ID", AKID)
            .set("AWS_SECRET_ACCESS_KEY", c.secret);
        if c.session {
            sb.set("AWS_SESSION_TOKEN", SESSION);
        }
        let port = c.port.to_string();
        let mut aws = sb.command("aws");
        aws.args([
            "rds",
            "generate-db-auth-token",
            "--hostname",
            c.host,
            "--port",
            &port,
        ])
        .args(["--username", c.user, "--region", c.region]);
        fake_time(&mut aws, instant);
        let out = aws.output().unwrap();
        assert!(
            out.status.success(),
            "aws cli: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            format!("{}\n", iamdb_token(instant, c)),
            want,
            "{}:{} {:?}",
            c.host,
            c.port,
            c.user
        );
    }
}
