//! Throughput per path over the last minute, from the daemon's byte
//! counters (`RxBytes` + `TxBytes`, published at most about once a second
//! and only when they grew). Pure: times are seconds on the caller's clock.
//!
//! Between two samples the bytes are spread evenly, except after a quiet
//! spell: the daemon publishes within a counter tick of the first growth,
//! so a sample that follows a long gap carried bytes of its last second
//! only (the rest of the gap was idle).

use std::collections::{BTreeMap, VecDeque};

/// How far back the graph looks.
pub const WINDOW_SECS: f64 = 60.0;
/// A gap longer than this between samples was idle except for its last
/// [`BURST_SECS`].
const IDLE_GAP_SECS: f64 = 1.5;
const BURST_SECS: f64 = 1.0;

/// One constant-rate stretch: from `start` to `end` (seconds), bytes/s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub rate: f64,
}

#[derive(Debug, Default)]
struct Path {
    /// (time, rx + tx) in time order.
    samples: VecDeque<(f64, u64)>,
}

/// Counter samples per interface name.
#[derive(Debug, Default)]
pub struct Throughput {
    paths: BTreeMap<String, Path>,
}

impl Throughput {
    /// Records the counters of `name` at `t`. Samples older than the window
    /// are dropped (one older sample is kept as the left edge).
    pub fn record(&mut self, name: &str, t: f64, rx: u64, tx: u64) {
        let path = self.paths.entry(name.to_string()).or_default();
        let total = rx.saturating_add(tx);
        if path.samples.back().is_some_and(|&(_, last)| last == total) {
            return; // nothing new (a re-sent snapshot)
        }
        path.samples.push_back((t, total));
        while path.samples.len() > 2 && path.samples[1].0 < t - WINDOW_SECS {
            path.samples.pop_front();
        }
    }

    /// Forgets interfaces that are gone.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.paths.retain(|name, _| keep(name));
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.paths.keys().map(String::as_str)
    }

    /// The constant-rate stretches of `name` within the window ending at
    /// `now`, oldest first. A counter that went backwards (link recreated)
    /// contributes nothing for that stretch.
    pub fn segments(&self, name: &str, now: f64) -> Vec<Segment> {
        let Some(path) = self.paths.get(name) else {
            return Vec::new();
        };
        let from = now - WINDOW_SECS;
        let mut out = Vec::new();
        for pair in path.samples.iter().collect::<Vec<_>>().windows(2) {
            let (&(t0, c0), &(t1, c1)) = (pair[0], pair[1]);
            if t1 <= t0 || c1 < c0 {
                continue;
            }
            let start = if t1 - t0 > IDLE_GAP_SECS {
                t1 - BURST_SECS
            } else {
                t0
            };
            let seg = Segment {
                start: start.max(from),
                end: t1.min(now),
                rate: (c1 - c0) as f64 / (t1 - start),
            };
            if seg.end > seg.start {
                out.push(seg);
            }
        }
        out
    }

    /// The rate at `now`: the last stretch's rate if it ended recently
    /// (updates come about once a second while bytes flow), else 0.
    pub fn current(&self, name: &str, now: f64) -> f64 {
        self.segments(name, now)
            .last()
            .filter(|s| now - s.end <= IDLE_GAP_SECS)
            .map_or(0.0, |s| s.rate)
    }

    /// The highest rate of any path within the window.
    pub fn peak(&self, now: f64) -> f64 {
        self.paths
            .keys()
            .flat_map(|n| self.segments(n, now))
            .map(|s| s.rate)
            .fold(0.0, f64::max)
    }
}

