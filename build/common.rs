// Shared by the build scripts of iamdb and iamdb-credentials (each includes this file).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../build/common.rs");
    version();
    println!("cargo:rerun-if-env-changed=CC");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    // Packed relative relocations (DT_RELR): a PIE applies ~28 000 relative relocations at
    // every start, and reading their 24-byte entries was the largest part of iamdb's startup.
    // DT_RELR stores them in a few KB. It needs binutils >= 2.38 to link and glibc >= 2.36 to
    // run, so it is used only where the toolchain here accepts it.
    if target.ends_with("linux-gnu")
        && target == host
        && linker_accepts("-Wl,-z,pack-relative-relocs")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// `iamdb --version` names the commit it was built from, when built from a git checkout.
fn version() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let full = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => format!("{version} (not built from a git checkout)"),
    };
    println!("cargo:rustc-env=IAMDB_VERSION={full}");
    // Rebuild the version when HEAD moves.
    if let Ok(git_dir) = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .output()
        && git_dir.status.success()
    {
        let dir = String::from_utf8_lossy(&git_dir.stdout).trim().to_string();
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Ok(head) = std::fs::read_to_string(format!("{dir}/HEAD"))
            && let Some(reference) = head.trim().strip_prefix("ref: ")
        {
            println!("cargo:rerun-if-changed={dir}/{reference}");
        }
    }
}

fn linker_accepts(flag: &str) -> bool {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    let src = out.join("probe.c");
    if std::fs::write(&src, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(cc)
        .arg(&src)
        .arg("-o")
        .arg(out.join("probe"))
        .arg(flag)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
