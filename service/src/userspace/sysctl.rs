//! Switching the network namespace's MPTCP path manager to userspace, and
//! back. `/proc/sys/net` is per network namespace (the one of the process
//! that opens the file), so this acts where the daemon runs.
//!
//! Kernels ≥ 6.15 have `net.mptcp.path_manager` (`kernel` | `userspace`);
//! older ones `net.mptcp.pm_type` (0 | 1). The value found before the switch
//! is saved in the state directory first, so a daemon killed while the
//! userspace PM is on still restores the admin's value on its next exit.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::store::StateDir;

const SYSCTL_DIR: &str = "/proc/sys/net/mptcp";
const SAVED_FILE: &str = "path-manager.saved";

/// Which knob this kernel has.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Knob {
    /// `path_manager`: `kernel` / `userspace`.
    PathManager(PathBuf),
    /// `pm_type`: `0` (kernel) / `1` (userspace).
    PmType(PathBuf),
}

impl Knob {
    fn find(dir: &Path) -> Option<Knob> {
        let pm = dir.join("path_manager");
        if pm.exists() {
            return Some(Knob::PathManager(pm));
        }
        let t = dir.join("pm_type");
        t.exists().then_some(Knob::PmType(t))
    }

    fn path(&self) -> &Path {
        match self {
            Knob::PathManager(p) | Knob::PmType(p) => p,
        }
    }

    fn userspace_value(&self) -> &'static str {
        match self {
            Knob::PathManager(_) => "userspace",
            Knob::PmType(_) => "1",
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Knob::PathManager(_) => "net.mptcp.path_manager",
            Knob::PmType(_) => "net.mptcp.pm_type",
        }
    }
}

/// Why the switch failed.
#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    #[error("this kernel has neither net.mptcp.path_manager nor net.mptcp.pm_type: no userspace path manager")]
    Unsupported,
    #[error("cannot read {name}: {source}")]
    Read {
        name: &'static str,
        source: io::Error,
    },
    #[error("cannot set {name} = {value}: {source}{hint}")]
    Write {
        name: &'static str,
        value: String,
        source: io::Error,
        hint: &'static str,
    },
}

/// The userspace path manager switched on; [`PmSwitch::restore`] puts the
/// previous value back.
#[derive(Debug)]
pub struct PmSwitch {
    knob: Knob,
    previous: String,
    state: StateDir,
}

impl PmSwitch {
    /// Saves the current value (unless a saved one from a killed run is
    /// there: that one is the admin's) and sets the userspace PM.
    pub fn engage(state: &StateDir) -> Result<PmSwitch, SysctlError> {
        Self::engage_in(Path::new(SYSCTL_DIR), state)
    }

    fn engage_in(dir: &Path, state: &StateDir) -> Result<PmSwitch, SysctlError> {
        let knob = Knob::find(dir).ok_or(SysctlError::Unsupported)?;
        let current = mptcp_policy_netlink::kernel_file::read(knob.path())
            .map_err(|source| SysctlError::Read {
                name: knob.name(),
                source,
            })?
            .trim()
            .to_string();
        let saved = state.read_text(SAVED_FILE).map(|s| s.trim().to_string());
        let previous = match saved {
            // A killed run left its record: that is what was there before us.
            Some(s) if !s.is_empty() && current == knob.userspace_value() => s,
            _ => current.clone(),
        };
        if let Err(e) = state.write_text(SAVED_FILE, &previous) {
            tracing::warn!("cannot record the previous path manager ({e}); continuing");
        }
        if current != knob.userspace_value() {
            write(&knob, knob.userspace_value())?;
        }
        tracing::info!(
            "{} = {} (was {previous}; restored on exit)",
            knob.name(),
            knob.userspace_value()
        );
        Ok(PmSwitch {
            knob,
            previous,
            state: state.clone(),
        })
    }

    /// The value that was there before.
    #[cfg(test)]
    pub fn previous(&self) -> &str {
        &self.previous
    }

    /// Puts the previous value back and forgets the record.
    pub fn restore(self) {
        match write(&self.knob, &self.previous) {
            Ok(()) => {
                tracing::info!("{} restored to {}", self.knob.name(), self.previous);
                self.state.remove_file(SAVED_FILE);
            }
            Err(e) => tracing::error!("{e}"),
        }
    }
}

/// Puts back the value a killed run saved, if the userspace path manager
/// is still on (`--clean-up`, after the service stopped). Nothing saved:
/// nothing to do.
pub fn restore_saved(state: &StateDir) -> Result<(), SysctlError> {
    restore_saved_in(Path::new(SYSCTL_DIR), state)
}

