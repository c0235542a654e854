//! Path health in the engine: which paths the monitor watches (preferred
//! interfaces with a working link), and what a transition does — a stalled
//! path is demoted the fast way (its endpoints deleted, like a link that went
//! down) and restored when its probes answer again.

use std::collections::BTreeMap;

use mptcp_policy::{Health, Role};

use super::Engine;
use crate::bus::Publication;
use crate::health::{HealthContext, HealthEvent, HealthMonitor};
use mptcp_policy_dbus::signals::Signal;

/// Path health: the monitor and what it last said.
#[derive(Default)]
pub(super) struct PathHealth {
    /// The path health monitor (None when it could not start).
    pub monitor: Option<HealthMonitor>,
    /// Health per monitored interface.
    pub states: BTreeMap<String, Health>,
    /// The paths demoted as stalled, with the evidence (an input of `evaluate`).
    pub stalled: BTreeMap<String, String>,
    /// Lowest smoothed RTT of each interface's subflows, µs.
    pub rtt: BTreeMap<String, u32>,
}

impl Engine {
    /// Tells the monitor which paths to watch: preferred interfaces whose
    /// link works (stalled ones included, so they can recover).
    pub(super) fn update_health_paths(&mut self) {
        let Some(monitor) = &self.health.monitor else {
            return;
        };
        let paths: Vec<(String, Vec<std::net::IpAddr>)> = self
            .verdicts
            .iter()
            .filter(|v| v.role == Role::Preferred || self.health.stalled.contains_key(&v.name))
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
        self.health.stalled.retain(|n, _| watched.contains(&n));
        self.health.states.retain(|n, _| watched.contains(&n));
        monitor.update(HealthContext {
            cfg: self.policy.health,
            stalled: self.health.stalled.keys().cloned().collect(),
            paths,
        });
    }

    /// Traffic was counted: the monitor starts polling if it slept.
    pub(super) fn wake_health(&self) {
        if let Some(m) = &self.health.monitor {
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
        self.health.states.insert(interface.clone(), transition.to);
        let changed = match transition.to {
            Health::Stalled => self
                .health
                .stalled
                .insert(interface.clone(), transition.evidence.clone())
                .is_none(),
            // Leaving "stalled" for anything restores the path.
            Health::Good | Health::Suspect => self.health.stalled.remove(&interface).is_some(),
        };
        if changed {
            let why = format!("{interface}: health {}", transition.to.as_str());
            self.reconcile(&why, Some(at)).await;
        } else {
            // suspect <-> good: interactive connections move off a
            // degrading path before it stalls.
            self.refresh_path_health();
            self.steer_interactive().await;
            self.publish();
        }
        if let Some(bus) = &self.bus {
            bus.send(Publication::Signal(Signal::HealthChanged {
                interface,
                health: transition.to.as_str().to_string(),
                evidence: transition.evidence,
            }));
        }
    }

    /// Health of an interface for publishing ("" when not monitored).
    pub(super) fn health_of(&self, name: &str) -> String {
        self.health
            .states
            .get(name)
            .map(|h| h.as_str().to_string())
            .unwrap_or_default()
    }
}
