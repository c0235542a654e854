//! Path quality, pure: whether a live path still serves well, from the
//! counters the kernel keeps per subflow. Three signs, each against the
//! path's own history over the last [`WINDOW_MS`]:
//!
//! - **Loss on the way out**: retransmitted data segments / data segments
//!   sent ≥ [`LOSS_DEGRADED`] (at least [`MIN_SEGMENTS`] sent and
//!   [`MIN_RETRANSMISSIONS`] retransmitted).
//! - **Loss on the way in**: the time with out-of-order arrivals (a hole the
//!   next packets queue behind: data lost while the peer still sends) ≥
//!   [`HOLE_DEGRADED`] of the window (at least [`MIN_SEGMENTS`] received,
//!   judged over polls no longer than [`HOLE_MAX_INTERVAL_MS`] that cover
//!   at least [`HOLE_MIN_SPAN_MS`]).
//! - **Delay**: the smoothed RTT (the receiver's estimate on a path that
//!   only receives) ≥ max(2 × the path's lowest, lowest + 40 ms) for
//!   [`DELAY_HOLD_MS`]: bufferbloat or a fading radio a call would feel.
//!
//! Steady light loss (2 %) stays below every threshold; idle and on/off
//! traffic give too few segments to judge.

use std::collections::VecDeque;

use super::verdict::SubflowSample;

/// How much history a verdict looks at.
pub const WINDOW_MS: u64 = 300;
/// Fewer data segments than this in the window: too little to judge.
pub const MIN_SEGMENTS: u64 = 20;
/// Fewer retransmissions than this in the window never degrade a path: a
/// burst's first few dozen segments at 2 % loss can show 3 of 24, and one
/// retransmission timeout resends a whole flight (steady 2 % loss in
/// e2e_fade showed windows of 6 of 29, 7 of 67 and 9 of 90). A fading path
/// that carries enough to judge passes 10 within a few round trips.
pub const MIN_RETRANSMISSIONS: u64 = 10;
/// Retransmitted / sent data segments at which a path is degraded. Steady
/// 2 % loss retransmits ~2–3 %; a fade passes 10 % within a second.
pub const LOSS_DEGRADED: f64 = 0.10;
/// Share of the window with out-of-order arrivals at which a path is
/// degraded on the way in. Each loss leaves a hole for about a round trip
/// and a few segments: at 2 % loss on a 10 ms path holes cover ~25 % of the
/// time, at 20 % nearly all of it.
pub const HOLE_DEGRADED: f64 = 0.8;
/// Poll intervals longer than this say nothing about how long a hole
/// lasted (one out-of-order packet would mark all of it): left out of the
/// hole share. The first poll after an idle spell is such an interval.
pub const HOLE_MAX_INTERVAL_MS: u64 = 100;
/// The hole share is judged over at least this much of finely polled time
/// (not on the first few polls after a start or a reset of the window).
pub const HOLE_MIN_SPAN_MS: u64 = WINDOW_MS / 2;
/// RTT over the delay threshold this long: degraded.
pub const DELAY_HOLD_MS: u64 = 100;
/// The delay threshold: max(`DELAY_FACTOR` × lowest RTT, lowest +
/// `DELAY_MARGIN_US`).
pub const DELAY_FACTOR: u64 = 2;
/// See [`DELAY_FACTOR`].
pub const DELAY_MARGIN_US: u64 = 40_000;

/// What one poll interval showed, summed over the path's subflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interval {
    end_ms: u64,
    len_ms: u64,
    segs_out: u64,
    retrans: u64,
    segs_in: u64,
    /// Some packet arrived out of order during the interval.
    hole: bool,
}

/// One subflow's counters at the previous poll, by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    id: u64,
    segs_out: u32,
    retrans: u32,
    segs_in: u32,
    ooo: u32,
}

/// The quality estimator of one path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quality {
    window: VecDeque<Interval>,
    seen: Vec<Seen>,
    last_ms: Option<u64>,
    /// Lowest RTT the path has shown (µs): the kernel's `min_rtt` of its
    /// subflows, or the lowest receiver estimate on a receive-only path.
    base_rtt_us: Option<u32>,
    /// Since when the RTT has been over the delay threshold.
    slow_since: Option<u64>,
    /// Data segments (in + out) of the last interval.
    last_moved: u64,
}

/// What the window says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assessment {
    /// Degraded, with the evidence.
    pub degraded: Option<String>,
    /// Enough data moved in the window to judge: a clean verdict counts
    /// towards recovery.
    pub judged: bool,
}

impl Quality {
    /// The path's lowest RTT seen, µs.
    pub fn base_rtt_us(&self) -> Option<u32> {
        self.base_rtt_us
    }

    /// The delay threshold for the path's baseline, µs.
    pub fn delay_threshold_us(base_us: u32) -> u64 {
        let base = u64::from(base_us);
        (DELAY_FACTOR * base).max(base + DELAY_MARGIN_US)
    }

    /// Data segments the path's subflows sent or received between the last
    /// two polls.
    pub fn last_moved(&self) -> u64 {
        self.last_moved
    }

    /// Forgets the traffic history (kept: the RTT baseline). After a stall
    /// or a recovery the old window says nothing about the path now.
    pub fn reset_window(&mut self) {
        self.window.clear();
        self.seen.clear();
        self.last_ms = None;
        self.slow_since = None;
        self.last_moved = 0;
    }

