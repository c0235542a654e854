//! "default": taking a change made over D-Bus back, so the files decide
//! again (`SetInterfaceRole IFACE default`, `RevertInterface`).
//!
//! A D-Bus entry for an interface is a copy of the entry in force when it
//! was first changed, plus the changes. Reverting one setting gives it the
//! value it would have without the entry (the files, or a D-Bus entry for
//! the interface's type); once nothing in the entry differs from that, the
//! entry is dropped, so later edits of the files apply again. The edits
//! themselves are pure (`Policy::with_reverted`, `without_type_entry`);
//! here the engine finds what decides without the entry and applies.

use std::str::FromStr;

use mptcp_policy::{InterfaceRule, InterfaceType, Policy, Setting};

use super::{layer, Engine};
use crate::control::CommandError;

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
        if self.table.by_name(target).is_none() {
            if let Ok(kind) = InterfaceType::from_str(target) {
                // Type entries are made by SetInterfaceRole and hold a role only.
                let Some(layer) = self.layers.dbus.without_type_entry(kind) else {
                    tracing::info!("{why}: nothing was set over D-Bus for type {kind}");
                    return Ok(());
                };
                return self.apply_layer(layer, &why, by).await;
            }
        }
        let index = self.known_interface(target)?;
        let Some(without) = self.layers.dbus.without_entry_of(target) else {
            tracing::info!("{why}: nothing was set over D-Bus for {target}");
            return Ok(());
        };
        let kind = self
            .verdicts
            .iter()
            .find(|v| v.index == index)
            .map_or(InterfaceType::Other, |v| v.kind);
        let fallback = self.fallback_entry(&without, target, kind)?;
        match self
            .layers
            .dbus
            .with_reverted(target, setting, fallback.as_ref())
        {
            Some(layer) => self.apply_layer(layer, &why, by).await,
            None => Ok(()),
        }
    }

    /// The entry that would decide for the interface with the layer
    /// `without` its entry (the files, or the layer's other entries).
    fn fallback_entry(
        &self,
        without: &Policy,
        name: &str,
        kind: InterfaceType,
    ) -> Result<Option<InterfaceRule>, CommandError> {
        let policy = self
            .layers
            .files
            .merge(layer::source(&self.state, without).as_ref())
            .map_err(|e| CommandError::InvalidPolicy(e.to_string()))?;
        Ok(policy
            .interfaces
            .into_iter()
            .find(|e| e.matches(name, kind)))
    }
}
