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

mod apply;
mod notes;
mod owner;
mod resync;
pub mod sysctl;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mptcp_policy::{
    plan_connection, ConnFacts, ConnPlan, ConnSnapshot, ConnSubflow, Mode, PathChoice, Policy,
};
use mptcp_policy_netlink::diag::SubflowDiag;
use mptcp_policy_netlink::pm::{PmEvent, PmEventKind};

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
    /// The mode comes from a `[[rule]]` (it may promote backup paths).
    pub by_rule: bool,
    /// The peer forbids joins to its initial address and port.
    pub deny_join_initial: bool,
    /// Addresses the peer announced, by its address id.
    peer_addrs: Vec<(u8, SocketAddr)>,
    /// From the last plan: backup-role paths the rule made active, and
    /// paths held back because the peer allows no join address.
    pub promoted: Vec<IpAddr>,
    pub join_denied: Vec<IpAddr>,
    pub subflows: Vec<ConnSubflow>,
    /// Local address → (asked-for backup flag, not again before).
    pending: Vec<(IpAddr, bool, Instant)>,
    announced: Vec<IpAddr>,
    /// Subflows we closed ourselves (their `sub_closed` is expected).
    destroyed: Vec<SocketAddr>,
}

impl Managed {
    /// A connection just seen, with its mode `(mode, rule, by_rule)`.
    fn new(
        local: SocketAddr,
        remote: SocketAddr,
        (mode, rule, by_rule): (Mode, String, bool),
        subflows: Vec<ConnSubflow>,
    ) -> Managed {
        Managed {
            server_side: false,
            established: false,
            local,
            remote,
            mode,
            rule,
            by_rule,
            deny_join_initial: false,
            peer_addrs: Vec::new(),
            promoted: Vec::new(),
            join_denied: Vec::new(),
            subflows,
            pending: Vec::new(),
            announced: Vec::new(),
            destroyed: Vec::new(),
        }
    }
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

    /// A path manager that switched nothing (the decisions without the
    /// sysctl), for unit tests.
    #[cfg(test)]
    fn detached() -> UserspacePm {
        UserspacePm {
            switch: None,
            conns: HashMap::new(),
            ids: BTreeMap::new(),
            owner: OwnerLookup::new(),
            stats: Stats::default(),
        }
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
    ) -> (Mode, String, bool) {
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
        (m.mode, policy.describe_rule_match(&m), m.rule.is_some())
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
        match e.kind {
            PmEventKind::Announced => return self.peer_announced(token, e),
            PmEventKind::Removed => {
                let c = self.conns.get_mut(&token)?;
                let id = e.rem_id?;
                c.peer_addrs.retain(|(i, _)| *i != id);
                return None;
            }
            _ => {}
        }
        let local = SocketAddr::new(e.saddr?, e.sport.unwrap_or(0));
        let remote = SocketAddr::new(e.daddr?, e.dport.unwrap_or(0));
        match e.kind {
            PmEventKind::Created | PmEventKind::Established => {
                let established = e.kind == PmEventKind::Established;
                if !self.conns.contains_key(&token) {
                    let (mode, rule, by_rule) = self.facts(policy, local, remote, None);
                    tracing::info!(
                        "connection {token:08x} {local} -> {remote}{}: {mode} by {rule}",
                        if e.server_side == Some(true) {
                            " (accepted)"
                        } else {
                            ""
                        }
                    );
                    self.stats.connections += 1;
                    let first = ConnSubflow {
                        local,
                        remote,
                        backup: false,
                    };
                    let mut m = Managed::new(local, remote, (mode, rule, by_rule), vec![first]);
                    m.server_side = e.server_side.unwrap_or(false);
                    m.established = established;
                    self.conns.insert(token, m);
                    self.stats.max_tracked = self.stats.max_tracked.max(self.conns.len());
                }
                let c = self.conns.get_mut(&token)?;
                c.established |= established;
                c.server_side |= e.server_side.unwrap_or(false);
                if e.deny_join_id0 == Some(true) && !c.deny_join_initial {
                    c.deny_join_initial = true;
                    tracing::info!(
                        "connection {token:08x} {} -> {}: the peer forbids joins to its initial address {} \
                         (MP_CAPABLE C flag, RFC 8684): new subflows only towards addresses it announces",
                        c.local,
                        c.remote,
                        c.remote
                    );
                }
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
        let peer_addrs: Vec<SocketAddr> = c.peer_addrs.iter().map(|p| p.1).collect();
        let snap = ConnSnapshot {
            server_side: c.server_side,
            remote: c.remote,
            subflows: &c.subflows,
            pending: &pending,
            announced: &c.announced,
            by_rule: c.by_rule,
            deny_join_initial: c.deny_join_initial,
            peer_addrs: &peer_addrs,
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

    /// When the next pending create or re-open delay runs out.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.conns
            .values()
            .flat_map(|c| c.pending.iter().map(|p| p.2))
            .min()
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
            let (mode, rule, by_rule) = self.facts(policy, f.local, f.remote, None);
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
            let mut m = Managed::new(f.local, f.remote, (mode, rule, by_rule), subflows);
            m.server_side = f.server_side;
            m.established = true;
            self.conns.insert(f.token, m);
            taken.push(f.token);
        }
        self.stats.max_tracked = self.stats.max_tracked.max(self.conns.len());
        (taken, gone)
    }
}
