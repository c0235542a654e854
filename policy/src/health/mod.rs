//! Path health, pure: a path (one interface) goes `good` → `suspect` →
//! `stalled` when it falls silent, and back to `good` when probes over it
//! have answered for the recovery time. Samples, probe results and the
//! monotonic time are inputs; no I/O, no clock reads.
//!
//! - Sending side: data outstanding and no ACK for longer than the bound
//!   (max(`floor_ms`, `multiplier` × srtt + 4 × rttvar); with a single
//!   segment outstanding at least srtt + 40 ms, the receiver's delayed-ACK
//!   time) → `stalled`, unless a probe over the path answered: from half
//!   the bound the path is `suspect` and [`PathHealth::wants_probe`] asks
//!   for one, so that a live path's answer (within a round trip) is known
//!   when the bound is reached — then the silence is a loss TCP recovers
//!   by its own timers, and the path is probed again every half bound
//!   while it lasts. No answer by the bound: stalled, as fast as without
//!   the probe. The silence
//!   counts from the later of the last ACK and the moment data became
//!   outstanding, so a sender resuming after a pause is not "silent".
//! - Receiving side: a path that was receiving and now has heard nothing
//!   (no data, no ACK) for half the bound, with nothing unacked, cannot tell
//!   a dead path from a paused sender: `suspect`, and
//!   [`PathHealth::wants_probe`] asks for one probe at once; `Reachable` or
//!   data flowing again → `good`; `Unreachable`, or no answer yet when the
//!   silence passes the bound (a live path answers within a round trip) →
//!   `stalled`.
//! - Degraded (see [`quality`]): the path still delivers but loses or
//!   delays data well beyond its own history. It recovers when it has been
//!   clean for the recovery time — judged by its traffic while it carries
//!   data, by probes answered within the delay threshold while a backup
//!   carries the traffic. Each new degradation within [`degraded::FLAP_WINDOW_MS`]
//!   of a recovery doubles that time (up to 32×): no flapping. Probes
//!   unanswered [`degraded::UNANSWERED_STALL`] times in a row stall it. Once a backup
//!   carries the traffic ([`PathHealth::hand_over`]), data still moving on
//!   the degraded path after the grace time (max([`degraded::HANDOVER_GRACE_MS`],
//!   2 × srtt)) is data stuck behind its losses (retransmission timers
//!   backing off): the path is stalled, so its subflows close and the peers
//!   resend that data over the backup at once — break after make.
//! - Stalled: subflows are ignored (the daemon removes the path's
//!   endpoints); `Reachable` answers for `recovery_ms` without an
//!   `Unreachable` in between → `good`. After that, the sending side cannot
//!   stall the path again until an ACK has arrived over it (no flapping on
//!   subflows left over from before).
//!
//! Sample contract (the daemon's side):
//! - feed the path's *established* subflows (subflows without an RTT
//!   sample, e.g. a `SYN_SENT` join, are ignored), every poll, including
//!   the one that shows the path idle; poll every
//!   [`PathHealth::poll_interval_ms`] while [`PathHealth::busy`];
//! - run at most one probe per path at a time, start one when
//!   [`PathHealth::wants_probe`] says so, and feed its result to the next
//!   [`PathHealth::observe`] (with the samples of that moment, or none);
//! - while the path is not `good`, keep calling `observe` (probe results
//!   drive it) even when no subflow is left.

mod degraded;
pub mod quality;
mod silence;
mod verdict;

use crate::model::HealthConfig;

use quality::Quality;
pub use silence::SECOND_VETO_MS;
pub use verdict::{Health, ProbeResult, SubflowSample, Transition};

/// Why a path is `Suspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// ACK silence past half the bound: informative.
    Send,
    /// Receive silence past the bound: a probe decides.
    Receive,
}

