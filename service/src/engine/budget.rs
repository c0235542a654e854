//! Metered budgets in the engine: reading the byte counters, rolling
//! periods and days (boundaries from the pure `policy` crate), counting,
//! announcing crossed thresholds, and re-evaluating the moment a budget
//! state changes so a spent budget is enforced well within a second.

use std::collections::BTreeMap;
use std::time::Instant;

use mptcp_policy::jiff::ZonedDateTime;
use mptcp_policy::{
    budget_crossings, budget_verdict, period_bounds, BudgetCrossing, BudgetState, Desired,
};
use mptcp_policy_netlink::diag;
use mptcp_policy_netlink::link::LinkWatch;

use super::{Engine, USAGE_PUBLISH_INTERVAL, USAGE_SAVE_INTERVAL};

/// Subflow counters are read every this many counter ticks (~1 s): a dump
/// walks the kernel's whole TCP table (~1 ms).
const SUBFLOW_EVERY_TICKS: u64 = 4;

/// Budget state per interface name, from an evaluation.
pub(super) fn states_of(desired: &Desired) -> BTreeMap<String, BudgetState> {
    desired
        .interfaces
        .iter()
        .filter_map(|v| v.budget.as_ref().map(|b| (v.name.clone(), b.state)))
        .collect()
}

pub(super) fn state_name(s: BudgetState) -> &'static str {
    match s {
        BudgetState::WithinBudget => "within-budget",
        BudgetState::AllowanceSpent => "allowance-spent",
        BudgetState::Exhausted => "exhausted",
    }
}

impl Engine {
    /// Reads the counters, counts, enforces, publishes and saves now and then.
    pub(super) async fn on_counters(&mut self, watch: &LinkWatch) {
        // Only the links' byte counters: addresses come with their events.
        let links = match watch.dump_links().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot read interface counters: {e}");
                return;
            }
        };
        let now = ZonedDateTime::now();
        let restarted = self.roll_periods(&now);
        let mut grew = false;
        let mut counted = Vec::new();
        for (name, total) in self.table.update_counters(&links) {
            let before = self.usage.bytes(&name);
            if self.usage.observe(&name, total) {
                grew = true;
                counted.push((name, before));
            }
        }
        self.ticks += 1;
        self.steer_expired().await;
        if self.ticks.is_multiple_of(SUBFLOW_EVERY_TICKS) {
            self.count_subflow_bytes().await;
        }
        self.usage_dirty |= grew || !restarted.is_empty();
        self.usage_unpublished |= grew;
        if grew {
            self.wake_health();
        }
        for (name, before) in counted {
            self.check_budget(&name, before).await;
        }
        let changed = self.budget_state_changes(&now);
        if !restarted.is_empty() || !changed.is_empty() {
            let why: Vec<String> = restarted
                .iter()
                .map(|n| format!("{n}: new budget period, counting from zero"))
                .chain(changed)
                .collect();
            self.reconcile(&why.join("; "), None).await;
            self.usage_published = Instant::now();
            self.usage_unpublished = false;
        } else if self.usage_unpublished && self.usage_published.elapsed() >= USAGE_PUBLISH_INTERVAL
        {
            self.publish().await;
            self.usage_published = Instant::now();
            self.usage_unpublished = false;
        }
        if self.usage_dirty && self.usage_saved.elapsed() >= USAGE_SAVE_INTERVAL {
            self.save_usage();
        }
    }

    /// Adds what MPTCP subflows carried since the last reading to each
    /// interface's MPTCP share.
    async fn count_subflow_bytes(&mut self) {
        match diag::dump_subflows().await {
            Ok(subflows) => {
                let table = &self.table;
                let grown = self
                    .subflow_bytes
                    .update(&subflows, |ip| table.interface_of(ip, None));
                for (name, bytes) in grown {
                    self.usage.add_mptcp(&name, bytes);
                }
                if self.userspace.is_some() {
                    self.update_path_rtt(&subflows);
                    self.steer_interactive().await;
                }
            }
            Err(e) if !self.diag_warned => {
                self.diag_warned = true;
                tracing::warn!("cannot read MPTCP subflow counters (inet_diag): {e}; the MPTCP share stays unknown");
            }
            Err(_) => {}
        }
    }

    /// Starts new periods/days for interfaces with a budget; returns the
    /// names whose period restarted.
    fn roll_periods(&mut self, now: &ZonedDateTime) -> Vec<String> {
        let today = now.date().to_string();
        let budgets: Vec<(String, mptcp_policy::Budget)> = self
            .verdicts
            .iter()
            .filter_map(|v| Some((v.name.clone(), self.matched_rule(v.index)?.budget.clone()?)))
            .collect();
        budgets
            .into_iter()
            .filter(|(name, budget)| {
                let start = period_bounds(budget, now).start.timestamp().as_second();
                self.usage.roll(name, start, &today)
            })
            .map(|(name, _)| name)
            .collect()
    }

    /// Interfaces whose budget state differs from the last evaluation.
    fn budget_state_changes(&self, now: &ZonedDateTime) -> Vec<String> {
        self.verdicts
            .iter()
            .filter_map(|v| {
                let budget = self.matched_rule(v.index)?.budget.clone()?;
                let state = budget_verdict(&budget, &self.usage.input(&v.name), now).state;
                (self.budget_states.get(&v.name) != Some(&state))
                    .then(|| format!("{}: budget {}", v.name, state_name(state)))
            })
            .collect()
    }

    /// Logs and signals each budget threshold `name`'s usage crossed since
    /// `before` (once per crossing; a reset or new period arms them again).
    async fn check_budget(&self, name: &str, before: u64) {
        let Some(link) = self.table.by_name(name) else {
            return;
        };
        let Some(budget) = self.matched_rule(link.index).and_then(|r| r.budget.clone()) else {
            return;
        };
        let used = self.usage.bytes(name);
        for crossing in budget_crossings(&budget, before, used) {
            let result = match crossing {
                BudgetCrossing::Warning(f) => {
                    tracing::warn!(
                        "{name}: {used} of {} budget bytes used ({:.0} % warning threshold crossed)",
                        budget.bytes,
                        f * 100.0
                    );
                    match self.bus.as_ref() {
                        Some(bus) => bus.budget_warning(name, used, budget.bytes).await,
                        None => Ok(()),
                    }
                }
                BudgetCrossing::Exhausted => {
                    tracing::warn!(
                        "{name}: budget of {} bytes exhausted ({used} used)",
                        budget.bytes
                    );
                    match self.bus.as_ref() {
                        Some(bus) => bus.budget_exhausted(name, used, budget.bytes).await,
                        None => Ok(()),
                    }
                }
            };
            if let Err(e) = result {
                tracing::warn!("D-Bus: cannot signal the budget of {name}: {e}");
            }
        }
    }
}
