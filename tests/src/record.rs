//! The receive/send record written by `mptcp-stream`, and its analysis
//! (gap after a cut, cut→steady, totals).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Steady = at least this many bytes received…
pub const STEADY_BYTES: u64 = 10 * 1024;
/// …within a window of this length (µs).
pub const STEADY_WINDOW_US: u64 = 100_000;

/// What one `mptcp-stream` side did. Times are CLOCK_MONOTONIC µs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    /// "client" or "server".
    pub role: String,
    /// "send" or "recv".
    pub mode: String,
    /// When the connection was established.
    pub start_us: u64,
    /// When the connection was closed.
    pub end_us: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Every successful read: (time µs, bytes).
    pub reads: Vec<(u64, u32)>,
    /// First socket error, if any.
    pub error: Option<String>,
    /// `mptcpi_subflows` seen at the end (None if unavailable).
    pub mptcp_subflows: Option<u8>,
    /// Request/response client: per request (sent µs, complete response read
    /// µs, 0 if never answered), in request order.
    #[serde(default)]
    pub responses: Vec<(u64, u64)>,
}

impl Record {
    /// Load a record from a JSON file.
    pub fn load(path: &Path) -> Result<Self> {
        let s = std::fs::read_to_string(path)
            .with_context(|| format!("reading record {}", path.display()))?;
        serde_json::from_str(&s).with_context(|| format!("parsing record {}", path.display()))
    }

