//! MPTCP connections as the kernel's `mptcp_pm` events describe them: a
//! table keyed by token, updated per event, each update also naming the
//! signal to publish. Pure: the interface of an address is looked up
//! through the function the caller passes.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};

use mptcp_policy_netlink::pm::{PmEvent, PmEventKind};

use crate::views::{ConnectionView, SubflowView};

/// What to announce after applying an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnChange {
    Created(ConnectionView),
    Established(ConnectionView),
    Closed(u32),
    SubflowEstablished(u32, SubflowView),
    SubflowClosed(u32, SubflowView),
    SubflowPriority(u32, SubflowView),
    Announced {
        token: u32,
        id: u8,
        addr: SocketAddr,
    },
    Removed {
        token: u32,
        id: u8,
    },
    /// Its promoted paths or constraint changed (properties only).
    Notes(u32),
}

/// The connections currently known (bounded by what the kernel reports;
/// an entry is freed on `closed`).
#[derive(Debug, Default)]
pub struct ConnectionTable {
    conns: BTreeMap<u32, ConnectionView>,
    /// Tokens recently closed, oldest first (at most [`CLOSED_MEMORY`]):
    /// the kernel sends `established` *after* `closed` for a connection
    /// closed before it was fully established (seen under load: created,
    /// closed, established), which must not bring it back for ever.
    closed: VecDeque<u32>,
    closed_set: HashSet<u32>,
}

/// How many closed tokens are remembered.
const CLOSED_MEMORY: usize = 4096;

fn sock(ip: Option<IpAddr>, port: Option<u16>) -> Option<SocketAddr> {
    Some(SocketAddr::new(ip?, port.unwrap_or(0)))
}

impl ConnectionTable {
    pub fn get(&self, token: u32) -> Option<&ConnectionView> {
        self.conns.get(&token)
    }

    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// An `established` for a connection already closed (the kernel's
    /// order when it closed before being fully established): to ignore.
    pub fn is_late_established(&self, e: &PmEvent) -> bool {
        e.kind == PmEventKind::Established && e.token.is_some_and(|t| self.closed_set.contains(&t))
    }

    /// Records the mode the userspace PM gave a connection.
    pub fn set_mode(&mut self, token: u32, mode: &str, rule: &str) {
        if let Some(c) = self.conns.get_mut(&token) {
            c.mode = mode.to_string();
            c.rule = rule.to_string();
        }
    }

    /// Records a connection's notes (promoted paths, constraint); the
    /// change to publish when they differ from what is published.
    pub fn set_notes(
        &mut self,
        token: u32,
        promoted: &[String],
        constraint: &str,
    ) -> Option<ConnChange> {
        let c = self.conns.get_mut(&token)?;
        if c.promoted == promoted && c.constraint == constraint {
            return None;
        }
        c.promoted = promoted.to_vec();
        c.constraint = constraint.to_string();
        Some(ConnChange::Notes(token))
    }

    /// Records a backup flag we set on a subflow (the kernel sends no event
    /// for our own `MP_PRIO`).
    pub fn set_backup(
        &mut self,
        token: u32,
        local: SocketAddr,
        remote: SocketAddr,
        backup: bool,
    ) -> Option<ConnChange> {
        let c = self.conns.get_mut(&token)?;
        let s = c
            .subflows
            .iter_mut()
            .find(|s| s.local == local && s.remote == remote)?;
        s.backup = backup;
        Some(ConnChange::SubflowPriority(token, s.clone()))
    }