/// One path's health state machine; `Default` is a `good` path with no
/// history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathHealth {
    state: Health,
    /// Why `Suspect` (`None` in the other states).
    suspect: Option<Side>,
    /// When the previous sample was fed (not stalled).
    last_sample_ms: Option<u64>,
    /// Since when data has been outstanding on the path, if it is.
    outstanding_since: Option<u64>,
    /// The path's `bytes_received` total at the previous sample.
    rx_total: Option<u64>,
    /// The path has been receiving and its current receive silence has
    /// not been judged by a probe yet.
    rx_armed: bool,
    /// Set when the path recovers: no sending-side verdict until an ACK
    /// has arrived after this instant.
    ack_gate: Option<u64>,
    /// Stalled: when the last probe answer came (or the path stalled).
    last_probe_ms: u64,
    /// Stalled: start of the current unbroken run of `Reachable` answers.
    reachable_since: Option<u64>,
    /// The quality estimator (kept across states: its RTT baseline).
    quality: Quality,
    /// Degraded: since when the path has been clean (its traffic, or probe
    /// answers while it carries none).
    clean_since: Option<u64>,
    /// Degraded: the last poll had enough traffic to judge the path.
    carrying: bool,
    /// Degraded: probes unanswered in a row.
    unanswered: u8,
    /// Degradations that each began within [`degraded::FLAP_WINDOW_MS`] of a recovery.
    flaps: u32,
    /// When the path last recovered from `Degraded`.
    recovered_at: Option<u64>,
    /// Degraded: since when a backup carries its traffic.
    handed_over_since: Option<u64>,
    /// Suspect on the sending side and a probe answered: the path is alive
    /// and TCP is recovering a loss by its own timers. No sending-side
    /// stall before this instant; the next probe is due at `send_reprobe_at`.
    send_veto_until: Option<u64>,
    /// See `send_veto_until`.
    send_reprobe_at: Option<u64>,
    /// The last vetoed sending-side silence: when it began, and when its
    /// first veto was (kept across `good`/`suspect`).
    vetoed: Option<(u64, u64)>,
}

impl PathHealth {
    /// A `good` path with no history (same as `Default`).
    pub fn new() -> Self {
        PathHealth::default()
    }

    /// The current verdict.
    pub fn state(&self) -> Health {
        self.state
    }

    /// Feeds the subflows of this path seen at `now_ms` (monotonic ms) and,
    /// if one finished since the last call, a probe result. Returns the
    /// transition if the state changed. With `cfg.enable == false` the
    /// path is always `good` (a path that was not returns to it).
    pub fn observe(
        &mut self,
        cfg: &HealthConfig,
        subflows: &[SubflowSample],
        probe: Option<ProbeResult>,
        now_ms: u64,
    ) -> Option<Transition> {
        if !cfg.enable {
            let from = self.state;
            *self = PathHealth::default();
            return (from != Health::Good).then(|| Transition {
                from,
                to: Health::Good,
                evidence: "health monitoring disabled".to_owned(),
            });
        }
        match self.state {
            Health::Stalled => self.observe_stalled(cfg, probe, now_ms),
            Health::Good | Health::Suspect | Health::Degraded => {
                self.observe_live(cfg, subflows, probe, now_ms)
            }
        }
    }

    /// Whether the daemon should start a probe over this path now: a
    /// stalled path every `probe_interval_ms` (counted from the stall and
    /// from each answer), a receive-side suspicion at once (one probe: its
    /// answer ends the suspicion). Never with `cfg.enable == false`.
    pub fn wants_probe(&self, cfg: &HealthConfig, now_ms: u64) -> bool {
        cfg.enable
            && match self.state {
                Health::Good => false,
                Health::Suspect => match self.suspect {
                    Some(Side::Receive) => true,
                    // Once at the suspicion, again half a bound after each
                    // answer while the silence lasts.
                    Some(Side::Send) => self.send_reprobe_at.is_none_or(|t| now_ms >= t),
                    None => false,
                },
                Health::Degraded => {
                    !self.carrying
                        && now_ms.saturating_sub(self.last_probe_ms)
                            >= u64::from(cfg.probe_interval_ms)
                }
                Health::Stalled => {
                    now_ms.saturating_sub(self.last_probe_ms) >= u64::from(cfg.probe_interval_ms)
                }
            }
    }