    /// Feeds one poll of the path's established subflows at `now_ms`.
    pub fn feed(&mut self, subflows: &[SubflowSample], now_ms: u64) -> Assessment {
        let live: Vec<&SubflowSample> = subflows.iter().filter(|s| s.established()).collect();
        self.learn_baseline(&live);
        let mut iv = Interval {
            end_ms: now_ms,
            len_ms: self.last_ms.map_or(0, |t| now_ms.saturating_sub(t)),
            segs_out: 0,
            retrans: 0,
            segs_in: 0,
            hole: false,
        };
        let mut seen = Vec::with_capacity(live.len());
        for s in &live {
            let now = Seen {
                id: s.id,
                segs_out: s.data_segs_out,
                retrans: s.total_retrans,
                segs_in: s.data_segs_in,
                ooo: s.rcv_ooopack,
            };
            // A subflow seen for the first time gives its baseline only.
            if let Some(prev) = self.seen.iter().find(|p| p.id == s.id) {
                iv.segs_out += u64::from(now.segs_out.saturating_sub(prev.segs_out));
                iv.retrans += u64::from(now.retrans.saturating_sub(prev.retrans));
                iv.segs_in += u64::from(now.segs_in.saturating_sub(prev.segs_in));
                iv.hole |= now.ooo > prev.ooo;
            }
            seen.push(now);
        }
        self.seen = seen;
        self.last_ms = Some(now_ms);
        self.last_moved = iv.segs_out + iv.segs_in;
        if iv.len_ms > 0 {
            self.window.push_back(iv);
        }
        while self
            .window
            .front()
            .is_some_and(|w| now_ms.saturating_sub(w.end_ms) >= WINDOW_MS)
        {
            self.window.pop_front();
        }
        self.assess(&live, now_ms)
    }

    fn learn_baseline(&mut self, live: &[&SubflowSample]) {
        let lowest = live
            .iter()
            .map(|s| s.min_rtt_us)
            .chain(live.iter().map(|s| s.rcv_rtt_us))
            .filter(|&r| r > 0)
            .min();
        if let Some(r) = lowest {
            self.base_rtt_us = Some(self.base_rtt_us.map_or(r, |b| b.min(r)));
        }
    }

    fn assess(&mut self, live: &[&SubflowSample], now_ms: u64) -> Assessment {
        let span: u64 = self.window.iter().map(|w| w.len_ms).sum();
        let out: u64 = self.window.iter().map(|w| w.segs_out).sum();
        let retrans: u64 = self.window.iter().map(|w| w.retrans).sum();
        let inn: u64 = self.window.iter().map(|w| w.segs_in).sum();
        let fine = || {
            self.window
                .iter()
                .filter(|w| w.len_ms <= HOLE_MAX_INTERVAL_MS)
        };
        let fine_span: u64 = fine().map(|w| w.len_ms).sum();
        let hole_ms: u64 = fine().filter(|w| w.hole).map(|w| w.len_ms).sum();
        let sends = out >= MIN_SEGMENTS;
        let receives = inn >= MIN_SEGMENTS;
        let mut degraded = None;
        if sends && retrans >= MIN_RETRANSMISSIONS && retrans as f64 >= LOSS_DEGRADED * out as f64 {
            degraded = Some(format!(
                "{retrans} of {out} data segments sent in the last {span} ms were retransmitted ({:.0} %)",
                100.0 * retrans as f64 / out as f64
            ));
        } else if receives
            && fine_span >= HOLE_MIN_SPAN_MS
            && hole_ms as f64 >= HOLE_DEGRADED * fine_span as f64
        {
            degraded = Some(format!(
                "data arrived out of order (lost on the way in) during {hole_ms} of the last {fine_span} ms, {inn} segments received"
            ));
        }
        // The RTT is fresh whenever data moved: no minimum count (a call's
        // 50 packets a second are too few to judge loss, not delay).
        let delay = self.delay(live, now_ms, out > 0, inn > 0);
        Assessment {
            degraded: degraded.or(delay),
            judged: sends || receives,
        }
    }

    /// The delay sign: the RTT of the subflows that carry data against the
    /// path's baseline, held for [`DELAY_HOLD_MS`].
    fn delay(
        &mut self,
        live: &[&SubflowSample],
        now_ms: u64,
        sends: bool,
        receives: bool,
    ) -> Option<String> {
        let base = self.base_rtt_us?;
        // The sender's smoothed RTT moves only while it sends; a path that
        // only receives has the receiver's estimate.
        let rtt = if sends {
            live.iter().map(|s| s.rtt_us).max()
        } else if receives {
            live.iter().map(|s| s.rcv_rtt_us).max()
        } else {
            None
        };
        let threshold = Self::delay_threshold_us(base);
        match rtt.filter(|&r| u64::from(r) >= threshold) {
            Some(r) => {
                let since = *self.slow_since.get_or_insert(now_ms);
                (now_ms.saturating_sub(since) >= DELAY_HOLD_MS).then(|| {
                    format!(
                        "RTT {:.1} ms for {} ms, lowest {:.1} ms (threshold {:.1} ms)",
                        f64::from(r) / 1000.0,
                        now_ms.saturating_sub(since),
                        f64::from(base) / 1000.0,
                        threshold as f64 / 1000.0
                    )
                })
            }
            None => {
                self.slow_since = None;
                None
            }
        }
    }
}
