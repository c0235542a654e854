//! MPTCP subflows as `ss -tni` shows them in the client namespace, and a
//! polling wait, for the userspace path manager's end-to-end tests.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use mptcp_policy_tests::{ns_exec, Testbed};

/// One established MPTCP subflow as `ss -tni` shows it in the client namespace.
#[derive(Debug, Clone)]
pub struct Sf {
    pub local: String,
    /// Peer end (`ADDR:PORT`).
    pub remote: String,
    pub token: u32,
    /// `b` in ss's flags: we flagged it backup (`MPTCP_SUBFLOW_FLAG_BKUP_LOC`).
    pub backup_local: bool,
    pub bytes_acked: u64,
}

pub fn ss_subflows(tb: &Testbed) -> Result<Vec<Sf>> {
    let out = ns_exec(tb.client_ns(), "ss", &["-tniH", "state", "established"])?;
    let mut result = Vec::new();
    let mut local: Option<String> = None;
    let mut remote = String::new();
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !line.starts_with(char::is_whitespace) && words.len() >= 4 {
            local = words.get(2).map(|s| s.to_string());
            remote = words.get(3).map(|s| s.to_string()).unwrap_or_default();
        } else if line.contains("tcp-ulp-mptcp") {
            let field = |name: &str| words.iter().find_map(|w| w.strip_prefix(name));
            let flags = field("flags:").unwrap_or("");
            // token:REMOTE(id:n)/LOCAL(id:m)
            let token = field("token:")
                .and_then(|t| t.split('/').nth(1))
                .and_then(|t| t.split('(').next())
                .and_then(|h| u32::from_str_radix(h, 16).ok());
            let bytes_acked = field("bytes_acked:")
                .and_then(|b| b.parse().ok())
                .unwrap_or(0);
            if let (Some(l), Some(token)) = (local.take(), token) {
                result.push(Sf {
                    local: l,
                    remote: remote.clone(),
                    token,
                    backup_local: flags.contains('b'),
                    bytes_acked,
                });
            }
        }
    }
    Ok(result)
}

/// `sf` starts from `addr` (ss writes `ADDR%DEV:PORT` for a bound subflow).
pub fn on(sf: &Sf, addr: &str) -> bool {
    sf.local.starts_with(&format!("{addr}:")) || sf.local.starts_with(&format!("{addr}%"))
}

pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Connections by token from the client's subflows.
pub fn by_token(sfs: &[Sf]) -> BTreeMap<u32, Vec<Sf>> {
    let mut m: BTreeMap<u32, Vec<Sf>> = BTreeMap::new();
    for s in sfs {
        m.entry(s.token).or_default().push(s.clone());
    }
    m
}
