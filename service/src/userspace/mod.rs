//! The userspace path manager (`[general] path_manager = "userspace"`): the
//! kernel hands every MPTCP connection of the namespace to us. Here each
//! connection is followed from its `mptcp_pm` events, gets its mode from
//! the `[[rule]]`s, and the pure `plan_connection` decides its subflows;
//! this module keeps the per-connection bookkeeping (what we asked for and
//! is not up yet, what we announced) and sends the commands.
//!
//! Memory per connection is bounded: a handful of subflows (the kernel caps
//! them), pending creates and announcements per local path; everything is
//! freed on `closed` (or when a resync no longer finds the connection).

mod owner;
mod resync;
pub mod sysctl;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mptcp_policy::{
    plan_connection, ConnFacts, ConnOp, ConnPlan, ConnSnapshot, ConnSubflow, Mode, PathChoice,
    Policy,
};
use mptcp_policy_netlink::diag::SubflowDiag;
use mptcp_policy_netlink::pm::{PmError, PmEvent, PmEventKind, PmHandle};

pub use owner::OwnerLookup;
pub use resync::group_by_token;
pub use sysctl::{PmSwitch, SysctlError};

use crate::store::StateDir;

/// A subflow asked for and not up yet is not asked for again before this
/// (a join the peer refuses must not become a busy loop).
const PENDING_TIMEOUT: Duration = Duration::from_secs(3);
/// A subflow the peer (or the network) closed on a path we still want is
/// re-made only after this.
const REOPEN_DELAY: Duration = Duration::from_secs(1);

/// One connection under our control.
#[derive(Debug, Clone)]
pub struct Managed {
    pub server_side: bool,
    pub established: bool,
    /// The first subflow's ends.
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub mode: Mode,
    /// Which entry decided the mode, for humans.
    pub rule: String,
    pub subflows: Vec<ConnSubflow>,
    /// Local address → (asked-for backup flag, not again before).
    pending: Vec<(IpAddr, bool, Instant)>,
    announced: Vec<IpAddr>,
    /// Subflows we closed ourselves (their `sub_closed` is expected).
    destroyed: Vec<SocketAddr>,
}

/// A subflow whose backup flag we changed (for the D-Bus view).
#[derive(Debug, Clone, Copy)]
pub struct FlagChange {
    pub token: u32,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub backup: bool,
}

/// Counters for logs and the load benchmark.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub events: u64,
    pub connections: u64,
    pub closed: u64,
    pub resyncs: u64,
    pub resync_found: u64,
    pub commands: u64,
    pub failed: u64,
    pub max_tracked: usize,
}

pub struct UserspacePm {
    switch: Option<PmSwitch>,
    conns: HashMap<u32, Managed>,
    /// Local address ids for announce / subflow create: stable per address.
    ids: BTreeMap<IpAddr, u8>,
    owner: OwnerLookup,
    pub stats: Stats,
}

impl UserspacePm {
    /// Switches the namespace to the userspace path manager.
    pub fn start(state: &StateDir) -> Result<UserspacePm, SysctlError> {
        let switch = PmSwitch::engage(state)?;
        Ok(UserspacePm {
            switch: Some(switch),
            conns: HashMap::new(),
            ids: BTreeMap::new(),
            owner: OwnerLookup::new(),
            stats: Stats::default(),
        })
    }

    /// Puts the previous path manager back. Connections made meanwhile keep
    /// the userspace PM (the kernel decides that at creation) and the
    /// subflows they have.
    pub fn stop(mut self) {
        tracing::info!(
            "userspace path manager off: {} connection(s) keep their subflows; {:?}",
            self.conns.len(),
            self.stats
        );
        if let Some(s) = self.switch.take() {
            s.restore();
        }
    }

