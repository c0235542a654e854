//! The observed side of links and addresses: a table kept current from the
//! rtnetlink dump and events, turned into the policy's `Observed` input.
//! Type inference inputs (sysfs) are read once per interface and cached.

use std::collections::BTreeMap;

use mptcp_policy::{
    infer_type, InterfaceType, Observed, ObservedAddress, ObservedInterface, Policy, TypeHints,
    TypeSource,
};
use mptcp_policy_netlink::link::{sysfs, AddrInfo, LinkEvent, LinkInfo, LinkSnapshot};

/// Links and addresses as the kernel reports them now.
#[derive(Debug, Default)]
pub struct LinkTable {
    links: BTreeMap<u32, LinkInfo>,
    addresses: BTreeMap<u32, Vec<AddrInfo>>,
    hints: BTreeMap<u32, sysfs::SysfsHints>,
    /// NetworkManager's device type by interface name (set by the engine).
    nm_types: BTreeMap<String, InterfaceType>,
}

impl LinkTable {
    /// A table from a full dump (start and resync).
    pub fn from_snapshot(snapshot: LinkSnapshot) -> LinkTable {
        let mut table = LinkTable::default();
        for link in snapshot.links {
            table.upsert_link(link);
        }
        for addr in snapshot.addresses {
            table.upsert_addr(addr);
        }
        table
    }

    /// Applies one event; returns a one-line description when it changed
    /// something that can matter to the policy (for the decision log).
    pub fn apply(&mut self, event: &LinkEvent) -> Option<String> {
        match event {
            LinkEvent::Link { link, .. } => {
                let before = self.links.get(&link.index).cloned();
                let desc = describe_link_change(before.as_ref(), link);
                self.upsert_link(link.clone());
                desc
            }
            LinkEvent::LinkRemoved { index, name, .. } => {
                self.links.remove(index);
                self.addresses.remove(index);
                self.hints.remove(index);
                Some(format!("{name}: removed"))
            }
            LinkEvent::Addr { addr, .. } => {
                let list = self.addresses.entry(addr.index).or_default();
                let existing = list.iter().position(|a| a.addr == addr.addr);
                let changed = existing.is_none_or(|i| list[i] != *addr);
                self.upsert_addr(addr.clone());
                changed.then(|| {
                    format!(
                        "{}: address {} {}",
                        self.name(addr.index),
                        addr.addr,
                        addr_state(addr)
                    )
                })
            }
            LinkEvent::AddrRemoved { addr, .. } => {
                let list = self.addresses.entry(addr.index).or_default();
                let before = list.len();
                list.retain(|a| a.addr != addr.addr);
                (list.len() != before)
                    .then(|| format!("{}: address {} removed", self.name(addr.index), addr.addr))
            }
            LinkEvent::Overflow { .. } => None,
        }
    }

    /// Takes the byte counters of a fresh dump (they change without
    /// notifications); returns `(name, rx + tx)` per non-loopback link.
    pub fn update_counters(&mut self, links: &[LinkInfo]) -> Vec<(String, u64)> {
        for fresh in links {
            if let Some(l) = self.links.get_mut(&fresh.index) {
                l.rx_bytes = fresh.rx_bytes;
                l.tx_bytes = fresh.tx_bytes;
            }
        }
        self.counter_totals()
    }

    /// `(name, rx + tx)` per non-loopback link, as last read.
    pub fn counter_totals(&self) -> Vec<(String, u64)> {
        self.links
            .values()
            .filter(|l| !l.loopback)
            .map(|l| (l.name.clone(), l.rx_bytes.saturating_add(l.tx_bytes)))
            .collect()
    }

