//! Plain data the `mptcp_pm` client hands out: endpoint flags, endpoints, limits.
//!
//! No I/O and no netlink encoding here (see `attr.rs` for that).

use std::fmt;
use std::net::IpAddr;

use super::constants::{
    MPTCP_PM_ADDR_FLAG_BACKUP, MPTCP_PM_ADDR_FLAG_FULLMESH, MPTCP_PM_ADDR_FLAG_IMPLICIT,
    MPTCP_PM_ADDR_FLAG_SIGNAL, MPTCP_PM_ADDR_FLAG_SUBFLOW,
};

const KNOWN_FLAGS: u32 = MPTCP_PM_ADDR_FLAG_SIGNAL
    | MPTCP_PM_ADDR_FLAG_SUBFLOW
    | MPTCP_PM_ADDR_FLAG_BACKUP
    | MPTCP_PM_ADDR_FLAG_FULLMESH
    | MPTCP_PM_ADDR_FLAG_IMPLICIT;

/// Flags of an in-kernel path-manager endpoint (`MPTCP_PM_ADDR_FLAG_*`).
///
/// Bits this crate does not know are kept in `other` so that a round trip
/// through the daemon never drops them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EndpointFlags {
    /// Announce the address to the peer (`ADD_ADDR`).
    pub signal: bool,
    /// Open subflows from this address.
    pub subflow: bool,
    /// Subflows on this address are backup (`MP_PRIO`).
    pub backup: bool,
    /// One subflow towards every known peer address.
    pub fullmesh: bool,
    /// Created by the kernel itself (e.g. for an incoming join); read-only.
    pub implicit: bool,
    /// Unknown bits, kept as they came.
    pub other: u32,
}

impl EndpointFlags {
    /// The kernel's `u32` representation.
    pub fn bits(&self) -> u32 {
        let mut b = self.other & !KNOWN_FLAGS;
        for (on, bit) in [
            (self.signal, MPTCP_PM_ADDR_FLAG_SIGNAL),
            (self.subflow, MPTCP_PM_ADDR_FLAG_SUBFLOW),
            (self.backup, MPTCP_PM_ADDR_FLAG_BACKUP),
            (self.fullmesh, MPTCP_PM_ADDR_FLAG_FULLMESH),
            (self.implicit, MPTCP_PM_ADDR_FLAG_IMPLICIT),
        ] {
            if on {
                b |= bit;
            }
        }
        b
    }

    /// Decodes the kernel's `u32`; unknown bits land in `other`.
    pub fn from_bits(bits: u32) -> Self {
        Self {
            signal: bits & MPTCP_PM_ADDR_FLAG_SIGNAL != 0,
            subflow: bits & MPTCP_PM_ADDR_FLAG_SUBFLOW != 0,
            backup: bits & MPTCP_PM_ADDR_FLAG_BACKUP != 0,
            fullmesh: bits & MPTCP_PM_ADDR_FLAG_FULLMESH != 0,
            implicit: bits & MPTCP_PM_ADDR_FLAG_IMPLICIT != 0,
            other: bits & !KNOWN_FLAGS,
        }
    }

    /// True when no flag at all is set.
    pub fn is_empty(&self) -> bool {
        self.bits() == 0
    }
}

/// Like iproute2: `signal subflow backup fullmesh implicit`, unknown bits as hex.
impl fmt::Display for EndpointFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words: Vec<String> = Vec::new();
        for (on, name) in [
            (self.signal, "signal"),
            (self.subflow, "subflow"),
            (self.backup, "backup"),
            (self.fullmesh, "fullmesh"),
            (self.implicit, "implicit"),
        ] {
            if on {
                words.push(name.to_owned());
            }
        }
        let other = self.other & !KNOWN_FLAGS;
        if other != 0 {
            words.push(format!("0x{other:x}"));
        }
        f.write_str(&words.join(" "))
    }
}

/// One endpoint of the in-kernel path manager (a line of `ip mptcp endpoint show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Endpoint id (1..=255; 0 is the initial subflow's address).
    pub id: u8,
    /// Local address.
    pub addr: IpAddr,
    /// Port for `signal` endpoints with a dedicated listener.
    pub port: Option<u16>,
    /// Interface the endpoint is bound to (`dev`).
    pub ifindex: Option<u32>,
    /// Endpoint flags.
    pub flags: EndpointFlags,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        if let Some(port) = self.port {
            write!(f, " port {port}")?;
        }
        write!(f, " id {}", self.id)?;
        if !self.flags.is_empty() {
            write!(f, " {}", self.flags)?;
        }
        if let Some(ifindex) = self.ifindex {
            write!(f, " dev #{ifindex}")?;
        }
        Ok(())
    }
}

/// Per-namespace limits of the in-kernel path manager (`ip mptcp limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of additional subflows per connection.
    pub subflows: u32,
    /// Maximum number of `ADD_ADDR` accepted per connection.
    pub add_addr_accepted: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_keeps_unknown_bits() {
        for bits in [0u32, 1, 2, 6, 0x1f, 0x20, 0x8000_0003] {
            assert_eq!(EndpointFlags::from_bits(bits).bits(), bits);
        }
    }

    #[test]
    fn flags_display_like_iproute2() {
        let f = EndpointFlags {
            subflow: true,
            backup: true,
            ..Default::default()
        };
        assert_eq!(f.to_string(), "subflow backup");
        assert_eq!(EndpointFlags::from_bits(0x41).to_string(), "signal 0x40");
        assert_eq!(EndpointFlags::default().to_string(), "");
    }
}
