//! The crate graph keeps the AWS SDK, async runtimes and TLS stacks out of `iamdb`: a cache hit
//! must not pay for starting them. Checked with `cargo metadata`, as cargo resolves it.

use std::collections::{BTreeSet, VecDeque};
use std::process::Command;

/// What iamdb must not link, by crate name (or name prefix, with `*`).
const BANNED: &[&str] = &[
    "aws-config",
    "aws-sdk-*",
    "aws-smithy-*",
    "tokio",
    "hyper",
    "hyper-*",
    "rustls",
    "rustls-*",
    "aws-lc-*",
];

fn banned(name: &str) -> bool {
    BANNED.iter().any(|b| match b.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *b,
    })
}

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn iamdb_links_no_aws_sdk_runtime_or_tls() {
    let meta = metadata();
    let packages = meta["packages"].as_array().unwrap();
    let name_of = |id: &str| {
        packages
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["name"].as_str().unwrap().to_string())
            .unwrap()
    };
    // Our own crates declare none of them, not even as optional dependencies (a feature on
    // a shared crate would bring them back through cargo's feature unification).
    for ours in ["iamdb", "iamdb-core"] {
        let package = packages.iter().find(|p| p["name"] == ours).unwrap();
        for dep in package["dependencies"].as_array().unwrap() {
            let name = dep["name"].as_str().unwrap();
            let dev = dep["kind"] == "dev";
            assert!(dev || !banned(name), "{ours} declares {name}");
        }
    }
    // And nothing iamdb depends on, however deep, brings one in.
    let nodes = meta["resolve"]["nodes"].as_array().unwrap();
    let root = packages.iter().find(|p| p["name"] == "iamdb").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([root]);
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let node = nodes.iter().find(|n| n["id"] == id.as_str()).unwrap();
        for dep in node["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                queue.push_back(dep["pkg"].as_str().unwrap().to_string());
            }
        }
    }
    let names: BTreeSet<String> = seen.iter().map(|id| name_of(id)).collect();
    let found: Vec<&String> = names.iter().filter(|n| banned(n)).collect();
    assert!(found.is_empty(), "iamdb links {found:?}");
    // The helper is where they are.
    assert!(packages.iter().any(|p| {
        p["name"] == "iamdb-credentials"
            && p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["name"] == "aws-config")
    }));
    assert!(
        names.contains("iamdb-core") && names.len() > 10,
        "{names:?}"
    );
}
