//! The D-Bus policy layer: the changes made over D-Bus (roles, metered,
//! budgets, a replaced policy), kept as a policy of its own on top of the
//! files and saved in the state directory. It holds only what was changed
//! (`to_toml_overrides`), so lower layers keep every key it never set.
//!
//! Beside it, `policy-changes.json` records who changed each
//! `[[interface]]` entry of the layer and when (the caller's uid and the
//! time of the call), so `RoleReason` can say "set over D-Bus by uid 1000
//! at …" instead of naming a file the user never wrote.

use std::collections::BTreeMap;

use mptcp_policy::{InterfaceRule, Policy, PolicySource};
use serde::{Deserialize, Serialize};

use crate::config::{PolicyFiles, PolicyLocation};
use crate::store::StateDir;

/// The file beside the layer with who changed its entries and when.
const CHANGES_FILE: &str = "policy-changes.json";

/// Who changed one entry of the layer, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetBy {
    /// The caller's uid (`GetConnectionUnixUser`); None when the bus
    /// could not say.
    pub uid: Option<u32>,
    /// Local time of the call, `2026-05-04 10:12:00 +02:00`.
    pub at: String,
}

impl SetBy {
    /// Now, by `uid`.
    pub fn now(uid: Option<u32>) -> SetBy {
        SetBy {
            uid,
            at: crate::localtime::now()
                .strftime("%Y-%m-%d %H:%M:%S %:z")
                .to_string(),
        }
    }

    fn describe(&self) -> String {
        match self.uid {
            Some(uid) => format!("set over D-Bus by uid {uid} at {}", self.at),
            None => format!("set over D-Bus at {}", self.at),
        }
    }
}

/// Who changed which entry: keyed by the entry's matcher as written
/// (`name = "wlan0"`, `type = cellular`).
pub type Changes = BTreeMap<String, SetBy>;

/// The policy's sources: where the files are, the files as read at start or
/// the last reload (D-Bus changes are merged over these, never over a fresh
/// read of the disk), and the D-Bus layer on top.
pub struct Layers {
    pub location: PolicyLocation,
    pub files: PolicyFiles,
    /// Whether the D-Bus layer is saved in (and was read from) the state
    /// directory.
    pub persist: bool,
    /// Who changed which entry of the D-Bus layer, and when.
    pub changes: Changes,
    /// The changes made over D-Bus: the top policy layer.
    pub dbus: Policy,
}

/// The saved layer, or an empty one. A corrupt file is reported and kept
/// aside; the daemon starts without it rather than not at all.
pub fn load(state: &StateDir) -> Policy {
    let path = state.dbus_layer_path();
    let name = path.display().to_string();
    match state.load_dbus_layer() {
        Ok(None) => Policy::default(),
        Ok(Some(text)) => match Policy::parse(&name, &text) {
            Ok(p) => p,
            Err(errors) => {
                let aside = path.with_extension("toml.corrupt");
                tracing::error!(
                    "the saved D-Bus policy layer is invalid, kept aside as {}: {}",
                    aside.display(),
                    mptcp_policy::ErrorList(&errors)
                );
                let _ = std::fs::rename(&path, &aside);
                Policy::default()
            }
        },
        Err(e) => {
            tracing::error!("cannot read {name}: {e}; starting without the D-Bus policy layer");
            Policy::default()
        }
    }
}

/// At start: the state directory in use, then the D-Bus layer (when this
/// run has one), who changed it, and the effective policy — each layer
/// logged with its path.
/// The layers and the effective policy at start.
pub fn load_at_start(
    choice: &crate::cli::StateChoice,
    state: &StateDir,
    location: PolicyLocation,
) -> Result<(Layers, Policy), crate::config::LoadError> {
    tracing::info!(
        "state directory {}{}",
        choice.dir.display(),
        if choice.dbus_layer {
            ""
        } else {
            " (of this --config run: no saved D-Bus changes are read or written)"
        }
    );
    let (layer, changes) = if choice.dbus_layer {
        (load(state), load_changes(state))
    } else {
        Default::default()
    };
    let files = location.read()?;
    let mut policy = files.merge_logged(source(state, &layer).as_ref(), "start")?;
    annotate(&mut policy, state, &changes);
    let layers = Layers {
        location,
        files,
        persist: choice.dbus_layer,
        changes,
        dbus: layer,
    };
    Ok((layers, policy))
}