    /// Name of an interface, for messages.
    pub fn name(&self, index: u32) -> String {
        self.links
            .get(&index)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("ifindex {index}"))
    }

    /// The policy's view: every non-loopback interface with its inferred
    /// type, whether it can carry traffic, and its addresses.
    pub fn observed(&self, policy: &Policy) -> Observed {
        let interfaces = self
            .links
            .values()
            .filter(|l| !l.loopback)
            .map(|l| {
                let (kind, _) = self.type_of(policy, l);
                ObservedInterface {
                    index: l.index,
                    name: l.name.clone(),
                    kind,
                    up: l.usable(),
                    addresses: self
                        .addresses
                        .get(&l.index)
                        .map(|list| list.iter().map(observed_address).collect())
                        .unwrap_or_default(),
                    // Filled in by the engine, which owns the counted usage.
                    usage: None,
                    // Filled in by the engine, which owns NetworkManager's hints.
                    hints: Default::default(),
                    // Filled in by the engine, which owns the health states.
                    stalled: None,
                    degraded: None,
                }
            })
            .collect();
        Observed { interfaces }
    }

    /// The interface's type and which source decided it.
    pub fn type_of(&self, policy: &Policy, link: &LinkInfo) -> (InterfaceType, TypeSource) {
        let hints = self.hints.get(&link.index).cloned().unwrap_or_default();
        let type_hints = TypeHints {
            nm_type: self.nm_types.get(&link.name).copied(),
            sysfs_devtype: hints.devtype,
            sysfs_wireless: hints.wireless,
        };
        infer_type(policy, &link.name, &type_hints)
    }

    /// NetworkManager's device types, by interface name.
    pub fn set_nm_types(&mut self, types: BTreeMap<String, InterfaceType>) {
        self.nm_types = types;
    }

    /// The link with this index.
    pub fn link(&self, index: u32) -> Option<&LinkInfo> {
        self.links.get(&index)
    }

    /// The link with this name.
    pub fn by_name(&self, name: &str) -> Option<&LinkInfo> {
        self.links.values().find(|l| l.name == name)
    }

    /// Names of all non-loopback links (for error messages).
    pub fn names(&self) -> Vec<String> {
        self.links
            .values()
            .filter(|l| !l.loopback)
            .map(|l| l.name.clone())
            .collect()
    }

    /// All addresses of a link, as the kernel lists them.
    pub fn addresses_of(&self, index: u32) -> &[AddrInfo] {
        self.addresses.get(&index).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The interface that holds a local address (or `ifindex` when the
    /// kernel said), for naming subflows.
    pub fn interface_of(&self, addr: std::net::IpAddr, ifindex: Option<u32>) -> String {
        if let Some(l) = ifindex.and_then(|i| self.links.get(&i)) {
            return l.name.clone();
        }
        self.addresses
            .iter()
            .find(|(_, list)| list.iter().any(|a| a.addr == addr))
            .and_then(|(i, _)| self.links.get(i))
            .map(|l| l.name.clone())
            .unwrap_or_default()
    }

    fn upsert_link(&mut self, link: LinkInfo) {
        let renamed = self
            .links
            .get(&link.index)
            .is_none_or(|old| old.name != link.name);
        // Loopback is never typed (not observed): no sysfs reads for it.
        if renamed && !link.loopback {
            self.hints.insert(
                link.index,
                sysfs::hints_for(&link.name, link.kind.as_deref()),
            );
        }
        self.links.insert(link.index, link);
    }

    fn upsert_addr(&mut self, addr: AddrInfo) {
        let list = self.addresses.entry(addr.index).or_default();
        match list.iter_mut().find(|a| a.addr == addr.addr) {
            Some(slot) => *slot = addr,
            None => list.push(addr),
        }
    }
}

fn observed_address(a: &AddrInfo) -> ObservedAddress {
    ObservedAddress {
        addr: a.addr,
        prefix_len: a.prefix_len,
        tentative: a.tentative,
        deprecated: a.deprecated,
        dadfailed: a.dadfailed,
    }
}

fn addr_state(a: &AddrInfo) -> &'static str {
    if a.dadfailed {
        "failed duplicate address detection"
    } else if a.tentative {
        "tentative"
    } else if a.deprecated {
        "deprecated"
    } else {
        "usable"
    }
}

fn describe_link_change(before: Option<&LinkInfo>, now: &LinkInfo) -> Option<String> {
    let state = |l: &LinkInfo| match (l.admin_up, l.running) {
        (true, true) => "up",
        (true, false) => "up, no carrier",
        (false, _) => "down",
    };
    match before {
        None => Some(format!("{}: appeared ({})", now.name, state(now))),
        Some(b) if b.name != now.name => Some(format!("{} renamed to {}", b.name, now.name)),
        Some(b) if state(b) != state(now) => {
            Some(format!("{}: {} -> {}", now.name, state(b), state(now)))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn link(index: u32, name: &str, up: bool) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            admin_up: up,
            running: up,
            loopback: false,
            kind: Some("veth".into()),
            rx_bytes: 0,
            tx_bytes: 0,
        }
    }

    fn addr(index: u32, a: &str) -> AddrInfo {
        AddrInfo {
            index,
            addr: a.parse().expect("addr"),
            prefix_len: 24,
            tentative: false,
            deprecated: false,
            dadfailed: false,
        }
    }

    #[test]
    fn events_update_the_observed_state() {
        let policy = mptcp_policy::Policy::parse("t.toml", "").expect("empty policy");
        let mut t = LinkTable::from_snapshot(LinkSnapshot {
            links: vec![link(2, "wlan0", true), link(3, "wwan0", true)],
            addresses: vec![addr(2, "10.1.0.2"), addr(3, "10.2.0.2")],
        });
        let obs = t.observed(&policy);
        assert_eq!(obs.interfaces.len(), 2);
        assert!(obs
            .interfaces
            .iter()
            .all(|i| i.up && i.addresses.len() == 1));

        let at = Instant::now();
        let desc = t.apply(&LinkEvent::Link {
            link: link(2, "wlan0", false),
            at,
        });
        assert_eq!(desc.as_deref(), Some("wlan0: up -> down"));
        assert!(!t.observed(&policy).interfaces[0].up);
        // The same state again is not news.
        assert_eq!(
            t.apply(&LinkEvent::Link {
                link: link(2, "wlan0", false),
                at
            }),
            None
        );

        let desc = t.apply(&LinkEvent::AddrRemoved {
            addr: addr(3, "10.2.0.2"),
            at,
        });
        assert_eq!(desc.as_deref(), Some("wwan0: address 10.2.0.2 removed"));
        assert!(t.observed(&policy).interfaces[1].addresses.is_empty());

        t.apply(&LinkEvent::LinkRemoved {
            index: 2,
            name: "wlan0".into(),
            at,
        });
        assert_eq!(t.observed(&policy).interfaces.len(), 1);
    }
}