    /// Whether this path needs fast polling: some established subflow has
    /// data in flight, or received data recently (within 1 s, or twice the
    /// largest bound its RTT can give). Idle paths need no polling.
    pub fn busy(subflows: &[SubflowSample]) -> bool {
        subflows.iter().filter(|s| s.established()).any(|s| {
            s.unacked > 0
                || (s.bytes_received > 0 && u64::from(s.last_data_recv_ms) < s.recent_rx_ms())
        })
    }

    /// Poll interval suited to this path: half the smallest smoothed RTT of
    /// its established subflows, at least 5 ms, at most 50 ms (50 ms when
    /// no RTT is known).
    pub fn poll_interval_ms(subflows: &[SubflowSample]) -> u64 {
        subflows
            .iter()
            .filter(|s| s.established())
            .map(|s| u64::from(s.rtt_us) / 2000)
            .min()
            .map_or(50, |ms| ms.clamp(5, 50))
    }

    fn observe_stalled(
        &mut self,
        cfg: &HealthConfig,
        probe: Option<ProbeResult>,
        now_ms: u64,
    ) -> Option<Transition> {
        let probe = probe?;
        self.last_probe_ms = now_ms;
        if probe == ProbeResult::Unreachable {
            self.reachable_since = None;
            return None;
        }
        let since = *self.reachable_since.get_or_insert(now_ms);
        let held = now_ms.saturating_sub(since);
        if held < u64::from(cfg.recovery_ms) {
            return None;
        }
        *self = PathHealth {
            ack_gate: Some(now_ms),
            ..self.fresh()
        };
        Some(Transition {
            from: Health::Stalled,
            to: Health::Good,
            evidence: format!("probe answered for {:.1} s", held as f64 / 1000.0),
        })
    }

