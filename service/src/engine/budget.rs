//! Metered budgets in the engine: reading the byte counters, rolling
//! periods and days (boundaries from the pure `policy` crate), counting,
//! announcing crossed thresholds, and re-evaluating the moment a budget
//! state changes so a spent budget is enforced well within a second.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use mptcp_policy::jiff::ZonedDateTime;
use mptcp_policy::schedule::FAST_READ;
use mptcp_policy::{
    budget_crossings, budget_verdict, period_bounds, BudgetCrossing, BudgetState, Desired,
};
use mptcp_policy_netlink::diag;
use mptcp_policy_netlink::link::LinkCounters;

use super::{Engine, USAGE_PUBLISH_INTERVAL, USAGE_SAVE_INTERVAL};
use crate::bus::Publication;
use crate::subflow_bytes::SubflowBytes;
use crate::usage::Usage;
use mptcp_policy_dbus::signals::Signal;

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

/// Counted usage and the bookkeeping around it.
pub(super) struct Counting {
    pub usage: Usage,
    /// When the usage was last saved, and whether it changed since.
    pub saved: Instant,
    pub dirty: bool,
    /// When usage was last published (at most once a second while data flows).
    pub published: Instant,
    /// Usage grew since it was last published.
    pub unpublished: bool,
    /// Counter readings so far (subflow counters are read every few).
    pub ticks: u64,
    /// When the counters were last read, whether something needed them
    /// then, and the interfaces whose counters moved at that reading.
    pub last_read: Instant,
    pub needed_at_last_read: bool,
    pub moved: BTreeSet<String>,
    pub subflow_bytes: SubflowBytes,
    /// Reads the links' counters.
    pub links: LinkCounters,
    pub diag_warned: bool,
    /// Budget state per interface as of the last evaluation.
    pub budget_states: BTreeMap<String, BudgetState>,
}

impl Counting {
    pub fn new(usage: Usage, links: LinkCounters) -> Counting {
        Counting {
            usage,
            saved: Instant::now(),
            dirty: false,
            published: Instant::now(),
            unpublished: false,
            ticks: 0,
            // The first reading at once, when anything needs it.
            last_read: Instant::now() - FAST_READ,
            needed_at_last_read: false,
            moved: BTreeSet::new(),
            subflow_bytes: SubflowBytes::default(),
            links,
            diag_warned: false,
            budget_states: BTreeMap::new(),
        }
    }
}

impl Engine {
    /// The engine's timer ([`Engine::next_wake`]): reads the counters,
    /// counts, enforces, publishes and saves what is due.
    pub(super) async fn on_counters(&mut self, events_subscribed: bool) {
        let was_needed = self.counting.needed_at_last_read;
        self.counting.needed_at_last_read = mptcp_policy::schedule::next_counter_read(
            &self.counter_needs(events_subscribed, &self.local_now()),
        )
        .is_some();
        if was_needed && !self.counting.needed_at_last_read {
            crate::memory::release_freed();
        }
        let now = self.local_now();
        let restarted = self.roll_periods(&now);
        let grew = self.count_links().await;
        self.counting.ticks += 1;
        self.steer_expired().await;
        // Subflow counters only while MPTCP connections are open.
        if self.counting.ticks.is_multiple_of(SUBFLOW_EVERY_TICKS) && !self.conns.is_empty() {
            self.count_subflow_bytes().await;
        }
        self.counting.dirty |= grew || !restarted.is_empty();
        let changed = self.budget_state_changes(&now);
        if !restarted.is_empty() || !changed.is_empty() {
            if !changed.is_empty() && !self.conns.is_empty() {
                // A demotion closes subflows: what they carried since the
                // last subflow reading is counted as MPTCP before they go.
                self.count_subflow_bytes().await;
            }
            let why: Vec<String> = restarted
                .iter()
                .map(|n| format!("{n}: new budget period, counting from zero"))
                .chain(changed)
                .collect();
            self.reconcile(&why.join("; "), None).await;
            self.counting.published = Instant::now();
            self.counting.unpublished = false;
        } else if self.counting.unpublished
            && self.counting.published.elapsed() >= USAGE_PUBLISH_INTERVAL
        {
            self.publish();
            self.counting.published = Instant::now();
            self.counting.unpublished = false;
        }
        if self.counting.dirty && self.counting.saved.elapsed() >= USAGE_SAVE_INTERVAL {
            self.save_usage();
        }
    }