    /// After lost events: the kernel's subflow dump is the truth. Returns
    /// `Created` for connections not known and `Closed` for those gone; the
    /// subflow lists of the others are refreshed.
    pub fn resync(
        &mut self,
        dump: &[mptcp_policy_netlink::diag::SubflowDiag],
        live: &std::collections::BTreeSet<u32>,
        interface_of: impl Fn(IpAddr, Option<u32>) -> String,
    ) -> Vec<ConnChange> {
        let found = crate::userspace::group_by_token(dump);
        let mut changes = Vec::new();
        let gone: Vec<u32> = self
            .conns
            .keys()
            .filter(|t| !live.contains(t))
            .copied()
            .collect();
        for t in gone {
            self.conns.remove(&t);
            changes.push(ConnChange::Closed(t));
        }
        for f in found {
            let subflows = f
                .subflows
                .iter()
                .map(|s| SubflowView {
                    local: s.local,
                    remote: s.remote,
                    backup: s.backup_local || s.backup_remote,
                    interface: interface_of(s.local.ip(), s.ifindex),
                })
                .collect();
            match self.conns.get_mut(&f.token) {
                Some(c) => c.subflows = subflows,
                None => {
                    let view = ConnectionView {
                        token: f.token,
                        local: Some(f.local),
                        remote: Some(f.remote),
                        server_side: f.server_side,
                        established: true,
                        subflows,
                        mode: String::new(),
                        rule: String::new(),
                        // found now; its real opening time is not known
                        promoted: Vec::new(),
                        constraint: String::new(),
                        opened_at_ms: std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis() as u64),
                    };
                    self.conns.insert(f.token, view.clone());
                    changes.push(ConnChange::Created(view));
                }
            }
        }
        changes
    }

    /// Applies one event received at `now_ms` (Unix time, ms; a new
    /// connection's opening time). `local` tells, for a local address (and the
    /// event's ifindex), its interface name and whether a backup endpoint
    /// holds it: the kernel's `backup` attribute of a new subflow reports
    /// only what the peer asked, so a subflow made from our backup endpoint
    /// would otherwise look active.
    pub fn apply(
        &mut self,
        e: &PmEvent,
        now_ms: u64,
        local: impl Fn(IpAddr, Option<u32>) -> (String, bool),
    ) -> Option<ConnChange> {
        let token = e.token?;
        let local_addr = sock(e.saddr, e.sport);
        let remote = sock(e.daddr, e.dport);
        let subflow = || -> Option<SubflowView> {
            let (interface, backup_endpoint) = local(local_addr?.ip(), e.if_idx);
            // A priority change reports the new state; otherwise either side
            // asking for backup makes it one.
            let backup = match e.kind {
                PmEventKind::SubPriority => e.backup.unwrap_or(false),
                _ => e.backup.unwrap_or(false) || backup_endpoint,
            };
            Some(SubflowView {
                local: local_addr?,
                remote: remote?,
                backup,
                interface,
            })
        };
        match e.kind {
            PmEventKind::Established if self.closed_set.contains(&token) => None,
            PmEventKind::Created | PmEventKind::Established => {
                // A new connection that happens to get a closed one's token.
                if self.closed_set.remove(&token) {
                    self.closed.retain(|t| *t != token);
                }
                let established = e.kind == PmEventKind::Established;
                let conn = self.conns.entry(token).or_insert_with(|| ConnectionView {
                    token,
                    local: local_addr,
                    remote,
                    server_side: e.server_side.unwrap_or(false),
                    established,
                    subflows: Vec::new(),
                    mode: String::new(),
                    rule: String::new(),
                    opened_at_ms: now_ms,
                    promoted: Vec::new(),
                    constraint: String::new(),
                });
                conn.established |= established;
                conn.server_side |= e.server_side.unwrap_or(false);
                if conn.subflows.is_empty() {
                    if let Some(s) = subflow() {
                        conn.subflows.push(s);
                    }
                }
                let view = conn.clone();
                Some(if established {
                    ConnChange::Established(view)
                } else {
                    ConnChange::Created(view)
                })
            }
            PmEventKind::Closed => {
                if self.closed_set.insert(token) {
                    self.closed.push_back(token);
                    if self.closed.len() > CLOSED_MEMORY {
                        if let Some(old) = self.closed.pop_front() {
                            self.closed_set.remove(&old);
                        }
                    }
                }
                self.conns.remove(&token).map(|_| ConnChange::Closed(token))
            }
            PmEventKind::SubEstablished => {
                let s = subflow()?;
                let conn = self.conns.get_mut(&token)?;
                conn.subflows
                    .retain(|x| !(x.local == s.local && x.remote == s.remote));
                conn.subflows.push(s.clone());
                Some(ConnChange::SubflowEstablished(token, s))
            }
            PmEventKind::SubClosed => {
                let s = subflow()?;
                let conn = self.conns.get_mut(&token)?;
                conn.subflows
                    .retain(|x| !(x.local == s.local && x.remote == s.remote));
                Some(ConnChange::SubflowClosed(token, s))
            }
            PmEventKind::SubPriority => {
                let s = subflow()?;
                let conn = self.conns.get_mut(&token)?;
                if let Some(x) = conn
                    .subflows
                    .iter_mut()
                    .find(|x| x.local == s.local && x.remote == s.remote)
                {
                    x.backup = s.backup;
                }
                Some(ConnChange::SubflowPriority(token, s))
            }
            PmEventKind::Announced => Some(ConnChange::Announced {
                token,
                id: e.rem_id.unwrap_or(0),
                addr: remote?,
            }),
            PmEventKind::Removed => Some(ConnChange::Removed {
                token,
                id: e.rem_id.unwrap_or(0),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: PmEventKind, s: &str, d: &str, backup: bool) -> PmEvent {
        let (s, d): (SocketAddr, SocketAddr) = (s.parse().expect("s"), d.parse().expect("d"));
        let mut e = PmEvent::new(kind);
        e.token = Some(7);
        e.saddr = Some(s.ip());
        e.sport = Some(s.port());
        e.daddr = Some(d.ip());
        e.dport = Some(d.port());
        e.backup = Some(backup);
        e
    }

    const NOW_MS: u64 = 1_764_300_000_000;

    #[test]
    fn established_after_closed_does_not_bring_a_connection_back() {
        // The kernel's order for a connection closed before it was fully
        // established (found by bench/chaos: 5,000 ghosts after 10 batches).
        let mut t = ConnectionTable::default();
        let name = |_: IpAddr, _| ("wlan0".to_string(), false);
        let (s, d) = ("10.1.0.2:40000", "10.9.0.1:7101");
        assert!(t
            .apply(&ev(PmEventKind::Created, s, d, false), NOW_MS, name)
            .is_some());
        let mut closed = PmEvent::new(PmEventKind::Closed);
        closed.token = Some(7);
        assert_eq!(t.apply(&closed, NOW_MS, name), Some(ConnChange::Closed(7)));
        assert_eq!(
            t.apply(&ev(PmEventKind::Established, s, d, false), NOW_MS, name),
            None
        );
        assert_eq!(t.len(), 0);
        // A later connection with the same token is followed again.
        assert!(t
            .apply(&ev(PmEventKind::Created, s, d, false), NOW_MS, name)
            .is_some());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn follows_a_connection_through_its_life() {
        let mut t = ConnectionTable::default();
        let name = |ip: IpAddr, _| {
            if ip.to_string().starts_with("10.1.") {
                ("wlan0".to_string(), false)
            } else {
                // wwan0's address is held by a backup endpoint.
                ("wwan0".to_string(), true)
            }
        };
        let c = t.apply(
            &ev(
                PmEventKind::Created,
                "10.1.0.2:4000",
                "10.9.0.1:5201",
                false,
            ),
            NOW_MS,
            name,
        );
        assert!(
            matches!(c, Some(ConnChange::Created(ref v)) if v.subflows.len() == 1 && !v.established)
        );
        t.apply(
            &ev(
                PmEventKind::Established,
                "10.1.0.2:4000",
                "10.9.0.1:5201",
                false,
            ),
            NOW_MS,
            name,
        );
        let c = t.apply(
            &ev(
                PmEventKind::SubEstablished,
                "10.2.0.2:4001",
                "10.9.0.1:5201",
                // The kernel reports only the peer's wish; the endpoint decides.
                false,
            ),
            NOW_MS,
            name,
        );
        assert!(
            matches!(c, Some(ConnChange::SubflowEstablished(7, ref s)) if s.backup && s.interface == "wwan0")
        );
        let conn = t.get(7).expect("conn");
        assert!(conn.established);
        assert_eq!(conn.opened_at_ms, NOW_MS, "opened when first seen");
        assert_eq!(conn.subflows.len(), 2);
        t.apply(
            &ev(
                PmEventKind::SubPriority,
                "10.2.0.2:4001",
                "10.9.0.1:5201",
                false,
            ),
            NOW_MS,
            name,
        );
        assert!(t.get(7).expect("conn").subflows.iter().all(|s| !s.backup));
        t.apply(
            &ev(
                PmEventKind::SubClosed,
                "10.1.0.2:4000",
                "10.9.0.1:5201",
                false,
            ),
            NOW_MS,
            name,
        );
        assert_eq!(t.get(7).expect("conn").subflows.len(), 1);
        assert_eq!(
            t.apply(
                &PmEvent {
                    token: Some(7),
                    ..PmEvent::new(PmEventKind::Closed)
                },
                NOW_MS,
                name
            ),
            Some(ConnChange::Closed(7))
        );
        assert!(t.get(7).is_none());
        // Events for unknown connections change nothing.
        assert_eq!(
            t.apply(
                &ev(PmEventKind::SubClosed, "10.1.0.2:1", "10.9.0.1:2", false),
                NOW_MS,
                name
            ),
            None
        );
    }
}
