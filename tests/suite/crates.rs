//! The crate graph keeps the AWS SDK, async runtimes and TLS stacks out of `iamdb`: a cache hit
//! must not pay for starting them. Checked with `cargo metadata`, as cargo resolves it.

use std::collections::{BTreeSet, VecDeque};
use std::process::Command;

use crate::common::stdout_of;

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

pub(crate) fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = stdout_of(
        Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--locked"])
            .current_dir(env!("CARGO_MANIFEST_DIR")),
    );
    serde_json::from_str(&out).unwrap()
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

/// The modules of one crate (top-level names under `src/`) and the crate modules each one uses
/// outside its tests: `crate::name` paths and `use crate::{a, b::c}` lists.
fn module_uses(src: &std::path::Path) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut uses = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        let mut found = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            if let Some(list) = rest.strip_prefix('{') {
                let list = &list[..list.find('}').unwrap_or(list.len())];
                for item in list.split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    found.insert(name.to_string());
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                found.insert(name);
            }
        }
        found.retain(|m| {
            !m.is_empty() && *m != top && m.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        uses.entry(top).or_default().extend(found);
    }
    uses
}

/// A cycle among `uses` (module -> modules it uses), if there is one.
fn find_cycle(uses: &std::collections::BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        uses: &std::collections::BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in uses.get(m).into_iter().flatten() {
            if uses.contains_key(next)
                && let Some(c) = visit(next, uses, path, done)
            {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    uses.keys()
        .find_map(|m| visit(m, uses, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_in_a_circle() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for src in [
        "crates/iamdb-core/src",
        "src",
        "crates/iamdb-credentials/src",
    ] {
        let uses = module_uses(&root.join(src));
        assert!(uses.len() >= 3, "{src}: found only {:?}", uses.keys());
        if let Some(cycle) = find_cycle(&uses) {
            panic!(
                "{src}: modules import each other in a circle: {}",
                cycle.join(" -> ")
            );
        }
    }
    // Command files are thin: none imports another (shared code lives in iamdb-core).
    let cmd = root.join("src/cmd");
    for entry in std::fs::read_dir(&cmd).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "mod.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for bad in ["crate::cmd::", "super::"] {
            let hit = text.split("#[cfg(test)]").next().unwrap().contains(bad);
            assert!(!hit, "{} uses another command file ({bad})", path.display());
        }
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    // The check above is only worth its name if it sees a circle when there is one.
    let mut uses = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    uses.entry("a".into()).or_default().insert("b".into());
    uses.entry("b".into()).or_default().insert("c".into());
    uses.entry("c".into()).or_default().insert("a".into());
    assert_eq!(find_cycle(&uses).unwrap(), ["a", "b", "c", "a"]);
    uses.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&uses), None);
}
