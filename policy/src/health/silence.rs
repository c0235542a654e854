//! The silences of [`PathHealth`]: the sending side's (no ACK while data
//! is outstanding) with the probe that may let it pass, and the receiving
//! side's (nothing received after receiving). See the parent module for
//! the whole state machine.

use super::verdict::DELAYED_ACK_MS;
use super::{Health, PathHealth, ProbeResult, SubflowSample, Transition};
use crate::model::HealthConfig;

/// A second sending-side silence past the bound within this time of a
/// vetoed one is not vetoed: one tail loss is TCP's business, losses that
/// keep stopping the traffic are a path failing it. Sparse traffic (a
/// request every 20 ms) through a fade has a tail loss every few hundred ms,
/// each waiting 200 ms for TCP's timer; vetoing them all raised
/// `bench/fade`'s request/response p99 from 43–81 ms to 170–490 ms. Steady
/// 2 % loss on a paced stream gives about one such silence a minute.
pub const SECOND_VETO_MS: u64 = 10_000;

/// The sending side's silence at one sample.
pub(super) struct Silence {
    pub(super) silence_ms: u64,
    pub(super) bound_ms: u64,
    pub(super) rtt_us: u32,
    pub(super) rttvar_us: u32,
    pub(super) unacked: u64,
}

impl Silence {
    pub(super) fn rtt(&self) -> String {
        format!(
            "srtt {:.1} ms, rttvar {:.1} ms, bound {} ms",
            f64::from(self.rtt_us) / 1000.0,
            f64::from(self.rttvar_us) / 1000.0,
            self.bound_ms
        )
    }
}

impl PathHealth {
    /// Updates the outstanding-data bookkeeping and the recovery ACK gate;
    /// the ACK silence while data is outstanding, unless gated.
    pub(super) fn send_silence(
        &mut self,
        cfg: &HealthConfig,
        live: &[&SubflowSample],
        gap: bool,
        now_ms: u64,
    ) -> Option<Silence> {
        let last_ack_age = live.iter().map(|s| u64::from(s.last_ack_recv_ms)).min();
        if let (Some(t), Some(age)) = (self.ack_gate, last_ack_age) {
            if age <= now_ms.saturating_sub(t) {
                self.ack_gate = None;
            }
        }
        let sending: Vec<&SubflowSample> = live.iter().copied().filter(|s| s.unacked > 0).collect();
        let Some(last_send_age) = sending.iter().map(|s| u64::from(s.last_data_sent_ms)).min()
        else {
            self.outstanding_since = None;
            return None;
        };
        // Newly outstanding (or dated afresh after a gap): from the latest
        // send seen, which is never earlier than the real start.
        let fresh = now_ms.saturating_sub(last_send_age);
        let since = match self.outstanding_since {
            Some(old) if !gap => old,
            old => old.map_or(fresh, |o| o.max(fresh)),
        };
        self.outstanding_since = Some(since);
        if self.ack_gate.is_some() {
            return None;
        }
        let ack_at = now_ms.saturating_sub(last_ack_age.unwrap_or(u64::MAX));
        let worst = sending.iter().max_by_key(|s| s.bound_ms(cfg))?;
        let unacked: u64 = sending.iter().map(|s| u64::from(s.unacked)).sum();
        let mut bound_ms = worst.bound_ms(cfg);
        if unacked == 1 {
            // A lone segment (a sender resuming after a pause) may wait for
            // the receiver's delayed-ACK timer: the ACK of a live path can
            // then take a round trip plus DELAYED_ACK_MS. Two or more full
            // segments are acknowledged at once.
            bound_ms = bound_ms.max(u64::from(worst.rtt_us).div_ceil(1000) + DELAYED_ACK_MS);
        }
        Some(Silence {
            silence_ms: now_ms.saturating_sub(since.max(ack_at)),
            bound_ms,
            rtt_us: worst.rtt_us,
            rttvar_us: worst.rttvar_us,
            unacked,
        })
    }

    /// Whether the path received data since the previous sample (on the
    /// first sample: whether it received within the bound).
    pub(super) fn rx_grew(&mut self, cfg: &HealthConfig, live: &[&SubflowSample]) -> bool {
        let total: u64 = live.iter().map(|s| s.bytes_received).sum();
        let grew = match self.rx_total {
            Some(prev) => total > prev,
            None => live
                .iter()
                .any(|s| s.bytes_received > 0 && u64::from(s.last_data_recv_ms) <= s.bound_ms(cfg)),
        };
        self.rx_total = Some(total);
        grew
    }

    /// How long nothing (no data, no ACK) has been heard over a path that
    /// was receiving and has nothing outstanding, if it is being watched.
    /// An ACK counts: the peer still reaches us.
    pub(super) fn rx_silence(
        &self,
        cfg: &HealthConfig,
        live: &[&SubflowSample],
    ) -> Option<Silence> {
        if !self.rx_armed || live.iter().any(|s| s.unacked > 0) {
            return None;
        }
        let silence = live
            .iter()
            .map(|s| u64::from(s.last_data_recv_ms.min(s.last_ack_recv_ms)))
            .min()?;
        let worst = live
            .iter()
            .filter(|s| s.bytes_received > 0)
            .max_by_key(|s| s.bound_ms(cfg))?;
        Some(Silence {
            silence_ms: silence,
            bound_ms: worst.bound_ms(cfg),
            rtt_us: worst.rtt_us,
            rttvar_us: worst.rttvar_us,
            unacked: 0,
        })
    }

    /// A probe's answer while the sending side is suspect. `Reachable` (or
    /// `Slow`): the path is alive, the silence is TCP recovering a lost
    /// segment by its own timers — a tail loss waits for the loss probe
    /// (2 × srtt + 2 jiffies) and its ACK, a lost lone segment for
    /// 200 ms; both pass a bound of 3 × srtt on a steady path (rttvar near
    /// 0) under light loss, and stalled it falsely. No stall for one bound;
    /// a new probe after half of it — unless another silence was vetoed
    /// less than [`SECOND_VETO_MS`] ago. `Unreachable`: stalled now.
    pub(super) fn judge_send_probe(
        &mut self,
        probe: Option<ProbeResult>,
        send: Option<&Silence>,
        from: Health,
        now_ms: u64,
    ) -> Option<Transition> {
        let s = send?;
        match probe? {
            ProbeResult::Reachable | ProbeResult::Slow => {
                let began = now_ms.saturating_sub(s.silence_ms);
                let same = self
                    .vetoed
                    .is_some_and(|(start, _)| start.abs_diff(began) <= 2);
                // A new silence is let pass unless another was lately.
                let vetoes = same
                    || self
                        .vetoed
                        .is_none_or(|(_, at)| now_ms.saturating_sub(at) >= SECOND_VETO_MS);
                if vetoes {
                    if !same {
                        self.vetoed = Some((began, now_ms));
                    }
                    self.send_veto_until = Some(now_ms + s.bound_ms);
                    self.send_reprobe_at = Some(now_ms + s.bound_ms / 2);
                } else {
                    // Stalled at the bound; no more probes for this silence.
                    self.send_reprobe_at = Some(u64::MAX);
                }
                None
            }
            ProbeResult::Unreachable => {
                let evidence = format!(
                    "no ACK for {} ms with {} segments unacked ({}) and the probe over the path got no answer",
                    s.silence_ms,
                    s.unacked,
                    s.rtt()
                );
                self.stall(from, now_ms, evidence)
            }
        }
    }
}
