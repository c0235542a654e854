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
}