    fn observe_live(
        &mut self,
        cfg: &HealthConfig,
        subflows: &[SubflowSample],
        probe: Option<ProbeResult>,
        now_ms: u64,
    ) -> Option<Transition> {
        let live: Vec<&SubflowSample> = subflows.iter().filter(|s| s.established()).collect();
        let path_bound = live
            .iter()
            .map(|s| s.bound_ms(cfg))
            .max()
            .unwrap_or(u64::from(cfg.floor_ms));
        // Samples further apart than the bound: the path may have gone idle
        // and resumed in between, so outstanding data is dated afresh.
        let gap = self
            .last_sample_ms
            .is_none_or(|t| now_ms.saturating_sub(t) > path_bound);
        self.last_sample_ms = Some(now_ms);

        let send = self.send_silence(cfg, &live, gap, now_ms);
        let grew = self.rx_grew(cfg, &live);
        if grew {
            self.rx_armed = true;
        }
        let from = self.state;
        let quality = self.quality.feed(subflows, now_ms);

        if self.suspect == Some(Side::Send) {
            if let Some(t) = self.judge_send_probe(probe, send.as_ref(), from, now_ms) {
                return Some(t);
            }
        }
        if let Some(s) = send.as_ref().filter(|s| s.silence_ms > s.bound_ms) {
            if from != Health::Degraded && self.send_veto_until.is_some_and(|v| now_ms < v) {
                // The probe answered: a loss TCP recovers by its timers.
                return None;
            }
            let why = match (self.suspect, self.send_reprobe_at, self.vetoed) {
                (Some(Side::Send), Some(u64::MAX), Some((_, at))) => format!(
                    "; the probe answered, but another silence was let pass {} ms ago: losses keep stopping the traffic",
                    now_ms.saturating_sub(at)
                ),
                (Some(Side::Send), _, _) => {
                    " and no answer to the probe over the path in time".to_owned()
                }
                _ => String::new(),
            };
            let evidence = format!(
                "no ACK for {} ms with {} segments unacked ({}){why}",
                s.silence_ms,
                s.unacked,
                s.rtt(),
            );
            return self.stall(from, now_ms, evidence);
        }
        if from == Health::Degraded {
            if let Some(evidence) = self.stuck_after_hand_over(&live, now_ms) {
                return self.stall(from, now_ms, evidence);
            }
            return self.observe_degraded(cfg, quality, probe, now_ms);
        }
        if let Some(evidence) = quality.degraded {
            return self.degrade(from, now_ms, evidence);
        }

        let rx = self.rx_silence(cfg, &live);
        if self.suspect == Some(Side::Receive) {
            let what = rx.as_ref().map_or_else(
                || "nothing received".to_owned(),
                |r| format!("nothing received for {} ms", r.silence_ms),
            );
            return if grew {
                self.to(from, Health::Good, "data flowing again".to_owned())
            } else {
                match probe {
                    Some(ProbeResult::Unreachable) => self.stall(
                        from,
                        now_ms,
                        format!("{what} and the probe over the path got no answer"),
                    ),
                    Some(ProbeResult::Reachable | ProbeResult::Slow) => {
                        self.rx_armed = false;
                        let evidence = format!("{what} but the probe answered: the sender paused");
                        self.to(from, Health::Good, evidence)
                    }
                    // The probe went out at half the bound; a live path
                    // answers within a round trip. Still no answer when the
                    // silence passes the bound: the path is dead.
                    None => match rx.as_ref().filter(|r| r.silence_ms > r.bound_ms) {
                        Some(r) => self.stall(
                            from,
                            now_ms,
                            format!(
                                "nothing received for {} ms and no answer to the probe within the bound ({})",
                                r.silence_ms,
                                r.rtt()
                            ),
                        ),
                        None => None,
                    },
                }
            };
        }

        // Probe early (at half the bound) so that the answer, or its absence,
        // is known when the bound is reached.
        if let Some(r) = rx.filter(|r| 2 * r.silence_ms > r.bound_ms) {
            let evidence = format!(
                "nothing received for {} ms after receiving data, nothing unacked ({}): probing",
                r.silence_ms,
                r.rtt()
            );
            let t = self.to(from, Health::Suspect, evidence);
            self.suspect = Some(Side::Receive);
            return t;
        }

        if let Some(s) = send.filter(|s| 2 * s.silence_ms > s.bound_ms) {
            let evidence = format!(
                "no ACK for {} ms with {} segments unacked ({})",
                s.silence_ms,
                s.unacked,
                s.rtt()
            );
            let t = self.to(from, Health::Suspect, evidence);
            self.suspect = Some(Side::Send);
            return t;
        }

        let mut evidence = if live.iter().any(|s| s.unacked > 0) {
            "ACKs flowing again".to_owned()
        } else {
            "all data acknowledged".to_owned()
        };
        if self.send_veto_until.is_some() {
            evidence.push_str(
                " (the probe had answered: a loss TCP recovered by its own timers, not a dead path)",
            );
        }
        self.to(from, Health::Good, evidence)
    }

    /// Moves to `to` (not `Stalled`), returning the transition if the state
    /// changed.
    fn to(&mut self, from: Health, to: Health, evidence: String) -> Option<Transition> {
        self.state = to;
        self.suspect = None;
        if to != Health::Suspect {
            self.send_veto_until = None;
            self.send_reprobe_at = None;
        }
        (from != to).then_some(Transition { from, to, evidence })
    }

    /// A path with no history but what outlives a state: the quality
    /// estimator's RTT baseline and the flap count.
    fn fresh(&self) -> PathHealth {
        let mut quality = self.quality.clone();
        quality.reset_window();
        PathHealth {
            quality,
            flaps: self.flaps,
            recovered_at: self.recovered_at,
            ..PathHealth::default()
        }
    }

    fn stall(&mut self, from: Health, now_ms: u64, evidence: String) -> Option<Transition> {
        *self = PathHealth {
            state: Health::Stalled,
            last_probe_ms: now_ms,
            ..self.fresh()
        };
        Some(Transition {
            from,
            to: Health::Stalled,
            evidence,
        })
    }
}
