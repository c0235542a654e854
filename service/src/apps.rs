//! Apps put on MPTCP by the kernel's BPF hook: the enabled cgroups
//! (persisted in the state directory as `apps.json`), the BPF program that
//! converts their sockets where the kernel allows it, and its status.
//!
//! The set is kept even where BPF is unavailable: it names the apps whose
//! connections per-connection rules may match ([`Apps::subscribe`]; see
//! [`crate::bpf::cgroups`] for matching a socket's cgroup id). Unmodified
//! programs then reach MPTCP through the preload library
//! (`mptcp-policyctl run`, `mptcp-policyctl enable UNIT`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::bpf::cgroups::{self, CgroupPath};
use crate::bpf::object::MAP_CAPACITY;
use crate::bpf::{BpfStatus, Mptcpify};
use crate::store::write_atomically;

const APPS_FILE: &str = "apps.json";

/// An enabled cgroup as the rest of the daemon sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledCgroup {
    pub path: CgroupPath,
    /// Its current id; `None` while the cgroup does not exist (a stopped
    /// unit): it is looked up again on the next start or enable.
    pub id: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AppsFile {
    version: u32,
    cgroups: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppsError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Failed(String),
}

/// Shared by the D-Bus adapter and the engine; cheap to clone.
#[derive(Clone)]
pub struct Apps {
    inner: Arc<Mutex<Inner>>,
    changes: watch::Sender<Vec<EnabledCgroup>>,
}

struct Inner {
    file: PathBuf,
    root: Option<PathBuf>,
    enabled: BTreeMap<CgroupPath, Option<u64>>,
    status: BpfStatus,
    program: Option<Mptcpify>,
}

