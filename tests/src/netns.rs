//! A named network namespace that is deleted on drop.

use crate::process::{ip, run};
use anyhow::{bail, Context, Result};
use std::os::fd::AsRawFd;
use std::thread::JoinHandle;
use std::time::Duration;

/// A network namespace created with `ip netns add`; on drop every process
/// still inside it is killed and the namespace is deleted.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Create namespace `name` (fails if it exists).
    pub fn new(name: &str) -> Result<Self> {
        ip(&["netns", "add", name])?;
        let ns = Self {
            name: name.to_string(),
        };
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes left in the namespace would keep it alive: end them.
        if let Ok(pids) = run("ip", &["netns", "pids", &self.name], Duration::from_secs(5)) {
            for pid in pids
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                // SAFETY: kill(2) of a process found inside our own namespace.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Delete testbed namespaces (`mpt<pid>x<n>c|s`) left behind by processes
/// that no longer exist (e.g. a test run killed by a timeout). Namespaces of
/// live processes and every other namespace are left alone. Returns how many
/// were removed.
pub fn cleanup_stale_namespaces() -> Result<usize> {
    let list = ip(&["netns", "list"])?;
    let mut removed = 0;
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) = stale_owner(name) else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        drop(Netns {
            name: name.to_string(),
        });
        removed += 1;
    }
    Ok(removed)
}

/// The pid in a testbed namespace name `mpt<pid>x<n>c|s`.
fn stale_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("mpt")?;
    let (pid, tail) = rest.split_once('x')?;
    let n = tail.strip_suffix('c').or_else(|| tail.strip_suffix('s'))?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
    pid.parse().ok()
}

/// Runs `f` in a new thread that first joins network namespace `ns`
/// (`/run/netns/NS`): a socket opened there lives in that namespace.
pub fn in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> JoinHandle<Result<T>> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).with_context(|| format!("open {path}"))?;
        // SAFETY: a valid namespace fd; only this thread changes namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            bail!("setns {path}: {}", std::io::Error::last_os_error());
        }
        f()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn stale_names() {
        assert_eq!(super::stale_owner("mpt123x4c"), Some(123));
        assert_eq!(super::stale_owner("mpt123x4s"), Some(123));
        assert_eq!(super::stale_owner("mpt123x4"), None);
        assert_eq!(super::stale_owner("mptcp-other"), None);
        assert_eq!(super::stale_owner("foo"), None);
    }
}