    /// Write this record as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let s = serde_json::to_string(self)?;
        std::fs::write(path, s).with_context(|| format!("writing record {}", path.display()))
    }

    /// Total bytes read.
    pub fn bytes_total(&self) -> u64 {
        self.reads.iter().map(|r| u64::from(r.1)).sum()
    }

    /// Longest time (µs) without a byte received, over the whole record.
    pub fn longest_gap(&self) -> u64 {
        self.reads
            .windows(2)
            .map(|w| w[1].0.saturating_sub(w[0].0))
            .max()
            .unwrap_or(0)
    }

    /// Longest silence (µs) that ends at or after `cut_us`: each silence is
    /// measured in full, from the last read before it to the read ending it.
    pub fn gap_after(&self, cut_us: u64) -> u64 {
        self.reads
            .windows(2)
            .filter(|w| w[1].0 >= cut_us)
            .map(|w| w[1].0 - w[0].0)
            .max()
            .unwrap_or(0)
    }

    /// Response times (µs) of the requests sent in [`from_us`, `to_us`), in
    /// request order. A request never answered counts until the record's end:
    /// a lost answer is the slowest, not a missing sample.
    pub fn response_times_us(&self, from_us: u64, to_us: u64) -> Vec<u64> {
        self.responses
            .iter()
            .filter(|(sent, _)| (from_us..to_us).contains(sent))
            .map(|&(sent, done)| {
                let end = if done == 0 { self.end_us } else { done };
                end.saturating_sub(sent)
            })
            .collect()
    }

    /// "Slow time" (ms): [`from_us`, `to_us`) cut into consecutive windows of
    /// `window_us` (a last partial window is left out: it would look slow for
    /// being short); the total length of those that received < `min_bytes`.
    pub fn slow_ms(&self, from_us: u64, to_us: u64, window_us: u64, min_bytes: u64) -> u64 {
        if window_us == 0 {
            return 0;
        }
        let n = to_us.saturating_sub(from_us) / window_us;
        let mut per_window = vec![0u64; n as usize];
        for &(t, b) in &self.reads {
            if t >= from_us {
                if let Some(w) = per_window.get_mut(((t - from_us) / window_us) as usize) {
                    *w += u64::from(b);
                }
            }
        }
        let slow = per_window.iter().filter(|&&b| b < min_bytes).count() as u64;
        slow * window_us / 1000
    }

    /// From `cut_us` until the first moment at which at least
    /// [`STEADY_BYTES`] arrived (after the cut) within the last
    /// [`STEADY_WINDOW_US`]; returns that window end − cut (µs), or None.
    pub fn cut_to_steady(&self, cut_us: u64) -> Option<u64> {
        let after: Vec<(u64, u32)> = self
            .reads
            .iter()
            .copied()
            .filter(|r| r.0 >= cut_us)
            .collect();
        let mut lo = 0;
        let mut sum: u64 = 0;
        for (hi, &(t, n)) in after.iter().enumerate() {
            sum += u64::from(n);
            while after[lo].0 + STEADY_WINDOW_US <= t {
                sum -= u64::from(after[lo].1);
                lo += 1;
            }
            debug_assert!(lo <= hi);
            if sum >= STEADY_BYTES {
                return Some(t - cut_us);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(reads: Vec<(u64, u32)>) -> Record {
        Record {
            reads,
            ..Record::default()
        }
    }

    #[test]
    fn gaps() {
        let r = rec(vec![(0, 1), (1000, 1), (5000, 1), (5500, 1), (9000, 1)]);
        assert_eq!(r.longest_gap(), 4000);
        assert_eq!(r.gap_after(5200), 3500);
        assert_eq!(r.gap_after(4000), 4000);
        assert_eq!(r.bytes_total(), 5);
    }

    #[test]
    fn steady_needs_window_after_cut() {
        // 1 KiB every ms before the cut, silence, then trickle, then flow.
        let mut reads: Vec<(u64, u32)> = (0..100).map(|i| (i * 1000, 1024)).collect();
        reads.push((300_000, 1024));
        reads.push((500_000, 1024));
        reads.extend((0..20).map(|i| (700_000 + i * 1000, 1024)));
        let r = rec(reads);
        let cut = 100_000;
        // 10 KiB inside 100 ms: trickle at 300/500 ms counts only if within window.
        assert_eq!(r.cut_to_steady(cut), Some(709_000 - cut));
        assert_eq!(r.gap_after(cut), 201_000);
        assert_eq!(rec(vec![(200_000, 5)]).cut_to_steady(cut), None);
    }

    #[test]
    fn slow_windows() {
        // 1 KiB per ms for 1 s, except a silence 300–550 ms and a trickle
        // (1 KiB per 10 ms) 700–800 ms.
        let reads: Vec<(u64, u32)> = (0..1000u64)
            .filter(|ms| !(300..550).contains(ms))
            .filter(|ms| !(700..800).contains(ms) || ms % 10 == 0)
            .map(|ms| (ms * 1000, 1024))
            .collect();
        let r = rec(reads);
        // Half the rate over 100 ms.
        let half = 50 * 1024;
        // 300–400, 400–500 silent; 500–600 half full (not slow); 700–800 trickle.
        assert_eq!(r.slow_ms(0, 1_000_000, 100_000, half), 300);
        // Windows from 250: 350–450 and 450–550 silent; 250–350 (50 KiB)
        // and 650–750, 750–850 (55 KiB each) are slow only below 56 KiB;
        // 950–1000 (50 KiB) is a partial window, left out either way.
        assert_eq!(r.slow_ms(250_000, 1_000_000, 100_000, half), 200);
        assert_eq!(r.slow_ms(250_000, 1_000_000, 100_000, 56 * 1024), 500);
        assert_eq!(r.slow_ms(0, 1_000_000, 100_000, 0), 0);
        assert_eq!(r.slow_ms(0, 1_000_000, 0, half), 0);
        assert_eq!(r.slow_ms(2_000_000, 3_000_000, 100_000, 1), 1000);
    }

    #[test]
    fn response_times() {
        let r = Record {
            end_us: 10_000,
            responses: vec![(1000, 1500), (2000, 2100), (3000, 0), (4000, 4200)],
            ..Record::default()
        };
        assert_eq!(r.response_times_us(0, 10_000), vec![500, 100, 7000, 200]);
        assert_eq!(r.response_times_us(2000, 4000), vec![100, 7000]);
        assert!(r.response_times_us(5000, 9000).is_empty());
    }

    #[test]
    fn old_records_parse() {
        let j = r#"{"role":"client","mode":"send","start_us":1,"end_us":2,
            "bytes_sent":3,"bytes_received":0,"reads":[],"error":null,"mptcp_subflows":2}"#;
        let r: Record = serde_json::from_str(j).expect("parse");
        assert!(r.responses.is_empty());
    }
}
