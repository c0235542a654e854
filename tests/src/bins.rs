//! Locating the workspace's binaries from a library (benchmarks, tests).

use anyhow::{bail, Result};
use std::path::PathBuf;

/// Find binary `name`: env var `env` if set, else next to the current
/// executable, else one directory up (integration tests live in `deps/`).
pub fn find_bin(name: &str, env: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!("{env}={} is not a file", p.display());
    }
    let exe = std::env::current_exe()?;
    let mut tried = Vec::new();
    for dir in exe.ancestors().skip(1).take(2) {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
        tried.push(p);
    }
    bail!("binary {name} not found (set {env}); tried {tried:?}")
}

/// The daemon binary for the benchmarks when none is given: next to the
/// current executable (target/release/handover-bench → target/release/mptcp-policyd).
pub fn default_daemon_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("mptcp-policyd")))
        .unwrap_or_else(|| PathBuf::from("target/release/mptcp-policyd"))
}
