//! A cgroup of its own for each booted container. Without systemd on this
//! host to make a scope, nspawn runs with `--keep-unit`: the container
//! lives in its caller's cgroup, in `payload/` below it, so two containers
//! booted by one test process would share one tree and each one's systemd
//! would take the other's units for its own.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The container's cgroup directories (one per hierarchy systemd uses);
/// removed, with what the container made below them, on drop.
#[derive(Debug)]
pub struct OwnCgroup {
    dirs: Vec<PathBuf>,
}

impl OwnCgroup {
    /// Makes `mptcp-nspawn-<name>-<pid>` below this process's cgroup in the
    /// `name=systemd` hierarchy (cgroup v1) and in the unified one (v2).
    pub fn new(name: &str) -> Result<OwnCgroup> {
        let mine = std::fs::read_to_string("/proc/self/cgroup")?;
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")?;
        let leaf = format!("mptcp-nspawn-{name}-{}", std::process::id());
        let mut dirs = Vec::new();
        for (mount_point, v2) in systemd_hierarchies(&mounts) {
            let own = mine.lines().find_map(|l| {
                let mut f = l.splitn(3, ':');
                let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
                let wanted = if v2 {
                    controllers.is_empty()
                } else {
                    controllers.split(',').any(|c| c == "name=systemd")
                };
                wanted.then(|| path.to_string())
            });
            let Some(own) = own else { continue };
            let dir = mount_point.join(own.trim_start_matches('/')).join(&leaf);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("making cgroup {}", dir.display()))?;
            dirs.push(dir);
        }
        if dirs.is_empty() {
            bail!("no name=systemd or unified cgroup hierarchy in /proc/self/mountinfo");
        }
        Ok(OwnCgroup { dirs })
    }

    /// The `cgroup.procs` files a process writes its PID to, to move in.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }
}

impl Drop for OwnCgroup {
    fn drop(&mut self) {
        // The container's last processes may take a moment to go.
        let end = Instant::now() + Duration::from_secs(15);
        for dir in &self.dirs {
            while remove_tree(dir).is_err() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Mount points of the hierarchies systemd uses: `(path, is_v2)`.
fn systemd_hierarchies(mountinfo: &str) -> Vec<(PathBuf, bool)> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            let (fstype, _source, options) = (r.next()?, r.next()?, r.next()?);
            match fstype {
                "cgroup2" => Some((PathBuf::from(mount_point), true)),
                "cgroup" if options.split(',').any(|o| o == "name=systemd") => {
                    Some((PathBuf::from(mount_point), false))
                }
                _ => None,
            }
        })
        .collect()
}

/// Removes a cgroup directory and those below it, deepest first (a cgroup
/// directory goes with `rmdir` once it holds no process and no child).
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            remove_tree(&entry.path())?;
        }
    }
    std::fs::remove_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_hierarchies_systemd_uses() {
        let mountinfo = "\
35 25 0:30 / /sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory
36 25 0:31 / /sys/fs/cgroup/systemd rw,relatime shared:14 - cgroup cgroup rw,xattr,name=systemd
37 25 0:32 / /sys/fs/cgroup/unified rw,relatime shared:15 - cgroup2 cgroup2 rw
";
        assert_eq!(
            systemd_hierarchies(mountinfo),
            vec![
                (PathBuf::from("/sys/fs/cgroup/systemd"), false),
                (PathBuf::from("/sys/fs/cgroup/unified"), true),
            ]
        );
    }
}
