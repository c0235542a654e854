//! The engine's side of NetworkManager: hints from the watcher and the
//! dispatcher hook go into the hint table, and a change is applied at once
//! (the hook's call returns after the kernel has it).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::Engine;
use crate::control::CommandError;
use crate::networkmanager::{parse_notify, NmEvent};

/// NetworkManager's side: its hints per interface (watcher and hook) and
/// the watcher (None without the bus).
#[derive(Default)]
pub(super) struct Nm {
    pub hints: crate::networkmanager::HintTable,
    pub watcher: Option<crate::networkmanager::NmWatcher>,
}

impl Engine {
    /// Hands NetworkManager's device types to the link table (type inference).
    pub(super) fn sync_nm_types(&mut self) {
        let types: BTreeMap<_, _> = self
            .table
            .names()
            .into_iter()
            .filter_map(|n| Some((n.clone(), self.nm.hints.device_type(&n)?.value)))
            .collect();
        self.table.set_nm_types(types);
    }

    pub(super) async fn on_nm_event(&mut self, event: NmEvent) {
        // NetworkManager adds endpoints of its own while it activates a
        // device (without the drop-in): re-read the kernel's so that they
        // are reported as foreign.
        if let Err(e) = self.reconciler.refresh().await {
            tracing::warn!("cannot re-read the kernel's endpoints: {e}");
        }
        let (changes, at, why) = match event {
            NmEvent::Devices { devices, at, why } => {
                (self.nm.hints.apply_devices(&devices), Some(at), why)
            }
            NmEvent::Device { device, at, why } => {
                (self.nm.hints.apply_device(&device), Some(at), why)
            }
            NmEvent::Gone => (
                self.nm.hints.forget_watcher(),
                None,
                "NetworkManager left the bus".to_string(),
            ),
        };
        if changes.is_empty() {
            // The foreign endpoints' origin may still have changed.
            self.publish();
            return;
        }
        let why = format!("{why}: {}", changes.join("; "));
        tracing::info!("{why}");
        self.reconcile(&why, at).await;
    }

    /// `NotifyNetworkManager` from the dispatcher hook. Bad input changes
    /// nothing; a valid event is applied before the answer.
    pub(super) async fn on_notify_nm(
        &mut self,
        interface: &str,
        action: &str,
        hints: &HashMap<String, String>,
    ) -> Result<String, CommandError> {
        let started = Instant::now();
        let n = parse_notify(interface, action, hints)
            .map_err(|e| CommandError::InvalidArgument(e.0))?;
        let up: Vec<String> = self
            .table
            .names()
            .into_iter()
            .filter(|name| self.table.by_name(name).is_some_and(|l| l.usable()))
            .collect();
        let changes = self.nm.hints.apply_notify(&n, &up);
        let event = match (n.interface.as_str(), n.connection.as_str()) {
            ("", "") => format!("NetworkManager hook: {action}"),
            ("", c) => format!("NetworkManager hook: {action} ({c})"),
            (i, "") => format!("NetworkManager hook: {i} {action}"),
            (i, c) => format!("NetworkManager hook: {i} {action} ({c})"),
        };
        // NetworkManager's own per-device view confirms (or corrects) what
        // the hook said; the hook is the fast path, the watcher the truth.
        if let Some(w) = &self.nm.watcher {
            w.refresh(event.clone());
        }
        if changes.is_empty() {
            tracing::info!("{event}: nothing changed");
            return Ok(format!("{event}: nothing changed"));
        }
        let why = format!("{event}: {}", changes.join("; "));
        tracing::info!("{why}");
        let outcome = self.reconcile(&why, Some(started)).await;
        if !outcome.errors.is_empty() {
            return Err(CommandError::Kernel(outcome.errors.join("; ")));
        }
        Ok(format!(
            "{}; {} netlink command(s) in {} us",
            changes.join("; "),
            outcome.sent,
            started.elapsed().as_micros()
        ))
    }
}
