//! Per-connection decisions for the userspace path manager: one MPTCP
//! connection, its mode (from the `[[rule]]`s) and the local paths the
//! interface policy allows now → the subflows it should have, which of them
//! carry data and which are backup, and the commands that get it there.
//! Pure: the daemon observes, this decides, the daemon sends.
//!
//! Interface roles and budgets bound every mode: only paths `evaluate` kept
//! (preferred or backup, up, not stalled, budget allowing) are used, and a
//! `backup` interface carries data only when no preferred one is left.

use std::net::{IpAddr, SocketAddr};

use crate::model::{Mode, Role};

/// A local path the interface policy allows now (one address of an
/// interface whose verdict is preferred or backup), best ranked first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathChoice {
    /// Local address.
    pub addr: IpAddr,
    /// Its interface.
    pub ifindex: u32,
    /// The interface's name (logs).
    pub ifname: String,
    /// `Preferred` or `Backup` (after budget demotion).
    pub role: Role,
    /// Path health says the path is degrading (`suspect`): `interactive`
    /// moves data away from it before it stalls.
    pub degraded: bool,
    /// Smoothed RTT seen on this interface's subflows, µs, when known.
    pub rtt_us: Option<u32>,
}

/// One subflow of the connection, with the backup flag we gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnSubflow {
    /// Local end.
    pub local: SocketAddr,
    /// Remote end.
    pub remote: SocketAddr,
    /// Flagged backup on our side.
    pub backup: bool,
}

/// What the daemon knows of one connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnSnapshot<'a> {
    /// Accepted by us (we announce addresses; the peer opens subflows).
    pub server_side: bool,
    /// The peer's address of the first subflow: where new subflows go.
    pub remote: SocketAddr,
    /// The subflows that are up.
    pub subflows: &'a [ConnSubflow],
    /// Local addresses a subflow was asked for that has not come up yet.
    pub pending: &'a [IpAddr],
    /// Local addresses announced to the peer (server side).
    pub announced: &'a [IpAddr],
}

/// One command for the userspace path manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnOp {
    /// Close a subflow on a path the policy no longer allows.
    Destroy {
        /// Local end.
        local: SocketAddr,
        /// Remote end.
        remote: SocketAddr,
    },
    /// Change a subflow's backup flag (`MP_PRIO`).
    SetBackup {
        /// Local end.
        local: SocketAddr,
        /// Remote end.
        remote: SocketAddr,
        /// New flag.
        backup: bool,
    },
    /// Open a subflow from `local` (bound to `ifindex`) to `remote`.
    Create {
        /// Local address.
        local: IpAddr,
        /// Interface to bind to.
        ifindex: u32,
        /// Peer address.
        remote: SocketAddr,
        /// Join as backup (`MP_JOIN` with B=1).
        backup: bool,
    },
    /// Announce a local address to the peer (`ADD_ADDR`, server side).
    Announce {
        /// Local address.
        addr: IpAddr,
        /// Its interface.
        ifindex: u32,
    },
    /// Withdraw an announced address (`REMOVE_ADDR`).
    Withdraw {
        /// Local address.
        addr: IpAddr,
    },
}

/// The decision for one connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnPlan {
    /// Local addresses whose subflows carry data (the others are backup).
    pub active: Vec<IpAddr>,
    /// Commands, in the order to send them: closes first (data leaves a
    /// dead path at once), then flag changes, then new subflows.
    pub ops: Vec<ConnOp>,
}

/// `interactive` keeps its active path unless another one is this much
/// faster (RTT ratio): no flapping between two similar paths.
const SWITCH_RATIO: f64 = 0.8;

