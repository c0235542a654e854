//! Plain data types for links and addresses, decoupled from the netlink
//! message structs so that callers need no netlink crate.

use std::net::IpAddr;
use std::time::Instant;

/// One network interface as rtnetlink reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index (`ifindex`).
    pub index: u32,
    /// Interface name (`IFLA_IFNAME`).
    pub name: String,
    /// Administratively up (`IFF_UP`).
    pub admin_up: bool,
    /// Operationally up: carrier present and ready (`IFF_RUNNING`).
    pub running: bool,
    /// `IFF_LOOPBACK`.
    pub loopback: bool,
    /// Link kind from `IFLA_INFO_KIND` (`veth`, `wireguard`, ...), if any.
    pub kind: Option<String>,
    /// Bytes received, from `IFLA_STATS64` (0 when absent).
    pub rx_bytes: u64,
    /// Bytes sent, from `IFLA_STATS64` (0 when absent).
    pub tx_bytes: u64,
}

impl LinkInfo {
    /// Usable for traffic: admin up and carrier (operationally running).
    pub fn usable(&self) -> bool {
        self.admin_up && self.running
    }
}

/// One address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// Interface index the address sits on.
    pub index: u32,
    /// The local address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Duplicate address detection still running (`IFA_F_TENTATIVE`).
    pub tentative: bool,
    /// Preferred lifetime over (`IFA_F_DEPRECATED`).
    pub deprecated: bool,
    /// Duplicate address detection failed (`IFA_F_DADFAILED`).
    pub dadfailed: bool,
}

/// Everything known at one moment: the result of a dump.
#[derive(Debug, Clone, Default)]
pub struct LinkSnapshot {
    pub links: Vec<LinkInfo>,
    pub addresses: Vec<AddrInfo>,
}

/// A change reported by the kernel. `at` is when the daemon read it, the
/// start of its reaction time.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    /// A link appeared or changed (flags, name, ...).
    Link { link: LinkInfo, at: Instant },
    /// A link disappeared.
    LinkRemoved {
        index: u32,
        name: String,
        at: Instant,
    },
    /// An address appeared or changed flags.
    Addr { addr: AddrInfo, at: Instant },
    /// An address disappeared.
    AddrRemoved { addr: AddrInfo, at: Instant },
    /// The kernel dropped notifications (`ENOBUFS`): the caller must resync
    /// from a fresh dump ([`crate::link::LinkWatch::dump`]).
    Overflow { at: Instant },
}
