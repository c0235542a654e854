//! The userspace path manager in the engine: switching it on and off with
//! the policy, turning the interface verdicts into the paths connections
//! may use, and steering connections — all of them when paths change, one
//! when its own events arrive.

use mptcp_policy::{Desired, Health, PathChoice, PathManager, Role};
use mptcp_policy_netlink::diag::{self, SubflowDiag};

use super::Engine;
use crate::connections::ConnChange;
use crate::userspace::UserspacePm;

/// The userspace path manager while it is in force, and the paths
/// connections may use.
#[derive(Default)]
pub(super) struct Userspace {
    pub pm: Option<UserspacePm>,
    /// From the last evaluation.
    pub paths: Vec<PathChoice>,
}

impl Engine {
    /// Starts or stops the userspace PM as the policy asks. A kernel that
    /// refuses the switch leaves the in-kernel PM (endpoints) in charge,
    /// with the reason logged and `PathManager` telling the truth.
    pub(super) fn sync_path_manager(&mut self) {
        let want = self.policy.general.path_manager == PathManager::Userspace && !self.dry_run;
        match (want, self.userspace.pm.is_some()) {
            (true, false) => match UserspacePm::start(&self.state) {
                Ok(u) => {
                    tracing::info!(
                        "userspace path manager on: each new MPTCP connection is steered by [[rule]] mode"
                    );
                    self.userspace.pm = Some(u);
                }
                Err(e) => tracing::error!(
                    "cannot switch to the userspace path manager: {e}; the in-kernel path manager (endpoints) stays in charge"
                ),
            },
            (false, true) => {
                if let Some(u) = self.userspace.pm.take() {
                    u.stop();
                }
            }
            _ => {}
        }
    }