    /// Before an evaluation: counters older than a fast reading are read
    /// first when any budget is configured, so that no decision (a role
    /// chosen over D-Bus, a link coming back) is taken on stale usage — a
    /// spent budget must never be put back in use, even for a moment.
    pub(super) async fn fresh_usage_for_budgets(&mut self) {
        if self.has_budgets() && self.counting.last_read.elapsed() >= FAST_READ {
            self.count_links().await;
        }
    }

    /// Whether any `[[interface]]` entry has a budget.
    pub(super) fn has_budgets(&self) -> bool {
        self.policy.interfaces.iter().any(|r| r.budget.is_some())
    }

    /// Reads the links' byte counters and counts what grew (signalling the
    /// budget thresholds crossed); true when anything did.
    async fn count_links(&mut self) -> bool {
        self.counting.last_read = Instant::now();
        // Only the links' byte counters: addresses come with their events.
        let links = match self.counting.links.dump_links().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot read interface counters: {e}");
                return false;
            }
        };
        let totals = self.table.update_counters(&links);
        self.count(totals)
    }

    /// At start, with a budget: the counters of the start's link dump, read
    /// at `read_at` a moment before, are the first reading — the dump
    /// [`Engine::fresh_usage_for_budgets`] would make before the first
    /// decision would only repeat it (~0.15 ms before the first endpoint).
    pub(super) fn count_start_dump(&mut self, read_at: Instant) {
        if self.has_budgets() {
            self.counting.last_read = read_at;
            let totals = self.table.counter_totals();
            self.count(totals);
        }
    }

    /// Counts what grew in `totals` (rx + tx per link, as read at
    /// `counting.last_read`), signalling the budget thresholds crossed;
    /// true when anything did.
    fn count(&mut self, totals: Vec<(String, u64)>) -> bool {
        let mut counted = Vec::new();
        self.counting.moved.clear();
        for (name, total) in totals {
            let before = self.counting.usage.bytes(&name);
            if self.counting.usage.observe(&name, total) {
                self.counting.moved.insert(name.clone());
                counted.push((name, before));
            }
        }
        let grew = !counted.is_empty();
        self.counting.dirty |= grew;
        self.counting.unpublished |= grew;
        if grew {
            self.wake_health();
        }
        for (name, before) in counted {
            self.check_budget(&name, before);
        }
        grew
    }

    /// Adds what MPTCP subflows carried since the last reading to each
    /// interface's MPTCP share.
    async fn count_subflow_bytes(&mut self) {
        match diag::dump_subflows().await {
            Ok(subflows) => {
                let table = &self.table;
                let grown = self
                    .counting
                    .subflow_bytes
                    .update(&subflows, |ip| table.interface_of(ip, None));
                for (name, bytes) in grown {
                    self.counting.usage.add_mptcp(&name, bytes);
                }
                if self.userspace.pm.is_some() {
                    self.update_path_rtt(&subflows);
                    self.steer_interactive().await;
                }
            }
            Err(e) if !self.counting.diag_warned => {
                self.counting.diag_warned = true;
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
                self.counting.usage.roll(name, start, &today)
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
                let state = budget_verdict(&budget, &self.counting.usage.input(&v.name), now).state;
                (self.counting.budget_states.get(&v.name) != Some(&state))
                    .then(|| format!("{}: budget {}", v.name, state_name(state)))
            })
            .collect()
    }

    /// Logs and signals each budget threshold `name`'s usage crossed since
    /// `before` (once per crossing; a reset or new period arms them again).
    fn check_budget(&self, name: &str, before: u64) {
        let Some(link) = self.table.by_name(name) else {
            return;
        };
        let Some(budget) = self.matched_rule(link.index).and_then(|r| r.budget.clone()) else {
            return;
        };
        let used = self.counting.usage.bytes(name);
        for crossing in budget_crossings(&budget, before, used) {
            let signal = match crossing {
                BudgetCrossing::Warning(f) => {
                    tracing::warn!(
                        "{name}: {used} of {} budget bytes used ({:.0} % warning threshold crossed)",
                        budget.bytes,
                        f * 100.0
                    );
                    Signal::BudgetWarning {
                        interface: name.to_string(),
                        used,
                        budget: budget.bytes,
                    }
                }
                BudgetCrossing::Exhausted => {
                    tracing::warn!(
                        "{name}: budget of {} bytes exhausted ({used} used)",
                        budget.bytes
                    );
                    Signal::BudgetExhausted {
                        interface: name.to_string(),
                        used,
                        budget: budget.bytes,
                    }
                }
            };
            if let Some(bus) = &self.bus {
                bus.send(Publication::Signal(Box::new(signal)));
            }
        }
    }
}