/// A round axis maximum at or above `peak`: 1, 2 or 5 × 10ⁿ in the binary
/// unit the label uses (B, KiB, MiB, ... per second), at least 1 KiB/s so an
/// idle graph is flat at the bottom.
pub fn axis_max(peak: f64) -> f64 {
    let peak = peak.max(1024.0);
    let mut unit = 1.0;
    while peak / unit >= 1024.0 {
        unit *= 1024.0;
    }
    let value = peak / unit;
    let step = 10f64.powf(value.log10().floor());
    let nice = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * step)
        .find(|v| *v >= value)
        .unwrap_or(10.0 * step);
    nice * unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_updates_give_their_rate() {
        let mut t = Throughput::default();
        for (time, rx, tx) in [(0.0, 0, 0), (1.0, 500, 500), (2.0, 1500, 1500)] {
            t.record("wlan0", time, rx, tx);
        }
        let segs = t.segments("wlan0", 2.0);
        assert_eq!(
            segs,
            vec![
                Segment {
                    start: 0.0,
                    end: 1.0,
                    rate: 1000.0
                },
                Segment {
                    start: 1.0,
                    end: 2.0,
                    rate: 2000.0
                }
            ]
        );
        assert_eq!(t.current("wlan0", 2.5), 2000.0);
        assert_eq!(t.current("wlan0", 4.0), 0.0, "no update: idle");
        assert_eq!(t.peak(2.0), 2000.0);
    }

    #[test]
    fn table_of_edge_cases() {
        // (samples, now, expected segments as (start, end, rate))
        type Case = (Vec<(f64, u64)>, f64, Vec<(f64, f64, f64)>);
        let cases: Vec<Case> = vec![
            // A burst after 10 idle seconds is put into its last second.
            (
                vec![(0.0, 0), (10.0, 4000)],
                10.0,
                vec![(9.0, 10.0, 4000.0)],
            ),
            // A counter reset (link recreated) shows nothing for that stretch.
            (
                vec![(0.0, 5000), (1.0, 100), (2.0, 1100)],
                2.0,
                vec![(1.0, 2.0, 1000.0)],
            ),
            // Stretches are clipped to the last 60 s.
            (
                vec![(0.0, 0), (1.0, 1000), (61.5, 1000 + 61_000)],
                61.5,
                vec![(60.5, 61.5, 61_000.0)],
            ),
            (
                vec![(100.0, 0), (101.0, 1000), (102.0, 3000)],
                160.5,
                vec![(100.5, 101.0, 1000.0), (101.0, 102.0, 2000.0)],
            ),
            // One sample: no rate yet.
            (vec![(0.0, 10)], 0.5, vec![]),
        ];
        for (samples, now, want) in cases {
            let mut t = Throughput::default();
            for (time, c) in &samples {
                t.record("p", *time, *c, 0);
            }
            let got: Vec<(f64, f64, f64)> = t
                .segments("p", now)
                .iter()
                .map(|s| (s.start, s.end, s.rate))
                .collect();
            assert_eq!(got, want, "{samples:?} at {now}");
        }
    }

    #[test]
    fn old_samples_are_dropped_and_unknown_paths_are_empty() {
        let mut t = Throughput::default();
        for i in 0..200u64 {
            t.record("wwan0", i as f64, i * 100, 0);
        }
        assert!(t.paths["wwan0"].samples.len() <= 62);
        assert!(t.segments("nothing", 1.0).is_empty());
        t.retain(|n| n != "wwan0");
        assert_eq!(t.names().count(), 0);
    }

    #[test]
    fn axis_is_round() {
        const KIB: f64 = 1024.0;
        const MIB: f64 = 1024.0 * 1024.0;
        for (peak, want) in [
            (0.0, KIB),
            (1200.0, 2.0 * KIB),
            (2048.0, 2.0 * KIB),
            (3500.0, 5.0 * KIB),
            (300.0 * KIB, 500.0 * KIB),
            (1.1 * MIB, 2.0 * MIB),
            (7.0 * MIB, 10.0 * MIB),
        ] {
            assert_eq!(axis_max(peak), want, "{peak}");
        }
        assert_eq!(crate::format::rate(axis_max(1.1 * MIB)), "2.0 MiB/s");
    }
}
