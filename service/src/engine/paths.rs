//! Path health in the engine: which paths the monitor watches (preferred
//! interfaces with a working link), and what a transition does — a stalled
//! path is demoted the fast way (its endpoints deleted, like a link that went
//! down) and restored when its probes answer again.

use mptcp_policy::{Health, Role};

use super::Engine;
use crate::health::{HealthContext, HealthEvent};

impl Engine {
    /// Tells the monitor which paths to watch: preferred interfaces whose
    /// link works (stalled ones included, so they can recover).
    pub(super) fn update_health_paths(&mut self) {
        let Some(monitor) = &self.health else { return };
        let paths: Vec<(String, Vec<std::net::IpAddr>)> = self
            .verdicts
            .iter()
            .filter(|v| v.role == Role::Preferred || self.stalled.contains_key(&v.name))
            .filter_map(|v| {
                let link = self.table.link(v.index)?;
                link.usable().then(|| {
                    let addrs = self
                        .table
                        .addresses_of(v.index)
                        .iter()
                        .map(|a| a.addr)
                        .collect();
                    (v.name.clone(), addrs)
                })
            })
            .collect();
        // A stalled path whose link stopped working (or that is no longer
        // preferred) is no longer watched: the link state now decides.
        let watched: Vec<&String> = paths.iter().map(|(n, _)| n).collect();
        self.stalled.retain(|n, _| watched.contains(&n));
        self.health_states.retain(|n, _| watched.contains(&n));
        monitor.update(HealthContext {
            cfg: self.policy.health,
            stalled: self.stalled.keys().cloned().collect(),
            paths,
        });
    }

    /// Traffic was counted: the monitor starts polling if it slept.
    pub(super) fn wake_health(&self) {
        if let Some(m) = &self.health {
            m.wake();
        }
    }

    pub(super) async fn on_health(&mut self, event: HealthEvent) {
        let HealthEvent {
            interface,
            transition,
            at,
        } = event;
        tracing::info!(
            "{interface}: health {} -> {} ({})",
            transition.from.as_str(),
            transition.to.as_str(),
            transition.evidence
        );
        self.health_states.insert(interface.clone(), transition.to);
        let changed = match transition.to {
            Health::Stalled => self
                .stalled
                .insert(interface.clone(), transition.evidence.clone())
                .is_none(),
            // Leaving "stalled" for anything restores the path.
            Health::Good | Health::Suspect => self.stalled.remove(&interface).is_some(),
        };
        if changed {
            let why = format!("{interface}: health {}", transition.to.as_str());
            self.reconcile(&why, Some(at)).await;
        } else {
            // suspect <-> good: interactive connections move off a
            // degrading path before it stalls.
            self.refresh_path_health();
            self.steer_interactive().await;
            self.publish().await;
        }
        if let Some(bus) = &self.bus {
            if let Err(e) = bus
                .health_changed(&interface, transition.to.as_str(), &transition.evidence)
                .await
            {
                tracing::warn!("D-Bus: cannot signal HealthChanged: {e}");
            }
        }
    }

    /// Health of an interface for publishing ("" when not monitored).
    pub(super) fn health_of(&self, name: &str) -> String {
        self.health_states
            .get(name)
            .map(|h| h.as_str().to_string())
            .unwrap_or_default()
    }
}
