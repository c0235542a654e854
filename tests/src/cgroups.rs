//! cgroup v2 for tests: where the hierarchy is mounted, and throwaway
//! cgroups removed on drop.

use std::path::PathBuf;

use anyhow::{Context, Result};

/// The cgroup2 mount of this process's mount namespace (from
/// `/proc/self/mountinfo`; `/sys/fs/cgroup/unified` on hybrid systems).
pub fn cgroup2_mount() -> Result<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").context("mountinfo")?;
    info.lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mount_point = left.split_whitespace().nth(4)?;
            (right.split_whitespace().next()? == "cgroup2").then(|| PathBuf::from(mount_point))
        })
        .context("no cgroup2 mount")
}

/// This process's own cgroup directory (the `0::` line of
/// `/proc/self/cgroup` under [`cgroup2_mount`]).
pub fn own_cgroup_dir() -> Result<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").context("/proc/self/cgroup")?;
    let rel = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .context("no cgroup v2 line")?;
    Ok(cgroup2_mount()?.join(rel.trim_start_matches('/')))
}

/// A cgroup made for a test, `/mptcp-policyd-test-<tag>-<pid>`, removed on
/// drop (its members must be gone by then).
pub struct TestCgroup {
    /// Its directory.
    pub dir: PathBuf,
    /// Its path as `/proc/PID/cgroup` shows it.
    pub path: String,
}

impl TestCgroup {
    pub fn new(tag: &str) -> Result<TestCgroup> {
        let name = format!("mptcp-policyd-test-{tag}-{}", std::process::id());
        let dir = cgroup2_mount()?.join(&name);
        std::fs::create_dir_all(&dir).with_context(|| format!("mkdir {}", dir.display()))?;
        Ok(TestCgroup {
            dir,
            path: format!("/{name}"),
        })
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}