/// The layer as a policy source for merging; None when nothing was
/// changed over D-Bus.
pub fn source(state: &StateDir, layer: &Policy) -> Option<PolicySource> {
    (*layer != Policy::default()).then(|| PolicySource {
        name: state.dbus_layer_path().display().to_string(),
        text: layer.to_toml_overrides(),
    })
}

/// The saved record of who changed what (empty when absent or unreadable:
/// the reasons then say "set over D-Bus" without a uid).
pub fn load_changes(state: &StateDir) -> Changes {
    state
        .read_text(CHANGES_FILE)
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Saves the record atomically (removed when empty).
pub fn save_changes(state: &StateDir, changes: &Changes) -> std::io::Result<()> {
    if changes.is_empty() {
        state.remove_file(CHANGES_FILE);
        return Ok(());
    }
    let text = serde_json::to_string_pretty(changes).map_err(std::io::Error::other)?;
    state.write_text(CHANGES_FILE, &text)
}

/// The record after `old` became `new`: entries that are new or changed
/// are stamped `by`, unchanged ones keep their stamp, gone ones are dropped.
pub fn changes_after(old: &Policy, new: &Policy, before: &Changes, by: &SetBy) -> Changes {
    new.interfaces
        .iter()
        .map(|e| {
            let key = e.describe_match();
            let unchanged = old.interfaces.iter().any(|o| same_entry(o, e));
            let stamp = match (unchanged, before.get(&key)) {
                (true, Some(kept)) => kept.clone(),
                _ => by.clone(),
            };
            (key, stamp)
        })
        .collect()
}

fn same_entry(a: &InterfaceRule, b: &InterfaceRule) -> bool {
    a.name == b.name
        && a.kind == b.kind
        && a.role == b.role
        && a.metered == b.metered
        && a.budget == b.budget
}

/// Marks the effective policy's entries that come from the D-Bus layer
/// with who set them, so verdicts say so instead of naming the file.
pub fn annotate(policy: &mut Policy, state: &StateDir, changes: &Changes) {
    let layer_name = state.dbus_layer_path().display().to_string();
    for entry in &mut policy.interfaces {
        if entry.source.file == layer_name {
            entry.source.note = Some(match changes.get(&entry.describe_match()) {
                Some(by) => by.describe(),
                None => "set over D-Bus".to_owned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_entries_are_stamped_and_kept_ones_keep_their_stamp() {
        let old = Policy::parse(
            "l",
            "[[interface]]\nname = \"wlan0\"\nrole = \"backup\"\n\
             [[interface]]\ntype = \"cellular\"\nrole = \"preferred\"\n",
        )
        .expect("old");
        let new = Policy::parse(
            "l",
            "[[interface]]\nname = \"wlan0\"\nrole = \"off\"\n\
             [[interface]]\ntype = \"cellular\"\nrole = \"preferred\"\n",
        )
        .expect("new");
        let first = SetBy {
            uid: Some(1000),
            at: "then".into(),
        };
        let before = changes_after(&Policy::default(), &old, &Changes::new(), &first);
        assert_eq!(before.len(), 2);
        let second = SetBy {
            uid: Some(0),
            at: "now".into(),
        };
        let after = changes_after(&old, &new, &before, &second);
        assert_eq!(after["name = \"wlan0\""], second);
        assert_eq!(after["type = cellular"], first);
        assert!(changes_after(&new, &Policy::default(), &after, &second).is_empty());
    }
}
