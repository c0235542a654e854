//! `evaluate`: observed interfaces + policy → desired endpoints, limits and
//! a per-interface verdict explaining each decision. Pure and
//! deterministic; no I/O, no clock here (`now` is an input).

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use jiff::ZonedDateTime;

use crate::budget::{budget_verdict, BudgetState, BudgetVerdict};
use crate::hints::{InterfaceHints, NmMetered};
use crate::model::{Limits, Policy, Role};
use crate::observed::unusable_reason;
use crate::observed::{Observed, ObservedInterface};
use crate::types::InterfaceType;
use crate::MAX_ENDPOINTS;

/// The in-kernel PM endpoint flags (`MPTCP_PM_ADDR_FLAG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EndpointFlags {
    /// Announce the address to peers (`ADD_ADDR`).
    pub signal: bool,
    /// Open subflows from this address.
    pub subflow: bool,
    /// Subflows from it are backup (`MP_PRIO`).
    pub backup: bool,
    /// A subflow to every peer address.
    pub fullmesh: bool,
}

impl EndpointFlags {
    /// The flags in `ip mptcp` order, e.g. `["signal", "subflow", "backup"]`.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.signal, "signal"),
            (self.subflow, "subflow"),
            (self.backup, "backup"),
            (self.fullmesh, "fullmesh"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

impl fmt::Display for EndpointFlags {
    /// Space-separated names as `ip mptcp endpoint show` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(" "))
    }
}

/// An endpoint the policy wants in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DesiredEndpoint {
    /// Local address.
    pub addr: IpAddr,
    /// Interface it is bound to (the endpoint's `dev`).
    pub ifindex: u32,
    /// That interface's name (for messages and `ip mptcp` text).
    pub ifname: String,
    /// Flags.
    pub flags: EndpointFlags,
}

/// What the policy decided for one interface, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceVerdict {
    /// ifindex.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Type used for matching.
    pub kind: InterfaceType,
    /// Role from the matching entry (demoted by its budget when exhausted
    /// or today's allowance is spent), `Off` when none matches.
    pub role: Role,
    /// 0-based index into `Policy::interfaces` of the deciding entry
    /// (messages count from 1).
    pub matched_entry: Option<usize>,
    /// For humans, e.g. `matched [[interface]] #1 (type = wifi)`.
    pub reason: String,
    /// Addresses not used and why (loopback, link-local, tentative, ...).
    pub skipped_addresses: Vec<(IpAddr, String)>,
    /// The budget verdict, when the matching entry has a budget and the
    /// interface's usage is known.
    pub budget: Option<BudgetVerdict>,
    /// Metered: the matching entry's `metered` when written, else
    /// NetworkManager's hint (`yes`/`guess-yes`).
    pub metered: bool,
    /// `Backup` because its entry says `backup`, with nothing lowering it
    /// (no spent budget, no NetworkManager hint): a `[[rule]]`'s mode may
    /// make it carry data for its own connections (userspace PM).
    pub promotable: bool,
    /// A promotable backup made active because these preferred paths are
    /// degraded (make before break); empty otherwise.
    pub stands_in_for: Vec<String>,
}

/// The desired in-kernel PM state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Limits to set.
    pub limits: Limits,
    /// At most [`MAX_ENDPOINTS`], best ranked first.
    pub endpoints: Vec<DesiredEndpoint>,
    /// One verdict per observed interface, by ifindex.
    pub interfaces: Vec<InterfaceVerdict>,
    /// Wanted but ranked below the kernel's maximum (or a duplicate address
    /// on a second interface), best ranked first.
    pub left_out: Vec<DesiredEndpoint>,
}

