//! "default": taking a change made over D-Bus back, so the files decide
//! again (`SetInterfaceRole IFACE default`, `RevertInterface`).
//!
//! A D-Bus entry for an interface is a copy of the entry in force when it
//! was first changed, plus the changes. Reverting one setting gives it the
//! value it would have without the entry (the files, or a D-Bus entry for
//! the interface's type); once nothing in the entry differs from that, the
//! entry is dropped, so later edits of the files apply again.

use std::str::FromStr;

use mptcp_policy::{InterfaceRule, InterfaceType, Policy, Role};

use super::{layer, Engine};
use crate::control::CommandError;

/// Which setting of an interface goes back to the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Role,
    Metered,
    Budget,
    /// The whole D-Bus entry of the interface.
    All,
}

impl FromStr for Setting {
    type Err = String;
    fn from_str(s: &str) -> Result<Setting, String> {
        match s {
            "role" => Ok(Setting::Role),
            "metered" => Ok(Setting::Metered),
            "budget" => Ok(Setting::Budget),
            "all" => Ok(Setting::All),
            other => Err(format!(
                "unknown setting {other:?}: expected role, metered, budget or all"
            )),
        }
    }
}

impl Setting {
    fn as_str(self) -> &'static str {
        match self {
            Setting::Role => "role",
            Setting::Metered => "metered",
            Setting::Budget => "budget",
            Setting::All => "all",
        }
    }
}

impl Engine {
    /// Takes `setting` of `target` (an interface name, or a type for
    /// `SetInterfaceRole TYPE default`) back to what the files say.
    pub(super) async fn revert(
        &mut self,
        target: &str,
        setting: Setting,
        by: Option<u32>,
    ) -> Result<(), CommandError> {
        let why = format!("D-Bus revert {target} {} to the files", setting.as_str());
        let mut layer = self.dbus_layer.clone();
        if self.table.by_name(target).is_none() {
            if let Ok(kind) = InterfaceType::from_str(target) {
                // Type entries are made by SetInterfaceRole and hold a role only.
                let before = layer.interfaces.len();
                layer
                    .interfaces
                    .retain(|e| !(e.name.is_none() && e.kind == Some(kind)));
                if layer.interfaces.len() == before {
                    tracing::info!("{why}: nothing was set over D-Bus for type {kind}");
                    return Ok(());
                }
                return self.apply_layer(layer, &why, by).await;
            }
        }
        let index = self.known_interface(target)?;
        let Some(pos) = layer.interfaces.iter().position(|e| is_entry_of(e, target)) else {
            tracing::info!("{why}: nothing was set over D-Bus for {target}");
            return Ok(());
        };
        let kind = self
            .verdicts
            .iter()
            .find(|v| v.index == index)
            .map_or(InterfaceType::Other, |v| v.kind);
        let fallback = self.fallback_entry(&layer, pos, target, kind)?;
        let entry = &mut layer.interfaces[pos];
        let (role, metered, budget) = match &fallback {
            Some(f) => (f.role, f.metered, f.budget.clone()),
            None => (Role::Off, None, None),
        };
        match setting {
            Setting::Role => entry.role = role,
            Setting::Metered => entry.metered = metered,
            Setting::Budget => entry.budget = budget.clone(),
            Setting::All => {}
        }
        let redundant = entry.role == role && entry.metered == metered && entry.budget == budget;
        if setting == Setting::All || redundant {
            layer.interfaces.remove(pos);
        }
        self.apply_layer(layer, &why, by).await
    }

    /// The entry that would decide for the interface without the layer's
    /// entry at `pos` (files, or the layer's other entries).
    fn fallback_entry(
        &self,
        layer: &Policy,
        pos: usize,
        name: &str,
        kind: InterfaceType,
    ) -> Result<Option<InterfaceRule>, CommandError> {
        let mut without = layer.clone();
        without.interfaces.remove(pos);
        let policy = self
            .files
            .merge(layer::source(&self.state, &without).as_ref())
            .map_err(|e| CommandError::InvalidPolicy(e.to_string()))?;
        Ok(policy
            .interfaces
            .into_iter()
            .find(|e| e.matches(name, kind)))
    }
}

/// The layer's entry for exactly this interface name (no type).
fn is_entry_of(e: &InterfaceRule, name: &str) -> bool {
    e.kind.is_none()
        && e.name
            .as_ref()
            .is_some_and(|g| g.is_literal() && g.as_str() == name)
}
