//! Bytes counted per interface (rx + tx as the interface counters report,
//! the way a carrier counts), accumulated across counter resets (a link
//! recreated starts again at zero) and daemon restarts (persisted by the
//! engine). Period boundaries and budget verdicts come from the policy
//! crate; this only counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Counted {
    /// Bytes counted so far.
    bytes: u64,
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
        delta > 0
    }

    pub fn bytes(&self, name: &str) -> u64 {
        self.interfaces.get(name).map_or(0, |c| c.bytes)
    }

    /// Starts counting `name` from zero (the current counter is the new
    /// baseline).
    pub fn reset(&mut self, name: &str) {
        if let Some(c) = self.interfaces.get_mut(name) {
            c.bytes = 0;
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
}