    /// The name `PathManager` publishes: what is in force, not what was asked.
    pub(super) fn path_manager_in_force(&self) -> &'static str {
        if self.userspace.pm.is_some() {
            "userspace"
        } else {
            "kernel"
        }
    }

    /// Local paths connections may use now, best ranked first: every
    /// address `evaluate` wanted (the 8-endpoint cap of the in-kernel PM
    /// does not apply here), with role, health and measured RTT.
    pub(super) fn paths_from(&self, desired: &Desired) -> Vec<PathChoice> {
        let promotable = |ifindex: u32| {
            desired
                .interfaces
                .iter()
                .any(|v| v.index == ifindex && v.promotable)
        };
        desired
            .endpoints
            .iter()
            .chain(&desired.left_out)
            .map(|ep| PathChoice {
                addr: ep.addr,
                ifindex: ep.ifindex,
                ifname: ep.ifname.clone(),
                role: if ep.flags.backup {
                    Role::Backup
                } else {
                    Role::Preferred
                },
                degraded: degrading(self.health.states.get(&ep.ifname)),
                rtt_us: self.health.rtt.get(&ep.ifname).copied(),
                promotable: ep.flags.backup && promotable(ep.ifindex),
            })
            .collect()
    }

    /// Re-marks path degradation from the current health states (interactive
    /// mode reacts to `suspect` before a stall).
    pub(super) fn refresh_path_health(&mut self) {
        let states = &self.health.states;
        for p in &mut self.userspace.paths {
            p.degraded = degrading(states.get(&p.ifname));
        }
    }

    /// Plans and applies the given connections (all when `None`).
    pub(super) async fn steer(&mut self, tokens: Option<Vec<u32>>) {
        let Some(us) = self.userspace.pm.as_mut() else {
            return;
        };
        let tokens = tokens.unwrap_or_else(|| us.tokens());
        let pm = self.reconciler.pm().clone();
        let mut flag_changes = Vec::new();
        let mut notes = Vec::new();
        for token in tokens {
            let Some(plan) = us.plan(token, &self.userspace.paths) else {
                continue;
            };
            notes.extend(us.note_plan(token, &plan, &self.userspace.paths));
            if plan.ops.is_empty() {
                continue;
            }
            flag_changes.extend(us.apply(&pm, token, &plan).await);
        }
        for f in flag_changes {
            if let Some(change) = self.conns.set_backup(f.token, f.local, f.remote, f.backup) {
                self.publish_connection(&change);
            }
        }
        for n in notes {
            if let Some(change) = self.conns.set_notes(n.token, &n.promoted, &n.constraint) {
                self.publish_connection(&change);
            }
        }
    }

    /// The mode and deciding rule of a connection, for its D-Bus object.
    pub(super) fn mode_of(&self, token: u32) -> Option<(String, String)> {
        let m = self.userspace.pm.as_ref()?.get(token)?;
        Some((m.mode.to_string(), m.rule.clone()))
    }

    /// Interactive connections follow RTT and health changes.
    pub(super) async fn steer_interactive(&mut self) {
        let Some(us) = self.userspace.pm.as_ref() else {
            return;
        };
        let tokens = us.tokens_with_mode(mptcp_policy::Mode::Interactive);
        if !tokens.is_empty() {
            self.steer(Some(tokens)).await;
        }
    }

    /// Pending creates that timed out: plan those connections again.
    pub(super) async fn steer_expired(&mut self) {
        let Some(us) = self.userspace.pm.as_mut() else {
            return;
        };
        let expired = us.expire_pending(std::time::Instant::now());
        if !expired.is_empty() {
            self.steer(Some(expired)).await;
        }
    }

    /// Lost `mptcp_pm` events: rebuild connections from the kernel's
    /// subflow dump (no connection left unmanaged, none kept that closed),
    /// then plan them all.
    /// At start (`after_lost_events` false) the same adopts the connections
    /// that were open before the daemon (re)started.
    pub(super) async fn resync_connections(&mut self, after_lost_events: bool) {
        let (live, dump): (std::collections::BTreeSet<u32>, Vec<SubflowDiag>) =
            match diag::dump_connections().await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!("resync: cannot dump MPTCP connections: {e}");
                    return;
                }
            };
        let table = &self.table;
        let changes = self
            .conns
            .resync(&dump, &live, |ip, idx| table.interface_of(ip, idx));
        let mut taken = 0;
        if let Some(us) = self.userspace.pm.as_mut() {
            let (t, gone) = us.resync(&dump, &live, &self.policy, after_lost_events);
            taken = t.len();
            if after_lost_events {
                tracing::warn!(
                    "resync: {} connection(s) taken over, {} forgotten (closed while events were lost), {} managed",
                    t.len(),
                    gone.len(),
                    us.len()
                );
            } else if taken > 0 {
                tracing::info!("{taken} open connection(s) taken over at start");
            }
        }
        for mut change in changes {
            if let ConnChange::Created(v) = &mut change {
                if let Some((mode, rule)) = self.mode_of(v.token) {
                    self.conns.set_mode(v.token, &mode, &rule);
                    v.mode = mode;
                    v.rule = rule;
                }
            }
            self.publish_connection(&change);
        }
        if taken > 0 || self.userspace.pm.is_some() {
            self.steer(None).await;
        }
    }

    /// Updates the per-interface RTT from a subflow dump: the lowest
    /// smoothed RTT of the interface's established subflows.
    pub(super) fn update_path_rtt(&mut self, subflows: &[SubflowDiag]) {
        let mut rtt = std::collections::BTreeMap::new();
        for s in subflows.iter().filter(|s| s.state == 1 && s.rtt_us > 0) {
            let name = self.table.interface_of(s.local.ip(), s.ifindex);
            if name.is_empty() {
                continue;
            }
            let e = rtt.entry(name).or_insert(s.rtt_us);
            *e = (*e).min(s.rtt_us);
        }
        self.health.rtt = rtt;
        for p in &mut self.userspace.paths {
            p.rtt_us = self.health.rtt.get(&p.ifname).copied();
        }
    }
}

/// Whether path health says a path is degrading (`suspect` or `degraded`):
/// `interactive` moves off it first.
fn degrading(health: Option<&Health>) -> bool {
    matches!(health, Some(Health::Suspect | Health::Degraded))
}