    pub fn get(&self, token: u32) -> Option<&Managed> {
        self.conns.get(&token)
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn tokens(&self) -> Vec<u32> {
        self.conns.keys().copied().collect()
    }

    pub fn tokens_with_mode(&self, mode: Mode) -> Vec<u32> {
        self.conns
            .iter()
            .filter(|(_, c)| c.mode == mode)
            .map(|(t, _)| *t)
            .collect()
    }

    fn facts(
        &mut self,
        policy: &Policy,
        local: SocketAddr,
        remote: SocketAddr,
        known: Option<(u32, Option<String>)>,
    ) -> (Mode, String) {
        let (uid, cgroup) = match known {
            Some((uid, cg)) => (Some(uid), cg),
            None if policy.rules_need_owner() => {
                let o = self.owner.lookup(local, remote);
                (o.uid, o.cgroup)
            }
            None => (None, None),
        };
        let facts = ConnFacts {
            remote: remote.ip(),
            remote_port: remote.port(),
            local_port: local.port(),
            uid,
            cgroup,
        };
        let m = policy.rule_for(&facts);
        (m.mode, policy.describe_rule_match(&m))
    }

    /// Follows one event; returns the token when that connection should be
    /// planned again now.
    pub fn on_event(&mut self, e: &PmEvent, policy: &Policy) -> Option<u32> {
        self.stats.events += 1;
        let token = e.token?;
        if e.kind == PmEventKind::Closed {
            // `closed` carries the token alone.
            if self.conns.remove(&token).is_some() {
                self.stats.closed += 1;
            }
            return None;
        }
        let local = SocketAddr::new(e.saddr?, e.sport.unwrap_or(0));
        let remote = SocketAddr::new(e.daddr?, e.dport.unwrap_or(0));
        match e.kind {
            PmEventKind::Created | PmEventKind::Established => {
                let established = e.kind == PmEventKind::Established;
                if !self.conns.contains_key(&token) {
                    let (mode, rule) = self.facts(policy, local, remote, None);
                    tracing::info!(
                        "connection {token:08x} {local} -> {remote}{}: {mode} by {rule}",
                        if e.server_side == Some(true) {
                            " (accepted)"
                        } else {
                            ""
                        }
                    );
                    self.stats.connections += 1;
                    self.conns.insert(
                        token,
                        Managed {
                            server_side: e.server_side.unwrap_or(false),
                            established,
                            local,
                            remote,
                            mode,
                            rule,
                            subflows: vec![ConnSubflow {
                                local,
                                remote,
                                backup: false,
                            }],
                            pending: Vec::new(),
                            announced: Vec::new(),
                            destroyed: Vec::new(),
                        },
                    );
                    self.stats.max_tracked = self.stats.max_tracked.max(self.conns.len());
                }
                let c = self.conns.get_mut(&token)?;
                c.established |= established;
                c.server_side |= e.server_side.unwrap_or(false);
                established.then_some(token)
            }
            PmEventKind::SubEstablished => {
                let c = self.conns.get_mut(&token)?;
                let ip = local.ip().to_canonical();
                let asked = c.pending.iter().find(|p| p.0 == ip).map(|p| p.1);
                c.pending.retain(|p| p.0 != ip);
                c.subflows
                    .retain(|s| !(s.local == local && s.remote == remote));
                c.subflows.push(ConnSubflow {
                    local,
                    remote,
                    backup: asked.unwrap_or(false),
                });
                Some(token)
            }
            PmEventKind::SubClosed => {
                let c = self.conns.get_mut(&token)?;
                c.subflows
                    .retain(|s| !(s.local == local && s.remote == remote));
                let ours = c.destroyed.contains(&local);
                c.destroyed.retain(|d| *d != local);
                let ip = local.ip().to_canonical();
                if !ours && !c.pending.iter().any(|p| p.0 == ip) {
                    c.pending.push((ip, false, Instant::now() + REOPEN_DELAY));
                }
                Some(token)
            }
            _ => None,
        }
    }

    /// The plan for one connection (None: unknown or not established).
    pub fn plan(&self, token: u32, paths: &[PathChoice]) -> Option<ConnPlan> {
        let c = self.conns.get(&token).filter(|c| c.established)?;
        let pending: Vec<IpAddr> = c.pending.iter().map(|p| p.0).collect();
        let snap = ConnSnapshot {
            server_side: c.server_side,
            remote: c.remote,
            subflows: &c.subflows,
            pending: &pending,
            announced: &c.announced,
        };
        Some(plan_connection(c.mode, &snap, paths))
    }

    fn id_for(&mut self, addr: IpAddr) -> u8 {
        if let Some(id) = self.ids.get(&addr) {
            return *id;
        }
        // ids 1..=255 (0 is the initial subflow's); reuse the lowest free.
        let id = (1..=255u8)
            .find(|i| !self.ids.values().any(|v| v == i))
            .unwrap_or(255);
        self.ids.insert(addr, id);
        id
    }

    /// Sends a plan's commands; returns the backup flags that changed.
    pub async fn apply(&mut self, pm: &PmHandle, token: u32, plan: &ConnPlan) -> Vec<FlagChange> {
        let mut changes = Vec::new();
        for op in &plan.ops {
            let Some(c) = self.conns.get(&token) else {
                break;
            };
            let label = format!(
                "connection {token:08x} {} -> {} ({})",
                c.local, c.remote, c.mode
            );
            self.stats.commands += 1;
            let result = match *op {
                ConnOp::Destroy { local, remote } => {
                    // Tell the peer first (REMOVE_ADDR over a path that
                    // still works): a sender on the other side would
                    // otherwise keep sending into the dead subflow until
                    // its retransmission timer gives up (~300 ms measured).
                    // The first subflow has local id 0; our joins the id we
                    // gave their address.
                    let id = if local == c.local {
                        0
                    } else {
                        self.id_for(local.ip())
                    };
                    if let Err(e) = pm.remove(token, id).await {
                        tracing::debug!("{label}: REMOVE_ADDR id {id} not sent: {e}");
                    }
                    let r = pm.subflow_destroy(token, local, remote).await;
                    if let Some(c) = self.conns.get_mut(&token) {
                        c.subflows
                            .retain(|s| !(s.local == local && s.remote == remote));
                        c.destroyed.push(local);
                    }
                    ignore_gone(r)
                }
                ConnOp::SetBackup {
                    local,
                    remote,
                    backup,
                } => {
                    let r = pm.set_flags_conn(token, local.ip(), remote, backup).await;
                    if r.is_ok() {
                        if let Some(c) = self.conns.get_mut(&token) {
                            for s in c.subflows.iter_mut() {
                                if s.local == local && s.remote == remote {
                                    s.backup = backup;
                                }
                            }
                        }
                        changes.push(FlagChange {
                            token,
                            local,
                            remote,
                            backup,
                        });
                    }
                    r
                }
                ConnOp::Create {
                    local,
                    ifindex,
                    remote,
                    backup,
                } => {
                    let id = self.id_for(local);
                    if let Some(c) = self.conns.get_mut(&token) {
                        c.pending
                            .push((local, backup, Instant::now() + PENDING_TIMEOUT));
                    }
                    pm.subflow_create(token, id, local, Some(ifindex), remote, backup)
                        .await
                }
                ConnOp::Announce { addr, ifindex } => {
                    let id = self.id_for(addr);
                    let r = pm.announce(token, id, addr, None, Some(ifindex)).await;
                    if let Some(c) = self.conns.get_mut(&token) {
                        // Also on failure: not again for this connection.
                        c.announced.push(addr);
                    }
                    r
                }
                ConnOp::Withdraw { addr } => {
                    let id = self.id_for(addr);
                    if let Some(c) = self.conns.get_mut(&token) {
                        c.announced.retain(|a| *a != addr);
                    }
                    ignore_gone(pm.remove(token, id).await)
                }
            };
            match result {
                Ok(()) => tracing::info!("{label}: {}", describe(op)),
                Err(e) if token_gone(&e) => {
                    // Closed meanwhile (its `closed` event is on its way or
                    // was lost): nothing left to steer.
                    tracing::debug!("{label}: closed before {}", describe(op));
                    if self.conns.remove(&token).is_some() {
                        self.stats.closed += 1;
                    }
                    break;
                }
                Err(e) if made_by_kernel_pm(&e) => {
                    // Opened before the switch to the userspace PM: the
                    // kernel decided its path manager then; it stays with
                    // the in-kernel one (endpoints), still listed.
                    tracing::info!("{label}: opened under the in-kernel path manager, left to it");
                    self.conns.remove(&token);
                    break;
                }
                Err(e) => {
                    self.stats.failed += 1;
                    tracing::warn!("{label}: {} failed: {e}", describe(op));
                }
            }
        }
        changes
    }

    /// Tokens with a pending create or re-open delay that ran out.
    pub fn expire_pending(&mut self, now: Instant) -> Vec<u32> {
        let mut out = Vec::new();
        for (token, c) in self.conns.iter_mut() {
            let before = c.pending.len();
            c.pending.retain(|p| p.2 > now);
            if c.pending.len() != before {
                out.push(*token);
            }
        }
        out
    }

    /// After lost events: the kernel's subflow dump is the truth. Unknown
    /// connections are taken over, vanished ones forgotten, subflow lists
    /// and backup flags refreshed. Returns (taken over, forgotten) tokens.
    pub fn resync(
        &mut self,
        dump: &[SubflowDiag],
        live: &std::collections::BTreeSet<u32>,
        policy: &Policy,
        after_lost_events: bool,
    ) -> (Vec<u32>, Vec<u32>) {
        if after_lost_events {
            self.stats.resyncs += 1;
        }
        let found = group_by_token(dump);
        let mut gone: Vec<u32> = self
            .conns
            .keys()
            .filter(|t| !live.contains(t))
            .copied()
            .collect();
        gone.sort_unstable();
        for t in &gone {
            self.conns.remove(t);
            self.stats.closed += 1;
        }
        let mut taken = Vec::new();
        for f in found {
            let subflows: Vec<ConnSubflow> = f
                .subflows
                .iter()
                .map(|s| ConnSubflow {
                    local: s.local,
                    remote: s.remote,
                    backup: s.backup_local,
                })
                .collect();
            if let Some(c) = self.conns.get_mut(&f.token) {
                c.subflows = subflows;
                c.established = true;
                continue;
            }
            let (mode, rule) = self.facts(policy, f.local, f.remote, None);
            tracing::info!(
                "connection {:08x} {} -> {} taken over: {mode} by {rule}",
                f.token,
                f.local,
                f.remote
            );
            if after_lost_events {
                self.stats.resync_found += 1;
            }
            self.stats.connections += 1;
            self.conns.insert(
                f.token,
                Managed {
                    server_side: f.server_side,
                    established: true,
                    local: f.local,
                    remote: f.remote,
                    mode,
                    rule,
                    subflows,
                    pending: Vec::new(),
                    announced: Vec::new(),
                    destroyed: Vec::new(),
                },
            );
            taken.push(f.token);
        }
        self.stats.max_tracked = self.stats.max_tracked.max(self.conns.len());
        (taken, gone)
    }
}

/// The kernel no longer knows the connection: `EINVAL` with the extack
/// "invalid token" (`mptcp_userspace_pm_get_sock`); the errno alone is also
/// used for bad arguments, so the kernel's text decides.
fn token_gone(e: &PmError) -> bool {
    e.errno() == Some(22) && e.to_string().contains("invalid token")
}

/// The connection belongs to the in-kernel PM (`EINVAL`, extack
/// "userspace PM not selected").
fn made_by_kernel_pm(e: &PmError) -> bool {
    e.errno() == Some(22) && e.to_string().contains("userspace PM not selected")
}

/// A subflow or address that is already gone is what we wanted.
fn ignore_gone(r: Result<(), PmError>) -> Result<(), PmError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

fn describe(op: &ConnOp) -> String {
    match op {
        ConnOp::Destroy { local, remote } => format!("subflow {local} -> {remote} closed"),
        ConnOp::SetBackup {
            local,
            remote,
            backup,
        } => format!(
            "subflow {local} -> {remote} {}",
            if *backup { "now backup" } else { "now active" }
        ),
        ConnOp::Create {
            local,
            remote,
            backup,
            ..
        } => format!(
            "subflow {local} -> {remote} opened{}",
            if *backup { " as backup" } else { "" }
        ),
        ConnOp::Announce { addr, .. } => format!("{addr} announced"),
        ConnOp::Withdraw { addr } => format!("{addr} withdrawn"),
    }
}
