//! Apps put on MPTCP by the kernel's BPF hook: the enabled cgroups
//! (persisted in the state directory as `apps.json`), the BPF program that
//! converts their sockets where the kernel allows it, and its status.
//!
//! The set is kept even where BPF is unavailable: unmodified programs then
//! reach MPTCP through the preload library (`mptcp-policyctl run`,
//! `mptcp-policyctl enable UNIT`).
//!
//! Engine state like any other: D-Bus calls reach it as commands
//! (`EnableCgroup`, `DisableCgroup`) and it is published with the manager.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bpf::cgroups::{self, CgroupPath};
use crate::bpf::object::MAP_CAPACITY;
use crate::bpf::{BpfStatus, Mptcpify};
use crate::control::CommandError;
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

/// The enabled cgroups, owned by the engine.
pub struct Apps {
    file: PathBuf,
    root: Option<PathBuf>,
    enabled: BTreeMap<CgroupPath, Option<u64>>,
    status: BpfStatus,
    program: Option<Mptcpify>,
    /// `--dry-run`: the program is loaded (the probe) but not attached.
    dry_run: bool,
}

impl Apps {
    /// Where the enabled set is kept; nothing read yet ([`Apps::start`]
    /// does it after the daemon's first endpoints).
    pub fn new(state_dir: &Path, cgroup_root: Option<PathBuf>) -> Apps {
        Apps {
            file: state_dir.join(APPS_FILE),
            root: cgroup_root,
            enabled: BTreeMap::new(),
            status: BpfStatus::NotLoaded,
            program: None,
            dry_run: false,
        }
    }

    /// Reads the enabled set and looks up the cgroups' ids; loads the BPF
    /// program when an app is enabled (else at the first [`Apps::enable`]).
    pub fn start(&mut self, dry_run: bool) {
        self.dry_run = dry_run;
        if self.root.is_none() {
            self.root = cgroups::find_cgroup2_mount();
        }
        for path in self.load_file() {
            let id = self.lookup(&path).ok();
            if id.is_none() {
                tracing::info!("enabled cgroup {path} does not exist now; kept");
            }
            self.enabled.insert(path, id);
        }
        if self.enabled.is_empty() {
            tracing::info!("bpf: {}", self.status);
        } else {
            self.start_program();
        }
    }

    /// Probes and loads the BPF program (the probe never stops the daemon)
    /// and puts the existing enabled cgroups in its map.
    fn start_program(&mut self) {
        let (program, status) = match Mptcpify::load(!self.dry_run) {
            Ok(Some(p)) => (Some(p), BpfStatus::Active),
            Ok(None) => (
                None,
                BpfStatus::Unavailable("--dry-run: the program loads but is not attached".into()),
            ),
            Err(why) => (None, BpfStatus::Unavailable(why)),
        };
        match &status {
            BpfStatus::Unavailable(_) => tracing::warn!(
                "bpf: {status}; unmodified apps use MPTCP through the preload library only \
                 (mptcp-policyctl run / enable UNIT)"
            ),
            _ => tracing::info!("bpf: {status}"),
        }
        if let Some(p) = &program {
            for (path, id) in &self.enabled {
                if let Some(id) = id {
                    if let Err(e) = p.set(*id, true) {
                        tracing::warn!("cgroup {path}: {e}");
                    }
                }
            }
        }
        self.status = status;
        self.program = program;
    }

    /// `BpfStatus` as published.
    pub fn bpf_status(&self) -> String {
        self.status.to_string()
    }

    /// Enabled cgroups as `(path, id)`; id 0 while the cgroup is absent.
    pub fn enabled(&self) -> Vec<(String, u64)> {
        self.snapshot()
            .into_iter()
            .map(|c| (c.path.to_string(), c.id.unwrap_or(0)))
            .collect()
    }

    /// Enables a cgroup (it must exist). Nothing changes when any step fails.
    pub fn enable(&mut self, path: &str) -> Result<(), CommandError> {
        let path =
            CgroupPath::parse(path).map_err(|e| CommandError::InvalidArgument(e.to_string()))?;
        let id = self.lookup(&path)?;
        if self.enabled.get(&path) == Some(&Some(id)) {
            return Ok(());
        }
        if !self.enabled.contains_key(&path) && self.enabled.len() >= MAP_CAPACITY {
            return Err(CommandError::InvalidArgument(format!(
                "{MAP_CAPACITY} cgroups are enabled already; disable one first"
            )));
        }
        if self.status == BpfStatus::NotLoaded {
            self.start_program();
        }
        if let Some(p) = &self.program {
            p.set(id, true).map_err(CommandError::Failed)?;
        }
        let before = self.enabled.insert(path.clone(), Some(id));
        if let Err(e) = self.save() {
            match before {
                Some(old) => self.enabled.insert(path.clone(), old),
                None => self.enabled.remove(&path),
            };
            if let Some(p) = &self.program {
                let _ = p.set(id, false);
            }
            return Err(e);
        }
        tracing::info!("cgroup {path} (id {id}) enabled for MPTCP");
        Ok(())
    }

    /// Disables a cgroup enabled before.
    pub fn disable(&mut self, path: &str) -> Result<(), CommandError> {
        let path =
            CgroupPath::parse(path).map_err(|e| CommandError::InvalidArgument(e.to_string()))?;
        let Some(id) = self.enabled.remove(&path) else {
            let known: Vec<String> = self.enabled.keys().map(ToString::to_string).collect();
            return Err(CommandError::InvalidArgument(format!(
                "cgroup {path} is not enabled (enabled: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        };
        if let Err(e) = self.save() {
            self.enabled.insert(path, id);
            return Err(e);
        }
        if let (Some(id), Some(p)) = (id, &self.program) {
            if let Err(e) = p.set(id, false) {
                tracing::warn!("cgroup {path}: {e}");
            }
        }
        tracing::info!("cgroup {path} disabled for MPTCP");
        Ok(())
    }

    fn snapshot(&self) -> Vec<EnabledCgroup> {
        self.enabled
            .iter()
            .map(|(path, id)| EnabledCgroup {
                path: path.clone(),
                id: *id,
            })
            .collect()
    }

    fn lookup(&self, path: &CgroupPath) -> Result<u64, CommandError> {
        let root = self.root.as_deref().ok_or_else(|| {
            CommandError::Failed("this system has no cgroup v2 hierarchy mounted".into())
        })?;
        cgroups::cgroup_id(root, path).map_err(|e| {
            CommandError::InvalidArgument(format!(
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

    fn save(&self) -> Result<(), CommandError> {
        let file = AppsFile {
            version: 1,
            cgroups: self.enabled.keys().map(ToString::to_string).collect(),
        };
        let json =
            serde_json::to_vec_pretty(&file).map_err(|e| CommandError::Failed(e.to_string()))?;
        write_atomically(&self.file, &json)
            .map_err(|e| CommandError::Failed(format!("cannot save {}: {e}", self.file.display())))
    }
}