/// Computes the desired state.
///
/// The first matching `[[interface]]` entry decides an interface's role;
/// none matching means `off` (left alone). Up interfaces with role
/// preferred/backup get one endpoint per usable address. Endpoints are
/// ranked preferred before backup, then by entry order, ifindex, IPv4
/// before IPv6, and address; the first [`MAX_ENDPOINTS`] are kept.
///
/// An entry with a `budget` on an interface whose `usage` is known gets a
/// [`BudgetVerdict`] at `now` (local time is `now`'s time zone); when the
/// budget is exhausted or today's allowance spent, the role is lowered to
/// `when_exhausted` (preferred > backup > off), never raised.
///
/// NetworkManager's hints lower roles the same way (see [`apply_hints`]):
/// an interface it calls metered whose entry does not say `metered` is used
/// at most as backup; connectivity `none`/`limited`/`portal` demotes to
/// backup until it is `full` again.
pub fn evaluate(policy: &Policy, observed: &Observed, now: &ZonedDateTime) -> Desired {
    let mut ifaces: Vec<&ObservedInterface> = observed.interfaces.iter().collect();
    ifaces.sort_by(|a, b| (a.index, &a.name).cmp(&(b.index, &b.name)));
    let mut interfaces = Vec::new();
    let mut candidates = Vec::new();
    for iface in &ifaces {
        let (verdict, mut wanted) = judge(policy, iface, now);
        candidates.append(&mut wanted);
        interfaces.push(verdict);
    }
    crate::handover::hand_over_degraded(&ifaces, &mut interfaces, &mut candidates);
    candidates.sort();
    let mut endpoints = Vec::new();
    let mut left_out = Vec::new();
    let mut taken = BTreeSet::new();
    for (_, ep) in candidates {
        if endpoints.len() < MAX_ENDPOINTS && taken.insert(ep.addr) {
            endpoints.push(ep);
        } else {
            left_out.push(ep);
        }
    }
    Desired {
        limits: policy.limits,
        endpoints,
        interfaces,
        left_out,
    }
}

/// Sort key: preferred first, entry order, ifindex, IPv4 first, address.
type Rank = (u8, usize, u32, bool, IpAddr);

fn judge(
    policy: &Policy,
    iface: &ObservedInterface,
    now: &ZonedDateTime,
) -> (InterfaceVerdict, Vec<(Rank, DesiredEndpoint)>) {
    let matched = policy
        .interfaces
        .iter()
        .position(|e| e.matches(&iface.name, iface.kind));
    let mut budget = None;
    let mut bounded = false;
    let (role, mut reason) = match matched {
        Some(i) => {
            let entry = &policy.interfaces[i];
            let mut reason = format!(
                "matched [[interface]] #{} ({})",
                i + 1,
                entry.describe_match()
            );
            let source = entry.source.describe();
            match (&entry.source.note, source.is_empty()) {
                (Some(_), _) => reason.push_str(&format!(", {source}")),
                (None, false) => reason.push_str(&format!(" in {source}")),
                (None, true) => {}
            }
            let mut role = entry.role;
            if let (Some(b), Some(usage)) = (&entry.budget, &iface.usage) {
                let v = budget_verdict(b, usage, now);
                if let (Some(demote_to), Some(what)) = (v.demote_to, v.describe(b, usage)) {
                    reason.push_str("; ");
                    reason.push_str(&what);
                    if rank(demote_to) < rank(role) {
                        role = demote_to;
                        match v.state {
                            BudgetState::AllowanceSpent => reason.push_str(&format!(
                                ": demoted to {demote_to} until {}",
                                v.next_midnight.strftime("%H:%M")
                            )),
                            _ => {
                                reason.push_str(&format!(": when_exhausted = {}", b.when_exhausted))
                            }
                        }
                    } else {
                        reason.push_str(&format!(": already {role}"));
                    }
                    bounded = true;
                }
                budget = Some(v);
            }
            bounded |= hints_bound(entry.metered, &iface.hints);
            apply_hints(entry.metered, &iface.hints, &mut role, &mut reason);
            (role, reason)
        }
        None => (
            Role::Off,
            "no [[interface]] entry matches: left alone".to_owned(),
        ),
    };
    let mut verdict = InterfaceVerdict {
        index: iface.index,
        name: iface.name.clone(),
        kind: iface.kind,
        role,
        matched_entry: matched,
        reason: String::new(),
        skipped_addresses: Vec::new(),
        budget,
        metered: is_metered(
            matched.and_then(|i| policy.interfaces[i].metered),
            &iface.hints,
        ),
        promotable: role == Role::Backup
            && !bounded
            && matched.is_some_and(|i| policy.interfaces[i].role == Role::Backup),
        stands_in_for: Vec::new(),
    };
    let mut wanted = Vec::new();
    if !iface.up {
        reason.push_str("; interface down");
    } else if let Some(evidence) = iface.stalled.as_ref().filter(|_| role != Role::Off) {
        reason.push_str(&format!(
            "; path stalled ({evidence}): no endpoint until its probes answer again"
        ));
    } else if let (Some(entry), Some(flags)) = (matched, flags_for(policy, role)) {
        let mut addrs = iface.addresses.clone();
        addrs.sort();
        for a in addrs {
            if let Some(why) = unusable_reason(&a) {
                verdict.skipped_addresses.push((a.addr, why.to_owned()));
                continue;
            }
            let rank = (
                u8::from(role == Role::Backup),
                entry,
                iface.index,
                a.addr.is_ipv6(),
                a.addr,
            );
            let ep = DesiredEndpoint {
                addr: a.addr,
                ifindex: iface.index,
                ifname: iface.name.clone(),
                flags,
            };
            wanted.push((rank, ep));
        }
        if wanted.is_empty() {
            reason.push_str("; no usable address");
        }
    }
    verdict.reason = reason;
    (verdict, wanted)
}

