//! The engine's one decision point: what is observed now → `evaluate` (the
//! pure policy) → the userspace PM's connections and the reconciler's
//! endpoint commands, logged and published.

use std::time::Instant;

use mptcp_policy::jiff::ZonedDateTime;
use mptcp_policy::{evaluate, InterfaceVerdict, Observed};

use super::{budget, Engine};
use crate::reconcile::Outcome;

impl Engine {
    /// Evaluate the policy against what is observed, apply the difference
    /// and publish the result.
    /// Logs `reaction_us` (event read → last command acknowledged),
    /// `sent_us` (→ first command sent: the daemon's own share) and
    /// `first_delete_us` (→ first endpoint delete acknowledged; the kernel
    /// closes the subflows before it waits for an RCU grace period, so data
    /// moves before this ack).
    pub(super) async fn reconcile(&mut self, why: &str, started: Option<Instant>) -> Outcome {
        self.fresh_usage_for_budgets().await;
        self.sync_nm_types();
        let observed = self.observed_now();
        let now = self.local_now();
        let desired = evaluate(&self.policy, &observed, &now);
        self.sync_path_manager();
        if self.userspace.pm.is_some() {
            // Connections first: a dead path's subflows close at once; the
            // endpoint deletes below wait for an RCU grace period each.
            self.userspace.paths = self.paths_from(&desired);
            self.steer(None).await;
        }
        self.counting.budget_states = budget::states_of(&desired);
        let outcome = self.reconciler.reconcile(&desired, why).await;
        // The decisions are logged once the kernel has them: a log line is a
        // write to the journal, and the first endpoint must not wait for it.
        self.log_verdict_changes(&desired.interfaces);
        self.note_stand_ins(&desired.interfaces);
        for left in &desired.left_out {
            tracing::warn!(
                "endpoint {} ({}) left out: the kernel holds at most 8 endpoints",
                left.addr,
                left.ifname
            );
        }
        if let Some(t0) = started.filter(|_| outcome.sent > 0) {
            let reaction_us = t0.elapsed().as_micros() as u64;
            let sent_us = outcome
                .first_sent
                .map(|t| t.duration_since(t0).as_micros() as u64);
            let first_delete_us = outcome
                .first_delete_acked
                .map(|t| t.duration_since(t0).as_micros() as u64);
            tracing::info!(
                reaction_us,
                sent_us,
                first_delete_us,
                sent = outcome.sent,
                failed = outcome.failed,
                "reacted to: {why}"
            );
        }
        self.publish();
        self.update_health_paths();
        outcome
    }

    /// One log line per interface whose role or reason changed.
    fn log_verdict_changes(&mut self, now: &[InterfaceVerdict]) {
        for v in now {
            let before = self.verdicts.iter().find(|b| b.index == v.index);
            if before.is_none_or(|b| b.role != v.role || b.reason != v.reason || b.name != v.name) {
                tracing::info!("{} ({}): {:?} — {}", v.name, v.kind, v.role, v.reason);
            }
        }
        self.verdicts = now.to_vec();
    }

    /// What `evaluate` looks at: the links and addresses, with each
    /// interface's counted usage, NetworkManager's hints and path health.
    fn observed_now(&self) -> Observed {
        let mut observed = self.table.observed(&self.policy);
        for i in &mut observed.interfaces {
            i.usage = Some(self.counting.usage.input(&i.name));
            i.hints = self.nm.hints.policy_hints(&i.name);
            // A stalled path gets no endpoint (like a link that went down):
            // its subflows close and the data moves at once.
            i.stalled = self.health.stalled.get(&i.name).cloned();
            // A degraded one keeps its endpoints; a healthy backup takes
            // its traffic (evaluate swaps the backup flags).
            i.degraded = self.health.degraded.get(&i.name).cloned();
        }
        observed
    }

    /// Now, in local time when a budget needs it (its periods and days
    /// start at local midnight). Without budgets no decision depends on the
    /// wall clock, and UTC spares the reaction reading the time zone.
    pub(super) fn local_now(&self) -> ZonedDateTime {
        if self.has_budgets() {
            crate::localtime::now()
        } else {
            mptcp_policy::jiff::Timestamp::now()
                .to_zoned_datetime(mptcp_policy::jiff::tz::TimeZone::UTC)
        }
    }
}