/// Decides one connection. `paths` come best ranked first (as `evaluate`
/// ranks endpoints: preferred first, then entry order). No path allowed at
/// all: nothing is touched (the connection is not torn down for lack of a
/// better path; the kernel keeps what it has).
pub fn plan_connection(mode: Mode, conn: &ConnSnapshot<'_>, paths: &[PathChoice]) -> ConnPlan {
    let v4 = conn.remote.ip().to_canonical().is_ipv4();
    let usable: Vec<&PathChoice> = paths
        .iter()
        .filter(|p| p.addr.to_canonical().is_ipv4() == v4)
        .collect();
    if usable.is_empty() {
        return ConnPlan::default();
    }
    let allowed = |ip: IpAddr| usable.iter().any(|p| p.addr == ip.to_canonical());
    let current_active: Vec<IpAddr> = conn
        .subflows
        .iter()
        .filter(|s| !s.backup)
        .map(|s| s.local.ip().to_canonical())
        .collect();
    let active = choose_active(mode, &usable, &current_active);
    let mut ops = Vec::new();

    // Subflows on paths no longer allowed go — unless none would be left
    // up: then the new ones are made first and these go once one is up.
    let keeps_one = conn.subflows.iter().any(|s| allowed(s.local.ip()));
    for s in conn.subflows {
        if !allowed(s.local.ip()) && keeps_one {
            ops.push(ConnOp::Destroy {
                local: s.local,
                remote: s.remote,
            });
        }
    }
    for s in conn.subflows {
        let ip = s.local.ip().to_canonical();
        if allowed(ip) {
            let backup = !active.contains(&ip);
            if s.backup != backup {
                ops.push(ConnOp::SetBackup {
                    local: s.local,
                    remote: s.remote,
                    backup,
                });
            }
        }
    }
    for p in &usable {
        let has_subflow = conn
            .subflows
            .iter()
            .any(|s| s.local.ip().to_canonical() == p.addr);
        if has_subflow || conn.pending.contains(&p.addr) {
            continue;
        }
        if conn.server_side {
            if !conn.announced.contains(&p.addr) {
                ops.push(ConnOp::Announce {
                    addr: p.addr,
                    ifindex: p.ifindex,
                });
            }
        } else {
            ops.push(ConnOp::Create {
                local: p.addr,
                ifindex: p.ifindex,
                remote: conn.remote,
                backup: !active.contains(&p.addr),
            });
        }
    }
    for &a in conn.announced {
        if !allowed(a) {
            ops.push(ConnOp::Withdraw { addr: a });
        }
    }
    ConnPlan { active, ops }
}

/// Which of the usable paths carry data in `mode`. Preferred paths first;
/// when none is usable, the backup paths stand in (a backup carries data
/// only when nothing preferred works).
fn choose_active(mode: Mode, usable: &[&PathChoice], current: &[IpAddr]) -> Vec<IpAddr> {
    let preferred: Vec<&PathChoice> = usable
        .iter()
        .copied()
        .filter(|p| p.role == Role::Preferred)
        .collect();
    let candidates = if preferred.is_empty() {
        usable.to_vec()
    } else {
        preferred
    };
    match mode {
        Mode::Aggregate => candidates.iter().map(|p| p.addr).collect(),
        Mode::Handover => candidates.first().map(|p| vec![p.addr]).unwrap_or_default(),
        Mode::Interactive => {
            let healthy: Vec<&PathChoice> =
                candidates.iter().copied().filter(|p| !p.degraded).collect();
            let pool = if healthy.is_empty() {
                candidates
            } else {
                healthy
            };
            // Unknown RTTs rank after known ones; ties keep the rank order.
            let rtt = |p: &PathChoice| p.rtt_us.map_or(f64::INFINITY, f64::from);
            let best = pool
                .iter()
                .copied()
                .fold(None::<&PathChoice>, |b, p| match b {
                    Some(b) if rtt(b) <= rtt(p) => Some(b),
                    _ => Some(p),
                });
            let kept = pool.iter().copied().find(|p| current.contains(&p.addr));
            let chosen = match (kept, best) {
                (Some(k), Some(b)) if rtt(b) >= SWITCH_RATIO * rtt(k) => k,
                (_, Some(b)) => b,
                (Some(k), None) => k,
                (None, None) => return Vec::new(),
            };
            vec![chosen.addr]
        }
    }
}
