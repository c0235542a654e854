//! A named network namespace that is deleted on drop.

use crate::process::{ip, run};
use anyhow::Result;
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
