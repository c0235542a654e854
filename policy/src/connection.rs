//! Per-connection decisions for the userspace path manager: one MPTCP
//! connection, its mode (from the `[[rule]]`s) and the local paths the
//! interface policy allows now → the subflows it should have, which of them
//! carry data and which are backup, and the commands that get it there.
//! Pure: the daemon observes, this decides, the daemon sends.
//!
//! An interface's role is the default: a connection whose mode comes from
//! `[general] default_mode` uses a `backup` interface only when no preferred
//! one is left. A `[[rule]]`'s mode may make a backup path carry data for
//! its own connections (`aggregate`: every allowed path; `interactive`: the
//! lowest-delay allowed path) — such paths are reported as `promoted`.
//! `off` and spent budgets bound every mode: only paths `evaluate` kept are
//! used, and a path lowered to backup by its budget (or by NetworkManager's
//! hints) is never promoted.
//!
//! A peer that forbids joins to its initial address and port (RFC 8684
//! MP_CAPABLE "C" flag) gets new subflows only towards addresses it
//! announced; with none announced the plan names the paths it holds back.

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
    /// A `Backup` path that is backup by its interface entry's role alone
    /// (no budget or hint lowered it): a `[[rule]]`'s mode may make it
    /// carry data. Ignored for `Preferred` paths.
    pub promotable: bool,
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
    /// The mode comes from a `[[rule]]` (not `[general] default_mode`): it
    /// may promote backup paths.
    pub by_rule: bool,
    /// The peer forbids joins to its initial address and port
    /// (`MPTCP_PM_EV_FLAG_DENY_JOIN_ID0`, the MP_CAPABLE "C" flag).
    pub deny_join_initial: bool,
    /// Addresses the peer announced (`ADD_ADDR`), in the order seen.
    pub peer_addrs: &'a [SocketAddr],
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
    /// Those of `active` whose interface role is backup, made active by the
    /// connection's `[[rule]]` mode while a preferred path works.
    pub promoted: Vec<IpAddr>,
    /// Local addresses that should get a subflow but cannot: the peer
    /// forbids joins to its initial address and announced none usable.
    pub join_denied: Vec<IpAddr>,
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
    let active = choose_active(mode, conn.by_rule, &usable, &current_active);
    let any_preferred = usable.iter().any(|p| p.role == Role::Preferred);
    let promoted: Vec<IpAddr> = usable
        .iter()
        .filter(|p| any_preferred && p.role == Role::Backup && active.contains(&p.addr))
        .map(|p| p.addr)
        .collect();
    let mut join_denied = Vec::new();
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
            match join_target(conn, p.addr) {
                Some(remote) => ops.push(ConnOp::Create {
                    local: p.addr,
                    ifindex: p.ifindex,
                    remote,
                    backup: !active.contains(&p.addr),
                }),
                None => join_denied.push(p.addr),
            }
        }
    }
    for &a in conn.announced {
        if !allowed(a) {
            ops.push(ConnOp::Withdraw { addr: a });
        }
    }
    ConnPlan {
        active,
        promoted,
        join_denied,
        ops,
    }
}

/// Where a new subflow from `local` goes: the peer's initial address, or,
/// when the peer forbids joins there, the first address it announced in
/// `local`'s family (an announcement without a port means the initial
/// one). `None`: no address the peer allows.
fn join_target(conn: &ConnSnapshot<'_>, local: IpAddr) -> Option<SocketAddr> {
    if !conn.deny_join_initial {
        return Some(conn.remote);
    }
    let v4 = local.to_canonical().is_ipv4();
    conn.peer_addrs
        .iter()
        .find(|a| a.ip().to_canonical().is_ipv4() == v4 && **a != conn.remote)
        .map(|a| match a.port() {
            0 => SocketAddr::new(a.ip(), conn.remote.port()),
            _ => *a,
        })
}

/// Which of the usable paths carry data in `mode`. Preferred paths first —
/// with promotable backup paths beside them when a `[[rule]]` chose
/// `aggregate` or `interactive`; when none is usable, the backup paths
/// stand in (a backup carries data only when nothing preferred works).
fn choose_active(
    mode: Mode,
    by_rule: bool,
    usable: &[&PathChoice],
    current: &[IpAddr],
) -> Vec<IpAddr> {
    let promotes = by_rule && matches!(mode, Mode::Aggregate | Mode::Interactive);
    let candidates: Vec<&PathChoice> = if usable.iter().any(|p| p.role == Role::Preferred) {
        usable
            .iter()
            .copied()
            .filter(|p| p.role == Role::Preferred || (promotes && p.promotable))
            .collect()
    } else {
        usable.to_vec()
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
