//! Observed state: what the daemon saw of links and addresses, handed to
//! `evaluate`. Plain data; no I/O here (the netlink crate fills it in).

use std::net::IpAddr;

use crate::budget::BudgetInput;
use crate::hints::InterfaceHints;
use crate::types::InterfaceType;

/// One address on an interface, with the flags that decide whether it may
/// be used (`IFA_F_TENTATIVE`, `IFA_F_DEPRECATED`, `IFA_F_DADFAILED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObservedAddress {
    /// The local address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Duplicate address detection still running.
    pub tentative: bool,
    /// Preferred lifetime over: not for new connections.
    pub deprecated: bool,
    /// Duplicate address detection failed.
    pub dadfailed: bool,
}

impl ObservedAddress {
    /// A usable address (no flags set).
    pub fn new(addr: IpAddr, prefix_len: u8) -> Self {
        ObservedAddress {
            addr,
            prefix_len,
            tentative: false,
            deprecated: false,
            dadfailed: false,
        }
    }
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedInterface {
    /// Kernel ifindex.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Type, from [`crate::infer_type`].
    pub kind: InterfaceType,
    /// Administratively up and has carrier (`IFF_UP` and `IFF_LOWER_UP`).
    pub up: bool,
    /// Its addresses.
    pub addresses: Vec<ObservedAddress>,
    /// Counted usage for its budget; `None` when not counted (yet): no
    /// budget enforcement then.
    pub usage: Option<BudgetInput>,
    /// What NetworkManager says about it (metered, connectivity).
    pub hints: InterfaceHints,
    /// The path health monitor holds the path as stalled (silent loss:
    /// link up, nothing gets through), with its evidence. A stalled path
    /// gets no endpoint, like a link that went down, and keeps its role.
    pub stalled: Option<String>,
    /// The path health monitor judged the path degraded (loss or delay
    /// beyond its own history), with its evidence. It keeps its endpoints;
    /// a healthy backup beside it is made active and it becomes backup.
    pub degraded: Option<String>,
}

/// Everything `evaluate` looks at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    /// All interfaces, in any order.
    pub interfaces: Vec<ObservedInterface>,
}

/// Why an address cannot be an endpoint, or `None` when it can. Follows
/// NetworkManager and mptcpd: loopback, link-local, multicast, unspecified,
/// and addresses still in DAD, failed DAD or deprecated are skipped.
pub fn unusable_reason(a: &ObservedAddress) -> Option<&'static str> {
    if a.addr.is_loopback() {
        return Some("loopback");
    }
    if a.addr.is_unspecified() {
        return Some("unspecified");
    }
    if a.addr.is_multicast() {
        return Some("multicast");
    }
    let link_local = match a.addr {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local {
        return Some("link-local");
    }
    if let IpAddr::V4(v4) = a.addr {
        if v4.is_broadcast() {
            return Some("broadcast");
        }
    }
    if a.dadfailed {
        return Some("duplicate address detection failed");
    }
    if a.tentative {
        return Some("tentative (duplicate address detection running)");
    }
    if a.deprecated {
        return Some("deprecated");
    }
    None
}
