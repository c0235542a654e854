//! When the daemon must read the byte counters next — pure, so the rule
//! that keeps an idle daemon asleep is table-tested. Counters change
//! without notifications, so reading them is the one thing that needs a
//! timer; everything else arrives as an event.
//!
//! - Open MPTCP connections (or connections the daemon cannot know about,
//!   without the kernel's event stream): every [`FAST_READ`] — subflow
//!   counters, path health and interactive steering follow them.
//! - A usable interface with a budget: every [`FAST_READ`] while its
//!   counters move. While they stand still: if spending the budget would
//!   demote the interface, only when the link, at its fastest, could have
//!   reached that point — so the demotion still follows the crossing
//!   within [`FAST_READ`]; if it would change nothing (a `backup` link
//!   whose `when_exhausted` is `backup`), every [`LONGEST_IDLE_READ`],
//!   to keep the counted usage and warnings current.
//! - Nothing of that: no reading at all until an event.

use std::time::Duration;

use crate::budget::{budget_verdict, BudgetInput, BudgetState};
use crate::evaluate::rank;
use crate::model::{Budget, Role};
use jiff::ZonedDateTime;

/// The reading interval while something needs the counters: a spent
/// budget is enforced within this of being crossed.
pub const FAST_READ: Duration = Duration::from_millis(250);

/// The longest wait while a budgeted link stands still: its usage (on the
/// bus, in the panel) and a warning threshold it crossed are at most this
/// late. Short enough for a user watching the panel; 12 wakeups a minute
/// instead of 240 with the old fixed 250 ms reading.
pub const LONGEST_IDLE_READ: Duration = Duration::from_secs(5);

/// Assumed when the link does not tell its speed (WiFi and modems often
/// do not): faster than any WiFi or cellular link in use, bytes/s.
pub const UNKNOWN_LINK_RATE: u64 = 10_000_000_000 / 8;

/// A usable interface with a budget, as the schedule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetWatch {
    /// Bytes until spending them would demote the interface (today's
    /// allowance or the budget); None when that would change nothing.
    pub bytes_to_demotion: Option<u64>,
    /// The link's fastest rate, bytes/s.
    pub max_rate: u64,
}

/// What the schedule is decided from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterNeeds {
    /// MPTCP connections are open.
    pub connections_open: bool,
    /// The kernel's MPTCP events are not received: connections may be
    /// open without the daemon knowing.
    pub connections_unknown: bool,
    /// Some counter moved at the last reading.
    pub moving: bool,
    /// Every usable interface with a budget.
    pub budgets: Vec<BudgetWatch>,
}

/// How long until the counters must be read again; `None`: not until an
/// event changes the needs.
pub fn next_counter_read(needs: &CounterNeeds) -> Option<Duration> {
    if needs.connections_open || needs.connections_unknown {
        return Some(FAST_READ);
    }
    if needs.budgets.is_empty() {
        return None;
    }
    if needs.moving {
        return Some(FAST_READ);
    }
    needs
        .budgets
        .iter()
        .map(|b| {
            let Some(bytes) = b.bytes_to_demotion else {
                return LONGEST_IDLE_READ;
            };
            let rate = b.max_rate.max(1);
            let ms = bytes.saturating_mul(1000) / rate;
            Duration::from_millis(ms).clamp(FAST_READ, LONGEST_IDLE_READ)
        })
        .min()
}

/// Bytes `budget` may still count before spending them demotes an
/// interface whose role is `role` now: what is left of today's allowance or
/// of the budget. None when a demotion would change nothing (the role is
/// already `when_exhausted`'s or lower) or has happened (spent: the period
/// or the day ends on a timer of its own).
pub fn bytes_to_demotion(
    budget: &Budget,
    input: &BudgetInput,
    now: &ZonedDateTime,
    role: Role,
) -> Option<u64> {
    if rank(Role::from(budget.when_exhausted)) >= rank(role) {
        return None;
    }
    let verdict = budget_verdict(budget, input, now);
    if verdict.state != BudgetState::WithinBudget {
        return None;
    }
    Some(
        verdict
            .allowance_left_today
            .map_or(verdict.remaining, |left| left.min(verdict.remaining)),
    )
}

/// A link's fastest rate in bytes/s from its speed in Mb/s as the kernel
/// reports it (`/sys/class/net/IF/speed`; -1 or absent when unknown).
pub fn link_rate(speed_mbps: Option<i64>) -> u64 {
    match speed_mbps {
        Some(mbps) if mbps > 0 => (mbps as u64).saturating_mul(1_000_000 / 8),
        _ => UNKNOWN_LINK_RATE,
    }
}
