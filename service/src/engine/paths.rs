//! Path health in the engine: which paths the monitor watches (preferred
//! interfaces with a working link), and what a transition does — a stalled
//! path is demoted the fast way (its endpoints deleted, like a link that went
//! down) and restored when its probes answer again; a degraded one hands its
//! traffic to a healthy backup (make before break: both keep their
//! endpoints, `evaluate` swaps the backup flags) until it is clean again.

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
    /// The paths judged degraded, with the evidence (an input of `evaluate`).
    pub degraded: BTreeMap<String, String>,
    /// Lowest smoothed RTT of each interface's subflows, µs.
    pub rtt: BTreeMap<String, u32>,
    /// Backups standing in for degraded paths: since when, and the bytes
    /// counted on them then.
    pub stand_ins: BTreeMap<String, (std::time::Instant, u64)>,
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
        self.health.degraded.retain(|n, _| watched.contains(&n));
        self.health.states.retain(|n, _| watched.contains(&n));
        let handed_over = self
            .verdicts
            .iter()
            .flat_map(|v| v.stands_in_for.iter().cloned())
            .collect();
        monitor.update(HealthContext {
            cfg: self.policy.health,
            stalled: self.health.stalled.keys().cloned().collect(),
            handed_over,
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
        let (stalled, degraded) = match transition.to {
            Health::Stalled => (true, false),
            Health::Degraded => (false, true),
            Health::Good | Health::Suspect => (false, false),
        };
        let changed = mark(
            &mut self.health.stalled,
            &interface,
            stalled.then(|| transition.evidence.clone()),
        ) | mark(
            &mut self.health.degraded,
            &interface,
            degraded.then(|| transition.evidence.clone()),
        );
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
            bus.send(Publication::Signal(Box::new(Signal::HealthChanged {
                interface,
                health: transition.to.as_str().to_string(),
                evidence: transition.evidence,
            })));
        }
    }

    /// Logs when a backup starts and stops standing in for a degraded path,
    /// with how long and how much traffic it carried meanwhile (counted
    /// like any traffic, against its budget when it has one).
    pub(super) fn note_stand_ins(&mut self, verdicts: &[mptcp_policy::InterfaceVerdict]) {
        for v in verdicts {
            let standing = !v.stands_in_for.is_empty();
            match (standing, self.health.stand_ins.contains_key(&v.name)) {
                (true, false) => {
                    let bytes = self.counting.usage.bytes(&v.name);
                    self.health
                        .stand_ins
                        .insert(v.name.clone(), (std::time::Instant::now(), bytes));
                }
                (false, true) => {
                    if let Some((since, bytes)) = self.health.stand_ins.remove(&v.name) {
                        // Counters are read for budgeted interfaces only.
                        let counted = v.budget.is_some().then(|| {
                            let carried = self.counting.usage.bytes(&v.name).saturating_sub(bytes);
                            format!("; {carried} bytes counted against its budget meanwhile")
                        });
                        tracing::info!(
                            "{}: no longer standing in for a degraded path after {:.1} s{}",
                            v.name,
                            since.elapsed().as_secs_f64(),
                            counted.unwrap_or_default()
                        );
                    }
                }
                _ => {}
            }
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

/// Sets or clears `name` in a set of paths held in a state; whether that
/// changed the set (the evidence alone changing does not).
fn mark(set: &mut BTreeMap<String, String>, name: &str, evidence: Option<String>) -> bool {
    match evidence {
        Some(e) => set.insert(name.to_owned(), e).is_none(),
        None => set.remove(name).is_some(),
    }
}
