//! What path health reads and says: one subflow's counters
//! ([`SubflowSample`]), a probe's answer, the verdict ([`Health`]) and a
//! change of it with its evidence ([`Transition`]). Pure data.

use std::fmt;

use crate::model::HealthConfig;

/// Linux's minimum delayed-ACK time (`TCP_DELACK_MIN`, 40 ms at HZ ≥ 25):
/// how long a receiver may hold the ACK of a single segment.
pub(super) const DELAYED_ACK_MS: u64 = 40;

/// One subflow's counters at one instant (from `tcp_info`; the `_ms` fields
/// are "ms since", as the kernel reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubflowSample {
    /// Identifies the subflow across samples (the inet_diag cookie): the
    /// quality verdict compares each subflow's counters with its own.
    pub id: u64,
    /// Segments sent and not yet acknowledged (`tcpi_unacked`).
    pub unacked: u32,
    /// ms since the last ACK was received (`tcpi_last_ack_recv`).
    pub last_ack_recv_ms: u32,
    /// ms since data was last received (`tcpi_last_data_recv`).
    pub last_data_recv_ms: u32,
    /// ms since data was last sent (`tcpi_last_data_sent`).
    pub last_data_sent_ms: u32,
    /// Smoothed RTT in µs (`tcpi_rtt`); 0 = no RTT sample yet (handshake
    /// not complete): such a subflow is ignored.
    pub rtt_us: u32,
    /// RTT variance in µs (`tcpi_rttvar`).
    pub rttvar_us: u32,
    /// Bytes acknowledged by the peer (`tcpi_bytes_acked`).
    pub bytes_acked: u64,
    /// Bytes received (`tcpi_bytes_received`).
    pub bytes_received: u64,
    /// Retransmitted segments over the subflow's life (`tcpi_total_retrans`).
    pub total_retrans: u32,
    /// Data segments sent, retransmissions included (`tcpi_data_segs_out`).
    pub data_segs_out: u32,
    /// Data segments received (`tcpi_data_segs_in`).
    pub data_segs_in: u32,
    /// Packets that arrived out of order (`tcpi_rcv_ooopack`).
    pub rcv_ooopack: u32,
    /// Lowest RTT seen, µs (`tcpi_min_rtt`).
    pub min_rtt_us: u32,
    /// The receiver's RTT estimate, µs (`tcpi_rcv_rtt`; 0 = none).
    pub rcv_rtt_us: u32,
}

impl SubflowSample {
    pub(super) fn established(&self) -> bool {
        self.rtt_us > 0
    }

    pub(super) fn bound_ms(&self, cfg: &HealthConfig) -> u64 {
        cfg.bound_ms(self.rtt_us, self.rttvar_us)
    }

    /// How long after its last data a subflow still counts as receiving
    /// for [`PathHealth::busy`]: 1 s, or twice the largest bound any
    /// accepted `multiplier` gives for this RTT.
    pub(super) fn recent_rx_ms(&self) -> u64 {
        let max_bound_us = 20 * u64::from(self.rtt_us) + 4 * u64::from(self.rttvar_us);
        (2 * max_bound_us / 1000).max(1000)
    }
}

/// A path's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Health {
    /// Carrying data, or idle.
    #[default]
    Good,
    /// Silent for a while: informative on the sending side; on the
    /// receiving side a probe decides.
    Suspect,
    /// Still delivering, but losing or delaying data well beyond its own
    /// history: a healthy backup takes over before the path dies.
    Degraded,
    /// Silent past the bound (or the probe got no answer): demote it.
    Stalled,
}

impl Health {
    /// Every value, in declaration order.
    pub const ALL: &'static [Health] = &[
        Health::Good,
        Health::Suspect,
        Health::Degraded,
        Health::Stalled,
    ];

    /// The name used on D-Bus and in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Good => "good",
            Health::Suspect => "suspect",
            Health::Degraded => "degraded",
            Health::Stalled => "stalled",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer of a probe the daemon ran over this path's interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeResult {
    /// The probe got an answer.
    Reachable,
    /// It got an answer, but later than the path's delay threshold
    /// ([`crate::PathHealth::probe_timeout_ms`]): reachable, not clean.
    Slow,
    /// No answer in time.
    Unreachable,
}

/// A change of a path's verdict, with the evidence to log once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: Health,
    /// State after.
    pub to: Health,
    /// Why, e.g. `no ACK for 64 ms with 12 segments unacked (srtt 10.2 ms,
    /// rttvar 1.1 ms, bound 46 ms)`.
    pub evidence: String,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}: {}", self.from, self.to, self.evidence)
    }
}