impl Apps {
    /// Reads the enabled set, probes and loads the BPF program (the probe
    /// never stops the daemon), and puts the existing cgroups in its map.
    /// `dry_run`: the program is loaded (the probe) but not attached.
    pub fn start(state_dir: &Path, cgroup_root: Option<PathBuf>, dry_run: bool) -> Apps {
        let file = state_dir.join(APPS_FILE);
        let root = cgroup_root.or_else(cgroups::find_cgroup2_mount);
        let (program, status) = match Mptcpify::load(!dry_run) {
            Ok(Some(p)) => (Some(p), BpfStatus::Active),
            Ok(None) => (
                None,
                BpfStatus::Unavailable("--dry-run: the program loads but is not attached".into()),
            ),
            Err(why) => (None, BpfStatus::Unavailable(why)),
        };
        match &status {
            BpfStatus::Active => tracing::info!("bpf: {status}"),
            BpfStatus::Unavailable(_) => tracing::warn!(
                "bpf: {status}; unmodified apps use MPTCP through the preload library only \
                 (mptcp-policyctl run / enable UNIT)"
            ),
        }
        let mut inner = Inner {
            file,
            root,
            enabled: BTreeMap::new(),
            status,
            program,
        };
        for path in inner.load_file() {
            let id = inner.lookup(&path).ok();
            if let (Some(id), Some(p)) = (id, &inner.program) {
                if let Err(e) = p.set(id, true) {
                    tracing::warn!("cgroup {path}: {e}");
                }
            }
            if id.is_none() {
                tracing::info!("enabled cgroup {path} does not exist now; kept");
            }
            inner.enabled.insert(path, id);
        }
        let (changes, _) = watch::channel(inner.snapshot());
        Apps {
            inner: Arc::new(Mutex::new(inner)),
            changes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the set half-changed
        // (every change is one insert/remove after the fallible steps).
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `BpfStatus` as published.
    pub fn bpf_status(&self) -> String {
        self.lock().status.to_string()
    }

    /// Enabled cgroups as `(path, id)`; id 0 while the cgroup is absent.
    pub fn enabled(&self) -> Vec<(String, u64)> {
        self.lock()
            .snapshot()
            .into_iter()
            .map(|c| (c.path.to_string(), c.id.unwrap_or(0)))
            .collect()
    }

    /// Enables a cgroup (it must exist). Nothing changes when any step fails.
    pub fn enable(&self, path: &str) -> Result<(), AppsError> {
        let path =
            CgroupPath::parse(path).map_err(|e| AppsError::InvalidArgument(e.to_string()))?;
        let mut inner = self.lock();
        let id = inner.lookup(&path)?;
        if inner.enabled.get(&path) == Some(&Some(id)) {
            return Ok(());
        }
        if !inner.enabled.contains_key(&path) && inner.enabled.len() >= MAP_CAPACITY {
            return Err(AppsError::InvalidArgument(format!(
                "{MAP_CAPACITY} cgroups are enabled already; disable one first"
            )));
        }
        if let Some(p) = &inner.program {
            p.set(id, true).map_err(AppsError::Failed)?;
        }
        let before = inner.enabled.insert(path.clone(), Some(id));
        if let Err(e) = inner.save() {
            match before {
                Some(old) => inner.enabled.insert(path.clone(), old),
                None => inner.enabled.remove(&path),
            };
            if let Some(p) = &inner.program {
                let _ = p.set(id, false);
            }
            return Err(e);
        }
        tracing::info!("cgroup {path} (id {id}) enabled for MPTCP");
        self.changes.send_replace(inner.snapshot());
        Ok(())
    }

    /// Disables a cgroup enabled before.
    pub fn disable(&self, path: &str) -> Result<(), AppsError> {
        let path =
            CgroupPath::parse(path).map_err(|e| AppsError::InvalidArgument(e.to_string()))?;
        let mut inner = self.lock();
        let Some(id) = inner.enabled.remove(&path) else {
            let known: Vec<String> = inner.enabled.keys().map(ToString::to_string).collect();
            return Err(AppsError::InvalidArgument(format!(
                "cgroup {path} is not enabled (enabled: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        };
        if let Err(e) = inner.save() {
            inner.enabled.insert(path, id);
            return Err(e);
        }
        if let (Some(id), Some(p)) = (id, &inner.program) {
            if let Err(e) = p.set(id, false) {
                tracing::warn!("cgroup {path}: {e}");
            }
        }
        tracing::info!("cgroup {path} disabled for MPTCP");
        self.changes.send_replace(inner.snapshot());
        Ok(())
    }
}

impl Inner {
    fn snapshot(&self) -> Vec<EnabledCgroup> {
        self.enabled
            .iter()
            .map(|(path, id)| EnabledCgroup {
                path: path.clone(),
                id: *id,
            })
            .collect()
    }

    fn lookup(&self, path: &CgroupPath) -> Result<u64, AppsError> {
        let root = self.root.as_deref().ok_or_else(|| {
            AppsError::Failed("this system has no cgroup v2 hierarchy mounted".into())
        })?;
        cgroups::cgroup_id(root, path).map_err(|e| {
            AppsError::InvalidArgument(format!(
                "no cgroup {path} ({}: {e}); see /proc/PID/cgroup or \
                 'systemctl show -p ControlGroup UNIT'",
                path.dir(root).display()
            ))
        })
    }

    /// The persisted paths; a corrupt file is reported and treated as empty.
    fn load_file(&self) -> Vec<CgroupPath> {
        let text = match std::fs::read_to_string(&self.file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => {
                tracing::warn!(
                    "cannot read {}: {e}; no cgroup enabled",
                    self.file.display()
                );
                return Vec::new();
            }
        };
        match serde_json::from_str::<AppsFile>(&text) {
            Ok(f) => f
                .cgroups
                .iter()
                .filter_map(|p| match CgroupPath::parse(p) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::warn!("{}: {e}; skipped", self.file.display());
                        None
                    }
                })
                .collect(),
            Err(e) => {
                tracing::warn!(
                    "{} is corrupt ({e}); no cgroup enabled",
                    self.file.display()
                );
                Vec::new()
            }
        }
    }

    fn save(&self) -> Result<(), AppsError> {
        let file = AppsFile {
            version: 1,
            cgroups: self.enabled.keys().map(ToString::to_string).collect(),
        };
        let json =
            serde_json::to_vec_pretty(&file).map_err(|e| AppsError::Failed(e.to_string()))?;
        write_atomically(&self.file, &json)
            .map_err(|e| AppsError::Failed(format!("cannot save {}: {e}", self.file.display())))
    }
}
