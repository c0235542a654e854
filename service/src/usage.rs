//! Bytes counted per interface (rx + tx as the interface counters report,
//! the way a carrier counts), accumulated across counter resets (a link
//! recreated starts again at zero) and daemon restarts (persisted by the
//! engine), split by budget period and by local day for the daily
//! allowance. Where periods begin is the policy crate's pure decision; this
//! only counts and rolls over when told.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Counted {
    /// Bytes counted in the current period.
    bytes: u64,
    /// Start of the period `bytes` belongs to (Unix seconds), when the
    /// interface has a budget.
    #[serde(default)]
    period_start: Option<i64>,
    /// Bytes counted today (local day `today`).
    #[serde(default)]
    today_bytes: u64,
    #[serde(default)]
    today: Option<String>,
    /// The part of `bytes` carried by MPTCP subflows (from the subflows'
    /// own TCP counters).
    #[serde(default)]
    mptcp_bytes: u64,
    /// The interface counter at the last observation (None after a
    /// restart: the first observation only sets the baseline).
    #[serde(skip)]
    last: Option<u64>,
}

/// Usage per interface name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    interfaces: BTreeMap<String, Counted>,
}

impl Usage {
    /// Takes a new reading of `name`'s counter; returns whether the count
    /// grew.
    pub fn observe(&mut self, name: &str, counter: u64) -> bool {
        let c = self.interfaces.entry(name.to_string()).or_default();
        let delta = match c.last {
            None => 0,
            // A counter that went backwards was reset (link recreated): all
            // of it is new traffic.
            Some(last) if counter < last => counter,
            Some(last) => counter - last,
        };
        c.last = Some(counter);
        c.bytes = c.bytes.saturating_add(delta);
        c.today_bytes = c.today_bytes.saturating_add(delta);
        delta > 0
    }

    /// Adds bytes that MPTCP subflows on `name` carried.
    pub fn add_mptcp(&mut self, name: &str, bytes: u64) {
        let c = self.interfaces.entry(name.to_string()).or_default();
        c.mptcp_bytes = c.mptcp_bytes.saturating_add(bytes);
    }

    /// Bytes MPTCP subflows carried in the current period.
    pub fn mptcp_bytes(&self, name: &str) -> u64 {
        self.interfaces.get(name).map_or(0, |c| c.mptcp_bytes)
    }

    /// Bytes in the current period.
    pub fn bytes(&self, name: &str) -> u64 {
        self.interfaces.get(name).map_or(0, |c| c.bytes)
    }

    /// The policy's budget input for `name`.
    pub fn input(&self, name: &str) -> mptcp_policy::BudgetInput {
        mptcp_policy::BudgetInput {
            used_in_period: self.bytes(name),
            used_today: self.today(name),
        }
    }

    /// Bytes today.
    pub fn today(&self, name: &str) -> u64 {
        self.interfaces.get(name).map_or(0, |c| c.today_bytes)
    }

    /// Starts a new period and/or day for `name` when `period_start` (Unix
    /// seconds) / `today` (local date) differ from the recorded ones.
    /// Periods only move forward: a recorded start later than
    /// `period_start` (the clock went back) keeps the count, so a period
    /// never starts early. Returns true when a period restarted.
    pub fn roll(&mut self, name: &str, period_start: i64, today: &str) -> bool {
        let c = self.interfaces.entry(name.to_string()).or_default();
        let new_period = match c.period_start {
            None => {
                c.period_start = Some(period_start);
                false
            }
            Some(r) if period_start > r => {
                c.period_start = Some(period_start);
                c.bytes = 0;
                c.mptcp_bytes = 0;
                true
            }
            Some(_) => false,
        };
        if c.today.as_deref() != Some(today) {
            c.today = Some(today.to_string());
            c.today_bytes = 0;
        }
        new_period
    }

    /// Starts counting `name` from zero (the current counter is the new
    /// baseline).
    pub fn reset(&mut self, name: &str) {
        if let Some(c) = self.interfaces.get_mut(name) {
            c.bytes = 0;
            c.today_bytes = 0;
            c.mptcp_bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_deltas_resets_and_restarts() {
        let mut u = Usage::default();
        assert!(!u.observe("wwan0", 1_000)); // baseline only
        assert!(u.observe("wwan0", 1_500));
        assert_eq!(u.bytes("wwan0"), 500);
        // Link recreated: counter restarts at 0.
        u.observe("wwan0", 200);
        assert_eq!(u.bytes("wwan0"), 700);
        // Restart: the persisted count survives, the baseline is re-taken.
        let text = serde_json::to_string(&u).expect("json");
        let mut back: Usage = serde_json::from_str(&text).expect("parse");
        assert_eq!(back.bytes("wwan0"), 700);
        back.observe("wwan0", 5_000);
        assert_eq!(back.bytes("wwan0"), 700);
        back.observe("wwan0", 5_100);
        assert_eq!(back.bytes("wwan0"), 800);
        back.reset("wwan0");
        assert_eq!(back.bytes("wwan0"), 0);
        back.observe("wwan0", 5_150);
        assert_eq!(back.bytes("wwan0"), 50);
        assert_eq!(back.bytes("nothing"), 0);
    }

    #[test]
    fn periods_and_days_roll_forward_only() {
        let mut u = Usage::default();
        assert!(!u.roll("wwan0", 1000, "2026-11-28")); // first sight: no restart
        u.observe("wwan0", 0);
        u.observe("wwan0", 300);
        assert_eq!((u.bytes("wwan0"), u.today("wwan0")), (300, 300));
        // Next day, same period.
        assert!(!u.roll("wwan0", 1000, "2026-11-29"));
        assert_eq!((u.bytes("wwan0"), u.today("wwan0")), (300, 0));
        u.observe("wwan0", 400);
        assert_eq!((u.bytes("wwan0"), u.today("wwan0")), (400, 100));
        // The clock went back: nothing restarts early.
        assert!(!u.roll("wwan0", 500, "2026-11-29"));
        assert_eq!(u.bytes("wwan0"), 400);
        // A new period.
        assert!(u.roll("wwan0", 2000, "2026-12-01"));
        assert_eq!((u.bytes("wwan0"), u.today("wwan0")), (0, 0));
        // Survives a restart, including the recorded period.
        let back: Usage =
            serde_json::from_str(&serde_json::to_string(&u).expect("json")).expect("parse");
        let mut back = back;
        assert!(!back.roll("wwan0", 2000, "2026-12-01"));
    }
}