fn restore_saved_in(dir: &Path, state: &StateDir) -> Result<(), SysctlError> {
    let Some(saved) = state.read_text(SAVED_FILE).map(|s| s.trim().to_string()) else {
        return Ok(());
    };
    let Some(knob) = Knob::find(dir) else {
        return Ok(());
    };
    let current = mptcp_policy_netlink::kernel_file::read(knob.path()).map_err(|source| {
        SysctlError::Read {
            name: knob.name(),
            source,
        }
    })?;
    if !saved.is_empty() && current.trim() == knob.userspace_value() {
        write(&knob, &saved)?;
        tracing::info!("clean-up: {} restored to {saved}", knob.name());
    }
    state.remove_file(SAVED_FILE);
    Ok(())
}

fn write(knob: &Knob, value: &str) -> Result<(), SysctlError> {
    fs::write(knob.path(), value).map_err(|source| SysctlError::Write {
        name: knob.name(),
        value: value.to_string(),
        hint: if source.raw_os_error() == Some(30 /* EROFS */) {
            " (read-only /proc/sys: under systemd's ProtectKernelTunables= the unit needs ReadWritePaths=/proc/sys/net/mptcp, or set the sysctl at boot)"
        } else {
            ""
        },
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(knob: &str, value: &str) -> (tempdir::Dir, tempdir::Dir, StateDir) {
        let sys = tempdir::Dir::new("sysctl");
        fs::write(sys.path().join(knob), format!("{value}\n")).expect("write knob");
        let st = tempdir::Dir::new("state");
        let state = StateDir::open(st.path()).expect("state dir");
        (sys, st, state)
    }

    mod tempdir {
        /// A directory removed on drop.
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new(tag: &str) -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "mptcp-sysctl-{tag}-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).expect("mkdir");
                Dir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn switches_and_restores_path_manager() {
        let (sys, _st, state) = dirs("path_manager", "kernel");
        let s = PmSwitch::engage_in(sys.path(), &state).expect("engage");
        let knob = sys.path().join("path_manager");
        assert_eq!(fs::read_to_string(&knob).expect("read"), "userspace");
        assert_eq!(s.previous(), "kernel");
        s.restore();
        assert_eq!(fs::read_to_string(&knob).expect("read"), "kernel");
        assert!(state.read_text(SAVED_FILE).is_none());
    }

    #[test]
    fn older_kernels_use_pm_type() {
        let (sys, _st, state) = dirs("pm_type", "0");
        let s = PmSwitch::engage_in(sys.path(), &state).expect("engage");
        assert_eq!(
            fs::read_to_string(sys.path().join("pm_type")).expect("read"),
            "1"
        );
        s.restore();
        assert_eq!(
            fs::read_to_string(sys.path().join("pm_type")).expect("read"),
            "0"
        );
    }

    #[test]
    fn a_killed_run_still_restores_the_admins_value() {
        let (sys, _st, state) = dirs("path_manager", "kernel");
        let first = PmSwitch::engage_in(sys.path(), &state).expect("engage");
        drop(first); // killed: no restore
        let second = PmSwitch::engage_in(sys.path(), &state).expect("engage again");
        assert_eq!(second.previous(), "kernel");
        second.restore();
        assert_eq!(
            fs::read_to_string(sys.path().join("path_manager")).expect("read"),
            "kernel"
        );
    }

    #[test]
    fn a_kernel_without_the_knob_is_named() {
        let (sys, _st, state) = dirs("other", "x");
        let e = PmSwitch::engage_in(sys.path(), &state).expect_err("no knob");
        assert!(e.to_string().contains("neither"), "{e}");
    }

    #[test]
    fn clean_up_restores_what_a_killed_run_saved() {
        let (sys, _st, state) = dirs("path_manager", "kernel");
        let first = PmSwitch::engage_in(sys.path(), &state).expect("engage");
        drop(first); // killed: no restore
        restore_saved_in(sys.path(), &state).expect("restore");
        let knob = sys.path().join("path_manager");
        assert_eq!(fs::read_to_string(&knob).expect("read"), "kernel");
        assert!(state.read_text(SAVED_FILE).is_none());
        // Nothing saved: the admin's own value stays.
        fs::write(&knob, "userspace").expect("write");
        restore_saved_in(sys.path(), &state).expect("restore");
        assert_eq!(fs::read_to_string(&knob).expect("read"), "userspace");
    }
}
