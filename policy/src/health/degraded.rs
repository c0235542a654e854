//! The `degraded` state of [`PathHealth`]: entering it, the way back
//! (clean traffic or probes for the recovery time, doubled per relapse),
//! and the two ways on to `stalled` (unanswered probes, data stuck after
//! the hand-over). See the parent module for the whole state machine.

use super::quality::{self, Quality};
use super::{Health, PathHealth, ProbeResult, SubflowSample, Transition};
use crate::model::HealthConfig;

/// A degradation this soon after the path recovered from the previous one
/// doubles the recovery time.
pub const FLAP_WINDOW_MS: u64 = 60_000;
/// Probes of a degraded path unanswered in a row before it counts as stalled.
pub const UNANSWERED_STALL: u8 = 3;
/// After a hand-over, how long the degraded path may still move data (its
/// in-flight data draining) before that data counts as stuck.
pub const HANDOVER_GRACE_MS: u64 = 100;
/// The recovery time grows at most this many doublings.
const MAX_FLAP_DOUBLINGS: u32 = 5;

impl PathHealth {
    /// Tells a degraded path whether a backup now carries its traffic (the
    /// daemon swapped the flags); from then on data still moving on it
    /// after the grace time stalls it. Ignored in the other states.
    pub fn hand_over(&mut self, handed: bool, now_ms: u64) {
        if self.state != Health::Degraded || !handed {
            self.handed_over_since = None;
        } else if self.handed_over_since.is_none() {
            self.handed_over_since = Some(now_ms);
        }
    }

    /// The time a degraded path must be clean before it is `good` again:
    /// `recovery_ms`, doubled for each recent flap.
    pub fn recovery_ms(&self, cfg: &HealthConfig) -> u64 {
        u64::from(cfg.recovery_ms) << self.flaps.min(MAX_FLAP_DOUBLINGS)
    }

    /// How long a probe of this path may take and still count as clean:
    /// for a degraded path the delay threshold of its baseline (a later
    /// answer is [`ProbeResult::Slow`]: no recovery, no stall); `None` for
    /// the others.
    pub fn probe_timeout_ms(&self) -> Option<u64> {
        (self.state == Health::Degraded)
            .then(|| self.quality.base_rtt_us())
            .flatten()
            .map(|b| Quality::delay_threshold_us(b).div_ceil(1000))
    }

    pub(super) fn degrade(
        &mut self,
        from: Health,
        now_ms: u64,
        evidence: String,
    ) -> Option<Transition> {
        let flapping = self
            .recovered_at
            .is_some_and(|t| now_ms.saturating_sub(t) < FLAP_WINDOW_MS);
        self.flaps = if flapping { self.flaps + 1 } else { 0 };
        self.state = Health::Degraded;
        self.suspect = None;
        self.clean_since = None;
        self.carrying = true;
        self.unanswered = 0;
        self.last_probe_ms = now_ms;
        Some(Transition {
            from,
            to: Health::Degraded,
            evidence,
        })
    }

    /// Data still moving on a degraded path a backup took over from, past
    /// the grace time: the evidence, or `None`.
    pub(super) fn stuck_after_hand_over(
        &self,
        live: &[&SubflowSample],
        now_ms: u64,
    ) -> Option<String> {
        let since = self.handed_over_since?;
        let srtt_ms = live.iter().map(|s| u64::from(s.rtt_us)).max().unwrap_or(0) / 1000;
        let grace = HANDOVER_GRACE_MS.max(2 * srtt_ms);
        let after = now_ms.saturating_sub(since);
        let unacked: u32 = live.iter().map(|s| s.unacked).sum();
        let moved = self.quality.last_moved();
        (after >= grace && (moved > 0 || unacked > 0)).then(|| {
            format!(
                "degraded and handed over {after} ms ago, but still moving data ({moved} segments in the last poll, {unacked} unacked): closing it so the data is resent over the backup"
            )
        })
    }

    /// A degraded path: still degraded, clean long enough to be `good`
    /// again, or — carrying no traffic — judged by probes.
    pub(super) fn observe_degraded(
        &mut self,
        cfg: &HealthConfig,
        quality: quality::Assessment,
        probe: Option<ProbeResult>,
        now_ms: u64,
    ) -> Option<Transition> {
        self.carrying = quality.judged;
        if quality.degraded.is_some() {
            self.clean_since = None;
            return None;
        }
        let recovery = self.recovery_ms(cfg);
        let how = if quality.judged {
            "its traffic was clean"
        } else {
            match probe? {
                ProbeResult::Reachable => {
                    self.last_probe_ms = now_ms;
                    self.unanswered = 0;
                    "probes answered within the delay threshold"
                }
                // Answered, but slowly: not lost, not clean either.
                ProbeResult::Slow => {
                    self.last_probe_ms = now_ms;
                    self.unanswered = 0;
                    self.clean_since = None;
                    return None;
                }
                ProbeResult::Unreachable => {
                    self.last_probe_ms = now_ms;
                    self.clean_since = None;
                    self.unanswered += 1;
                    if self.unanswered >= UNANSWERED_STALL {
                        let evidence = format!(
                            "degraded, and {} probes in a row got no answer",
                            self.unanswered
                        );
                        return self.stall(Health::Degraded, now_ms, evidence);
                    }
                    return None;
                }
            }
        };
        let since = *self.clean_since.get_or_insert(now_ms);
        let held = now_ms.saturating_sub(since);
        if held < recovery {
            return None;
        }
        *self = PathHealth {
            recovered_at: Some(now_ms),
            ..self.fresh()
        };
        Some(Transition {
            from: Health::Degraded,
            to: Health::Good,
            evidence: format!("{how} for {:.1} s", held as f64 / 1000.0),
        })
    }
}
