//! DNS aliases: a profile whose host is a company name (a CNAME of the RDS endpoint) signs
//! for the AWS name DNS gives, and its clients still dial the alias with TLS checking the AWS
//! name; `sign_host` pins the name without asking DNS; a cache hit asks DNS nothing. A real
//! dnsmasq answers (common/dns.rs) and the PostgreSQL server checks tokens like RDS.

use crate::common::dns::{self, Dns};
use crate::common::pg::{self, Pg, WHO, psql_args, refused};
use crate::common::*;

const ALIAS: &str = "orders-db.corp.example.com";
const GLOBAL: &str = "orders.global-abc123def.global.rds.amazonaws.com";

/// A profile for the shared server by `host`, with no region and no tunnel: all it knows
/// comes from DNS (or `extra`).
fn alias_profile(pg: &Pg, name: &str, host: &str, extra: &str) -> String {
    pg.profile(name, host, "app")
        .replace(&format!("region = \"{}\"\n", pg::REGION), "")
        .replace("connect_host = \"127.0.0.1\"\n", "")
        + extra
}

#[test]
fn an_alias_signs_for_the_aws_name_and_clients_dial_the_alias() {
    if !pg::available() || !dns::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = Sandbox::new("alias").with_env_keys();
    sb.write_config(
        &[
            alias_profile(pg, "corp", ALIAS, ""),
            alias_profile(
                pg,
                "pinned",
                ALIAS,
                &format!("sign_host = \"{}\"\n", pg::RDS_NAME),
            ),
        ]
        .concat(),
    );
    let dns = Dns::start(
        &sb,
        &[(ALIAS, pg::RDS_NAME)],
        &[(pg::RDS_NAME, "127.0.0.1")],
    );

    // psql by the alias logs in: one DNS question gave both the AWS name and the address.
    assert_eq!(dns.run(&sb, &psql_args("corp", WHO)).ok().stdout, "app\n");
    assert_eq!(dns.queries(ALIAS), 1);

    // The token psql was given is cached: asking again is a hit, and asks DNS nothing.
    let token = dns.run(&sb, &["token", "corp"]).ok().stdout;
    assert!(
        token.starts_with(&format!("{}:{}/?Action=connect", pg::RDS_NAME, pg.port)),
        "{token}"
    );
    assert_eq!(dns.queries(ALIAS), 1, "a cache hit asked DNS");

    // -v says what DNS said; doctor shows it.
    let verbose = dns.run(&sb, &["-v", "token", "corp", "--no-cache"]).ok();
    assert!(
        verbose
            .stderr
            .contains(&format!("{ALIAS} -> {}", pg::RDS_NAME)),
        "{}",
        verbose.stderr
    );
    let doctor = Run::from(dns.iamdb(&sb, &["doctor", "corp"]).output().unwrap());
    assert!(
        doctor
            .stdout
            .lines()
            .any(|l| l.contains("dns") && l.contains(&format!("{ALIAS} -> {}", pg::RDS_NAME))),
        "{}",
        doctor.stdout
    );

    // sign_host pins the name: no question at all for the token.
    let before = dns.queries(ALIAS);
    let pinned = dns.run(&sb, &["token", "pinned"]).ok().stdout;
    assert!(
        pinned.starts_with(&format!("{}:", pg::RDS_NAME)),
        "{pinned}"
    );
    assert_eq!(dns.queries(ALIAS), before, "sign_host still asked DNS");
    assert_eq!(dns.run(&sb, &psql_args("pinned", WHO)).ok().stdout, "app\n");

    // .pgpass and pg_service.conf written by alias: psql service=corp logs in by itself
    // (host is the AWS name for TLS and .pgpass, hostaddr the alias's address).
    dns.run(&sb, &["pgpass", "sync", "corp"]).ok();
    dns.run(&sb, &["pgservice", "sync", "corp"]).ok();
    let services = std::fs::read_to_string(sb.home().join(".pg_service.conf")).unwrap();
    assert!(
        services.contains(&format!("host={}\nhostaddr=127.0.0.1\n", pg::RDS_NAME)),
        "{services}"
    );
    let service = sb
        .command("psql")
        .args(["service=corp", "-X", "-tA", "-c", "SELECT current_user"])
        .output()
        .map(Run::from)
        .unwrap();
    assert_eq!(service.ok().stdout, "app\n");

    // The negative twin: the token a naive signer makes for the alias is refused at login.
    let naive = sb
        .run(&[
            "token",
            "--host",
            ALIAS,
            "--port",
            &pg.port.to_string(),
            "--engine",
            "postgres",
            "--user",
            "app",
            "--region",
            pg::REGION,
            "--sign-host",
            ALIAS,
            "--no-cache",
        ])
        .ok()
        .stdout;
    assert!(naive.starts_with(ALIAS), "{naive}");
    let mut psql = sb.command("psql");
    psql.args([
        &format!(
            "host={} hostaddr=127.0.0.1 port={} user=app dbname=shop sslmode=verify-full sslrootcert={}",
            pg::RDS_NAME,
            pg.port,
            pg.ca.display()
        ),
        "-X",
        "-tA",
        "-c",
        "SELECT 1",
    ])
    .env("PGPASSWORD", naive.trim());
    refused(&Run::from(psql.output().unwrap()));
}

