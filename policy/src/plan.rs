//! `plan`: the kernel's actual endpoints and limits + the desired state +
//! what we own → the ordered operations that get from one to the other,
//! touching only endpoints we created. Pure; no I/O here (the reconciler
//! applies the ops through the netlink crate).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use crate::evaluate::{Desired, DesiredEndpoint, EndpointFlags};
use crate::model::Limits;
use crate::MAX_ENDPOINTS;

/// An endpoint as the kernel reports it (`ip mptcp endpoint show`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelEndpoint {
    /// Endpoint id (1..=255), assigned by the kernel.
    pub id: u8,
    /// Local address.
    pub addr: IpAddr,
    /// Port (only for `signal` endpoints that set one).
    pub port: Option<u16>,
    /// Bound interface.
    pub ifindex: Option<u32>,
    /// Flags.
    pub flags: EndpointFlags,
}

/// What the kernel holds now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actual {
    /// All endpoints, ours and others'.
    pub endpoints: Vec<KernelEndpoint>,
    /// Current limits, `None` when not read yet.
    pub limits: Option<Limits>,
}

/// Endpoint ids the daemon created, with the address it created each for
/// (if the kernel shows that id with another address, someone else reused
/// it and it is not ours any more). Persisted across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ownership {
    /// id → address.
    pub owned: BTreeMap<u8, IpAddr>,
}

impl Ownership {
    /// Whether `ep` is one we created.
    pub fn owns(&self, ep: &KernelEndpoint) -> bool {
        self.owned.get(&ep.id) == Some(&ep.addr)
    }

    /// Forgets ids the kernel no longer shows with our address (deleted by
    /// someone, or reused), so the id may be ours again later.
    pub fn retain_present(&mut self, actual: &Actual) {
        self.owned.retain(|id, addr| {
            actual
                .endpoints
                .iter()
                .any(|e| e.id == *id && e.addr == *addr)
        });
    }
}

/// One path-manager command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PmOp {
    /// `ip mptcp limits set ...`.
    SetLimits(Limits),
    /// `ip mptcp endpoint delete id ID`; the address is for messages and
    /// for the reconciler to drop the id from [`Ownership`].
    DeleteEndpoint {
        /// Endpoint id.
        id: u8,
        /// Its address.
        addr: IpAddr,
    },
    /// `ip mptcp endpoint change id ID [no]backup [no]fullmesh` (the only
    /// flags the kernel can change in place).
    SetFlags {
        /// Endpoint id.
        id: u8,
        /// Its address.
        addr: IpAddr,
        /// The complete new flags.
        flags: EndpointFlags,
    },
    /// `ip mptcp endpoint add ADDR dev IF FLAGS`; the kernel picks the id,
    /// which the reconciler records in [`Ownership`].
    AddEndpoint(DesiredEndpoint),
}

impl fmt::Display for PmOp {
    /// The equivalent `ip mptcp` command (address in parentheses where the
    /// command itself takes only the id).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PmOp::SetLimits(l) => write!(
                f,
                "ip mptcp limits set subflows {} add_addr_accepted {}",
                l.subflows, l.add_addr_accepted
            ),
            PmOp::DeleteEndpoint { id, addr } => {
                write!(f, "ip mptcp endpoint delete id {id} ({addr})")
            }
            PmOp::SetFlags { id, addr, flags } => {
                let backup = if flags.backup { "backup" } else { "nobackup" };
                let fullmesh = if flags.fullmesh {
                    "fullmesh"
                } else {
                    "nofullmesh"
                };
                write!(
                    f,
                    "ip mptcp endpoint change id {id} {backup} {fullmesh} ({addr})"
                )
            }
            PmOp::AddEndpoint(ep) => {
                write!(f, "ip mptcp endpoint add {} dev {}", ep.addr, ep.ifname)?;
                if ep.flags != EndpointFlags::default() {
                    write!(f, " {}", ep.flags)?;
                }
                Ok(())
            }
        }
    }
}

/// The operations to apply, in order, plus what could not be done.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Deletes, then flag changes, then limits, then adds.
    pub ops: Vec<PmOp>,
    /// Endpoints not ours: reported, never touched.
    pub foreign: Vec<KernelEndpoint>,
    /// Desired endpoints that will not be added, with the reason.
    pub blocked: Vec<(DesiredEndpoint, String)>,
}

impl Plan {
    /// True when the kernel already matches the desired state.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Plans the changes from `actual` to `desired`.
///
/// Never deletes or changes an endpoint we do not own. A desired address
/// held by a foreign endpoint is blocked, as are desired endpoints beyond
/// the room foreign endpoints leave (kernel max [`MAX_ENDPOINTS`]). Deletes
/// come first: deleting a dead path's endpoint is what moves data fastest.
pub fn plan(actual: &Actual, desired: &Desired, owned: &Ownership) -> Plan {
    let (mut ours, mut foreign): (Vec<&KernelEndpoint>, Vec<&KernelEndpoint>) =
        actual.endpoints.iter().partition(|e| owned.owns(e));
    ours.sort();
    foreign.sort();
    let foreign_addrs: BTreeMap<IpAddr, u8> = foreign.iter().map(|e| (e.addr, e.id)).collect();
    let room = MAX_ENDPOINTS.saturating_sub(foreign.len());
    let mut result = Plan {
        foreign: foreign.into_iter().cloned().collect(),
        ..Plan::default()
    };
    let mut selected: BTreeMap<IpAddr, &DesiredEndpoint> = BTreeMap::new();
    for ep in &desired.endpoints {
        if let Some(id) = foreign_addrs.get(&ep.addr) {
            let why = format!(
                "address {} is held by endpoint id {id}, which is not ours",
                ep.addr
            );
            result.blocked.push((ep.clone(), why));
        } else if selected.len() >= room {
            let why = format!(
                "no room: the kernel holds at most {MAX_ENDPOINTS} endpoints and {} are not ours",
                MAX_ENDPOINTS - room
            );
            result.blocked.push((ep.clone(), why));
        } else {
            selected.insert(ep.addr, ep);
        }
    }
    let (mut deletes, mut changes) = (Vec::new(), Vec::new());
    let mut kept = BTreeSet::new();
    for ep in ours {
        match selected.get(&ep.addr) {
            Some(want) if same_endpoint(ep, want) => {
                kept.insert(ep.addr);
            }
            Some(want) if in_place_change(ep, want) => {
                kept.insert(ep.addr);
                changes.push(PmOp::SetFlags {
                    id: ep.id,
                    addr: ep.addr,
                    flags: want.flags,
                });
            }
            _ => deletes.push(PmOp::DeleteEndpoint {
                id: ep.id,
                addr: ep.addr,
            }),
        }
    }
    result.ops = deletes;
    result.ops.append(&mut changes);
    if actual.limits != Some(desired.limits) {
        result.ops.push(PmOp::SetLimits(desired.limits));
    }
    for ep in &desired.endpoints {
        if selected.contains_key(&ep.addr) && !kept.contains(&ep.addr) {
            result.ops.push(PmOp::AddEndpoint(ep.clone()));
        }
    }
    result
}

fn same_endpoint(have: &KernelEndpoint, want: &DesiredEndpoint) -> bool {
    have.port.is_none() && have.ifindex == Some(want.ifindex) && have.flags == want.flags
}

/// Only `backup`/`fullmesh` differ: the kernel can change them in place.
fn in_place_change(have: &KernelEndpoint, want: &DesiredEndpoint) -> bool {
    have.port.is_none()
        && have.ifindex == Some(want.ifindex)
        && have.flags.signal == want.flags.signal
        && have.flags.subflow == want.flags.subflow
}
