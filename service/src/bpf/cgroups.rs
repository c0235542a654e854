//! cgroup v2 paths and ids: what `EnableCgroup` accepts, how a path becomes
//! the id the BPF program compares, and how a socket's cgroup is matched.
//!
//! A path is relative to the cgroup2 mount, as in `/proc/PID/cgroup`
//! (`0::/system.slice/foo.service`) and `systemctl show -p ControlGroup`:
//! `/system.slice/foo.service`. Its id is the inode number of the cgroup's
//! directory in cgroupfs — what `bpf_get_current_cgroup_id()` returns.
//!
//! Per-app rules of the userspace path manager match the same paths: the
//! kernel reports each socket's cgroup id in `inet_diag` replies
//! (`INET_DIAG_CGROUP_ID`, what `ss --cgroup` prints), which
//! `userspace/owner.rs` maps back to a path for `[[rule]] cgroup`
//! (descendants count, like in the BPF program). Ids change when a cgroup
//! is removed and created again (a unit restart), paths do not: that is
//! why paths are what is stored.

use std::io;
use std::path::{Path, PathBuf};

/// Longest path accepted (PATH_MAX).
const MAX_PATH: usize = 4096;

/// A validated cgroup path: absolute, normalized (`/` or `/a/b`, no empty,
/// `.` or `..` component, no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CgroupPath(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CgroupPathError {
    #[error("cgroup path is empty")]
    Empty,
    #[error("cgroup path {0:?} must start with / (relative to the cgroup2 mount, as in /proc/PID/cgroup)")]
    NotAbsolute(String),
    #[error("cgroup path {0:?} contains a . or .. component")]
    DotComponent(String),
    #[error("cgroup path {0:?} contains a control character")]
    Control(String),
    #[error("cgroup path is {0} bytes long; at most {MAX_PATH}")]
    TooLong(usize),
}

impl CgroupPath {
    /// Validates and normalizes (`//a//b/` becomes `/a/b`). A path under
    /// the usual mount points (`/sys/fs/cgroup/...`) is not taken apart:
    /// it is refused unless it exists there relative to the mount, which
    /// the caller checks.
    pub fn parse(text: &str) -> Result<CgroupPath, CgroupPathError> {
        if text.is_empty() {
            return Err(CgroupPathError::Empty);
        }
        if text.len() > MAX_PATH {
            return Err(CgroupPathError::TooLong(text.len()));
        }
        if text.chars().any(char::is_control) {
            return Err(CgroupPathError::Control(text.escape_debug().to_string()));
        }
        if !text.starts_with('/') {
            return Err(CgroupPathError::NotAbsolute(text.to_string()));
        }
        let parts: Vec<&str> = text.split('/').filter(|p| !p.is_empty()).collect();
        if parts.iter().any(|p| *p == "." || *p == "..") {
            return Err(CgroupPathError::DotComponent(text.to_string()));
        }
        Ok(CgroupPath(format!("/{}", parts.join("/"))))
    }

    /// The directory of this cgroup under the cgroup2 mount `root`.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(self.0.trim_start_matches('/'))
    }
}

impl std::fmt::Display for CgroupPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The mount point of the cgroup2 hierarchy from `/proc/self/mountinfo`
/// text (pure; `/sys/fs/cgroup` on unified systems,
/// `/sys/fs/cgroup/unified` on hybrid ones).
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // "36 25 0:31 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw,..."
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        let mount_point = left.split_whitespace().nth(4)?;
        (fstype == "cgroup2").then(|| PathBuf::from(unescape_octal(mount_point)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(b) => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The cgroup2 mount of this system, or `None` without cgroup v2.
pub fn find_cgroup2_mount() -> Option<PathBuf> {
    cgroup2_mount(&std::fs::read_to_string("/proc/self/mountinfo").ok()?)
}

/// The id of an existing cgroup: the inode number of its directory.
pub fn cgroup_id(root: &Path, path: &CgroupPath) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path.dir(root))?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a cgroup directory",
        ));
    }
    Ok(meta.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> CgroupPath {
        CgroupPath::parse(s).expect(s)
    }

    #[test]
    fn paths_are_validated_and_normalized() {
        let ok = [
            ("/", "/"),
            ("/system.slice/nginx.service", "/system.slice/nginx.service"),
            (
                "//user.slice//user-1000.slice/",
                "/user.slice/user-1000.slice",
            ),
            ("/a b/c@d:e", "/a b/c@d:e"),
        ];
        for (input, want) in ok {
            assert_eq!(p(input).to_string(), want, "{input:?}");
        }
        let bad = [
            ("", CgroupPathError::Empty),
            (
                "system.slice",
                CgroupPathError::NotAbsolute("system.slice".into()),
            ),
            ("/a/../b", CgroupPathError::DotComponent("/a/../b".into())),
            ("/a/./b", CgroupPathError::DotComponent("/a/./b".into())),
            ("/a\nb", CgroupPathError::Control("/a\\nb".into())),
        ];
        for (input, want) in bad {
            assert_eq!(CgroupPath::parse(input), Err(want), "{input:?}");
        }
        let long = format!("/{}", "x".repeat(MAX_PATH));
        assert_eq!(
            CgroupPath::parse(&long),
            Err(CgroupPathError::TooLong(MAX_PATH + 1))
        );
    }

    #[test]
    fn the_cgroup2_mount_is_found_in_mountinfo() {
        let unified =
            "30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        let hybrid = "\
28 24 0:24 / /sys/fs/cgroup ro,nosuid shared:4 - tmpfs tmpfs ro,mode=755
29 28 0:25 / /sys/fs/cgroup/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw,nsdelegate
30 28 0:26 / /sys/fs/cgroup/systemd rw,nosuid shared:6 - cgroup cgroup rw,name=systemd
";
        let escaped = "30 24 0:26 / /mnt/my\\040cg rw - cgroup2 none rw\n";
        let v1_only = "29 28 0:25 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(cgroup2_mount(unified), Some("/sys/fs/cgroup".into()));
        assert_eq!(cgroup2_mount(hybrid), Some("/sys/fs/cgroup/unified".into()));
        assert_eq!(cgroup2_mount(escaped), Some("/mnt/my cg".into()));
        assert_eq!(cgroup2_mount(v1_only), None);
        assert_eq!(cgroup2_mount(""), None);
    }

    /// On the real cgroupfs of this machine: the id of this process's own
    /// cgroup is the inode of its directory.
    #[test]
    fn ids_of_real_cgroups_are_directory_inodes() {
        use std::os::unix::fs::MetadataExt;
        let root = find_cgroup2_mount().expect("cgroup v2 is mounted");
        let own = std::fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup");
        let own = own
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map(p)
            .expect("0:: line");
        let id = cgroup_id(&root, &own).expect("own cgroup exists");
        assert!(id > 0);
        let ino = std::fs::metadata(own.dir(&root)).expect("stat").ino();
        assert_eq!(id, ino);
        let missing = p("/no-such-cgroup-mptcp-policyd-test");
        assert_eq!(
            cgroup_id(&root, &missing).map_err(|e| e.kind()),
            Err(io::ErrorKind::NotFound)
        );
    }
}
