//! The state directory: which kernel endpoints this daemon created, so that
//! a restart (even after SIGKILL) knows what it owns and never touches an
//! endpoint an administrator added by hand. Written atomically.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use mptcp_policy::Ownership;

use crate::usage::Usage;
use serde::{Deserialize, Serialize};

const OWNERSHIP_FILE: &str = "endpoints.json";
/// Bytes counted per interface.
const USAGE_FILE: &str = "usage.json";
/// The policy layer changed over D-Bus (highest priority).
const DBUS_LAYER_FILE: &str = "policy.toml";

#[derive(Debug, Serialize, Deserialize)]
struct OwnershipFile {
    version: u32,
    endpoints: Vec<OwnedEndpoint>,
}

#[derive(Debug, Serialize, Deserialize)]
struct OwnedEndpoint {
    id: u8,
    addr: IpAddr,
}

/// The daemon's state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Creates the directory if needed (mode 0755 under systemd's
    /// `StateDirectory=` it already exists).
    pub fn open(dir: &Path) -> anyhow::Result<StateDir> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create state directory {}: {e}", dir.display()))?;
        Ok(StateDir {
            dir: dir.to_path_buf(),
        })
    }

    /// The endpoints recorded as ours. A corrupt file is reported, kept
    /// aside as `endpoints.json.corrupt`, and treated as "we own nothing"
    /// (the safe side: never delete what might be someone else's).
    pub fn load_ownership(&self) -> Ownership {
        let path = self.dir.join(OWNERSHIP_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ownership::default(),
            Err(e) => {
                tracing::warn!(
                    "cannot read {}: {e}; assuming no endpoint is ours",
                    path.display()
                );
                return Ownership::default();
            }
        };
        match serde_json::from_str::<OwnershipFile>(&text) {
            Ok(file) => Ownership {
                owned: file
                    .endpoints
                    .into_iter()
                    .map(|e| (e.id, e.addr))
                    .collect::<BTreeMap<_, _>>(),
            },
            Err(e) => {
                let aside = self.dir.join(format!("{OWNERSHIP_FILE}.corrupt"));
                tracing::warn!(
                    "{} is corrupt ({e}); kept aside as {}; assuming no endpoint is ours",
                    path.display(),
                    aside.display()
                );
                let _ = std::fs::rename(&path, &aside);
                Ownership::default()
            }
        }
    }

    /// The counted usage. A corrupt file is reported, kept aside as
    /// `usage.json.corrupt`, and counting starts again from zero.
    pub fn load_usage(&self) -> Usage {
        let path = self.dir.join(USAGE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                let aside = self.dir.join(format!("{USAGE_FILE}.corrupt"));
                tracing::error!(
                    "{} is corrupt ({e}); kept aside as {}; counting starts from zero",
                    path.display(),
                    aside.display()
                );
                let _ = std::fs::rename(&path, &aside);
                Usage::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Usage::default(),
            Err(e) => {
                tracing::error!(
                    "cannot read {}: {e}; counting starts from zero",
                    path.display()
                );
                Usage::default()
            }
        }
    }

    /// Saves the usage atomically.
    pub fn save_usage(&self, usage: &Usage) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(usage).map_err(std::io::Error::other)?;
        write_atomically(&self.dir.join(USAGE_FILE), &text)
    }

    /// Path of the D-Bus policy layer (also its name in error messages).
    pub fn dbus_layer_path(&self) -> PathBuf {
        self.dir.join(DBUS_LAYER_FILE)
    }

    /// The D-Bus layer's text, if any was saved.
    pub fn load_dbus_layer(&self) -> std::io::Result<Option<String>> {
        match std::fs::read_to_string(self.dbus_layer_path()) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Saves the D-Bus layer atomically.
    pub fn save_dbus_layer(&self, text: &str) -> std::io::Result<()> {
        write_atomically(&self.dbus_layer_path(), text.as_bytes())
    }

    /// A small text file of the state directory, `None` when absent or
    /// unreadable.
    pub fn read_text(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(name)).ok()
    }

    /// Writes a small text file of the state directory atomically.
    pub fn write_text(&self, name: &str, text: &str) -> std::io::Result<()> {
        write_atomically(&self.dir.join(name), text.as_bytes())
    }

    /// Removes a file of the state directory (absent is fine).
    pub fn remove_file(&self, name: &str) {
        if let Err(e) = std::fs::remove_file(self.dir.join(name)) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!("cannot remove {name} from the state directory: {e}");
            }
        }
    }

    /// Records the endpoints we own: temp file + fsync + rename + fsync dir.
    pub fn save_ownership(&self, owned: &Ownership) -> std::io::Result<()> {
        let file = OwnershipFile {
            version: 1,
            endpoints: owned
                .owned
                .iter()
                .map(|(id, addr)| OwnedEndpoint {
                    id: *id,
                    addr: *addr,
                })
                .collect(),
        };
        let text = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        write_atomically(&self.dir.join(OWNERSHIP_FILE), &text)
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or
/// the new content, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_round_trip_and_corrupt_file_kept_aside() {
        let d = std::env::temp_dir().join(format!("mptcp-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let store = StateDir::open(&d).expect("open");
        assert!(store.load_ownership().owned.is_empty());

        let mut owned = Ownership::default();
        owned.owned.insert(3, "10.1.0.2".parse().expect("addr"));
        owned.owned.insert(4, "fd00:2::2".parse().expect("addr"));
        store.save_ownership(&owned).expect("save");
        assert_eq!(store.load_ownership().owned, owned.owned);

        std::fs::write(d.join(OWNERSHIP_FILE), "{\"version\":1,\"endpo").expect("truncate");
        assert!(store.load_ownership().owned.is_empty());
        assert!(d.join("endpoints.json.corrupt").exists());
        std::fs::remove_dir_all(&d).expect("cleanup");
    }
}