/// Whether an interface counts as metered: the entry's word, else
/// NetworkManager's.
fn is_metered(entry_metered: Option<bool>, hints: &InterfaceHints) -> bool {
    entry_metered.unwrap_or_else(|| hints.metered.is_some_and(NmMetered::is_metered))
}

/// Whether NetworkManager's hints cap the interface at backup (see
/// [`apply_hints`]): then no `[[rule]]` may make it carry data either.
fn hints_bound(entry_metered: Option<bool>, hints: &InterfaceHints) -> bool {
    (entry_metered.is_none() && hints.metered.is_some_and(NmMetered::is_metered))
        || hints.connectivity.is_some_and(|c| c.demotes())
}

/// Lowers `role` by NetworkManager's hints and says why in `reason`:
/// - metered `yes`/`guess-yes`, and the entry does not set `metered`: at
///   most backup (a link NetworkManager found metered — a phone's hotspot,
///   a lease with `ANDROID_METERED` — carries data only when nothing else
///   works). An entry that sets `metered` is the user's word: its role stands.
/// - connectivity `none`/`limited`/`portal`: at most backup until `full`.
///
/// Never raises a role.
fn apply_hints(
    entry_metered: Option<bool>,
    hints: &InterfaceHints,
    role: &mut Role,
    reason: &mut String,
) {
    if let (None, Some(m)) = (entry_metered, hints.metered.filter(|m| m.is_metered())) {
        if rank(*role) > rank(Role::Backup) {
            *role = Role::Backup;
            reason.push_str(&format!(
                "; NetworkManager says metered ({m}): demoted to backup (set `metered` in the entry to decide yourself)"
            ));
        }
    }
    if let Some(c) = hints.connectivity.filter(|c| c.demotes()) {
        if rank(*role) > rank(Role::Backup) {
            *role = Role::Backup;
            reason.push_str(&format!(
                "; NetworkManager connectivity {c}: demoted to backup until full"
            ));
        }
    }
}

/// How much a role uses an interface: preferred 2 > backup 1 > off 0.
pub(crate) fn rank(role: Role) -> u8 {
    match role {
        Role::Preferred => 2,
        Role::Backup => 1,
        Role::Off => 0,
    }
}

/// Endpoint flags for a role, `None` for `off`.
pub fn flags_for(policy: &Policy, role: Role) -> Option<EndpointFlags> {
    (role != Role::Off).then_some(EndpointFlags {
        signal: policy.general.announce,
        subflow: true,
        backup: role == Role::Backup,
        fullmesh: policy.general.fullmesh,
    })
}