#[test]
fn an_aurora_global_writer_endpoint_signs_for_the_primary_cluster() {
    if !pg::available() || !dns::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = Sandbox::new("alias-global").with_env_keys();
    sb.write_config(&alias_profile(pg, "global", GLOBAL, ""));
    let dns = Dns::start(
        &sb,
        &[(GLOBAL, pg::RDS_NAME)],
        &[(pg::RDS_NAME, "127.0.0.1")],
    );
    assert_eq!(dns.run(&sb, &psql_args("global", WHO)).ok().stdout, "app\n");
    let token = dns.run(&sb, &["token", "global"]).ok().stdout;
    assert!(token.starts_with(&format!("{}:", pg::RDS_NAME)), "{token}");
    assert!(token.contains("%2Feu-west-1%2Frds-db%2F"), "{token}");
}

#[test]
fn cache_aliases_are_looked_up_only_when_the_name_or_region_is_unknown() {
    if !dns::available() {
        return;
    }
    let sb = Sandbox::new("alias-cache").with_env_keys();
    let node = "master.orders-rg.abc123.use1.cache.amazonaws.com";
    sb.write_config(
        "[profiles.named]\nengine = \"elasticache\"\nhost = \"cache-a.corp.example.com\"\n\
         cache_name = \"orders-rg\"\nregion = \"us-east-1\"\nuser = \"app\"\n\
         [profiles.bare]\nengine = \"elasticache\"\nhost = \"cache-b.corp.example.com\"\nuser = \"app\"\n",
    );
    let dns = Dns::start(
        &sb,
        &[
            ("cache-a.corp.example.com", node),
            ("cache-b.corp.example.com", node),
        ],
        &[(node, "127.0.0.1")],
    );
    let named = dns.run(&sb, &["token", "named"]).ok().stdout;
    assert!(named.starts_with("orders-rg/?Action=connect"), "{named}");
    assert_eq!(dns.queries("cache-a.corp.example.com"), 0);
    let bare = dns.run(&sb, &["token", "bare"]).ok().stdout;
    assert!(bare.starts_with("orders-rg/?Action=connect"), "{bare}");
    assert!(bare.contains("%2Fus-east-1%2Felasticache%2F"), "{bare}");
    assert_eq!(dns.queries("cache-b.corp.example.com"), 1);
}

#[test]
fn a_dns_server_that_does_not_answer_is_a_config_error_naming_the_way_out() {
    if !pg::available() || !dns::available() {
        return;
    }
    let pg = Pg::shared();
    let sb = Sandbox::new("alias-down").with_env_keys();
    sb.write_config(&alias_profile(pg, "corp", ALIAS, ""));
    let dns = Dns::start(&sb, &[], &[]);
    let dead = dns.iamdb(&sb, &["token", "corp"]);
    drop(dns);
    let run = Run::from({ dead }.output().unwrap()).fails(3);
    assert!(
        run.stderr.contains(&format!("cannot ask DNS what {ALIAS}"))
            && run.stderr.contains("sign_host"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.trim().lines().count(), 2, "{}", run.stderr);
}
