//! Who owns a connection: the uid and cgroup v2 path of the process that
//! made the MPTCP socket, for `[[rule]]` entries with `uid` / `cgroup`.
//!
//! How the kernel lets us know: every subflow of an MPTCP connection is a
//! kernel TCP socket that inherits the MPTCP socket's owner and cgroup
//! (`mptcp_subflow_create_socket` charges it to the parent), and `inet_diag`
//! reports both — `idiag_uid` and `INET_DIAG_CGROUP_ID` (Linux ≥ 5.7). One
//! exact lookup of the first subflow by its 4-tuple costs tens of µs. The
//! cgroup id is the inode number of the cgroup's directory in the cgroup2
//! mount, so the path comes from walking that mount (cached; walked again
//! at most once a second when an unknown id shows up).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mptcp_policy_netlink::diag::DiagSocket;

use crate::bpf::cgroups::find_cgroup2_mount;

/// What is known of a connection's owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    pub uid: Option<u32>,
    pub cgroup: Option<String>,
}

/// Looks owners up; opened in the daemon's namespace.
pub struct OwnerLookup {
    diag: Option<DiagSocket>,
    cgroups: CgroupIndex,
    warned: bool,
}

impl OwnerLookup {
    pub fn new() -> OwnerLookup {
        let diag = match DiagSocket::open() {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!("cannot open sock_diag ({e}): [[rule]] uid/cgroup cannot match");
                None
            }
        };
        OwnerLookup {
            diag,
            cgroups: CgroupIndex::new(find_cgroup2_mount()),
            warned: false,
        }
    }

    /// The owner of the connection whose first subflow is `local` → `remote`.
    pub fn lookup(&mut self, local: SocketAddr, remote: SocketAddr) -> Owner {
        let Some(diag) = self.diag.as_mut() else {
            return Owner::default();
        };
        match diag.lookup(local, remote) {
            Ok(Some(sf)) => Owner {
                uid: Some(sf.uid),
                cgroup: sf.cgroup_id.and_then(|id| self.cgroups.path_of(id)),
            },
            Ok(None) => Owner::default(),
            Err(e) => {
                if !self.warned {
                    tracing::warn!("sock_diag lookup of {local} -> {remote} failed: {e}");
                    self.warned = true;
                }
                Owner::default()
            }
        }
    }
}

/// cgroup id → path (relative to the cgroup2 root, starting with `/`).
struct CgroupIndex {
    root: Option<PathBuf>,
    by_id: HashMap<u64, String>,
    walked: Option<Instant>,
}

/// A new id is looked for by a walk at most this often.
const REWALK: Duration = Duration::from_secs(1);

impl CgroupIndex {
    fn new(root: Option<PathBuf>) -> CgroupIndex {
        CgroupIndex {
            root,
            by_id: HashMap::new(),
            walked: None,
        }
    }

    fn path_of(&mut self, id: u64) -> Option<String> {
        if let Some(p) = self.by_id.get(&id) {
            return Some(p.clone());
        }
        let root = self.root.clone()?;
        if self.walked.is_some_and(|t| t.elapsed() < REWALK) {
            return None;
        }
        self.walked = Some(Instant::now());
        self.by_id.clear();
        walk(&root, &root, &mut self.by_id);
        self.by_id.get(&id).cloned()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut HashMap<u64, String>) {
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    let rel = dir
        .strip_prefix(root)
        .map(|r| format!("/{}", r.display()))
        .unwrap_or_else(|_| "/".into());
    out.insert(meta.ino(), rel);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(root, &e.path(), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_cgroup_has_the_path_slash() {
        let root = find_cgroup2_mount().expect("a cgroup2 mount (the daemon's rules need it)");
        let ino = std::fs::metadata(&root).expect("stat").ino();
        let mut idx = CgroupIndex::new(Some(root));
        assert_eq!(idx.path_of(ino).as_deref(), Some("/"));
    }
}
