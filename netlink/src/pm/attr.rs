//! Attributes of `mptcp_pm` commands: the nested address set
//! (`MPTCP_PM_ADDR_ATTR_*`) and the top-level set (`MPTCP_PM_ATTR_*`).
//!
//! Encoding and decoding only; unknown attributes are kept as `Other`.
//! Nothing here may panic on kernel input: every value length is checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable, NLA_F_NESTED,
};

use super::constants::*;
use super::types::{Endpoint, EndpointFlags};

/// `AF_INET` / `AF_INET6` as the kernel's `u16` family attribute.
pub(crate) const AF_INET: u16 = libc::AF_INET as u16;
pub(crate) const AF_INET6: u16 = libc::AF_INET6 as u16;

/// One attribute of the nested address set (`MPTCP_PM_ADDR_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressAttr {
    Family(u16),
    Id(u8),
    Addr4(Ipv4Addr),
    Addr6(Ipv6Addr),
    /// Host byte order, here and on the wire: the kernel does `htons(nla_get_u16())`
    /// although the YAML spec says big-endian (iproute2 agrees with the kernel).
    Port(u16),
    Flags(u32),
    IfIdx(i32),
    Other(DefaultNla),
}

/// One top-level attribute (`MPTCP_PM_ATTR_*`, also `MPTCP_PM_ENDPOINT_ADDR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PmAttr {
    Addr(Vec<AddressAttr>),
    RcvAddAddrs(u32),
    Subflows(u32),
    Token(u32),
    LocId(u8),
    AddrRemote(Vec<AddressAttr>),
    Other(DefaultNla),
}

pub(crate) fn fixed<const N: usize>(what: &str, v: &[u8]) -> Result<[u8; N], DecodeError> {
    v.try_into().map_err(|_| {
        DecodeError::from(format!(
            "attribute {what}: expected {N} bytes, got {}",
            v.len()
        ))
    })
}

/// Parses every attribute of `buf`, failing on the first malformed one.
pub(crate) fn parse_all<T>(buf: &[u8]) -> Result<Vec<T>, DecodeError>
where
    T: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    NlasIterator::new(buf)
        .map(|nla| nla.and_then(|nla| T::parse(&nla)))
        .collect()
}

impl Nla for AddressAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Id(_) => 1,
            Self::Family(_) | Self::Port(_) => 2,
            Self::Addr4(_) | Self::Flags(_) | Self::IfIdx(_) => 4,
            Self::Addr6(_) => 16,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Family(_) => MPTCP_PM_ADDR_ATTR_FAMILY,
            Self::Id(_) => MPTCP_PM_ADDR_ATTR_ID,
            Self::Addr4(_) => MPTCP_PM_ADDR_ATTR_ADDR4,
            Self::Addr6(_) => MPTCP_PM_ADDR_ATTR_ADDR6,
            Self::Port(_) => MPTCP_PM_ADDR_ATTR_PORT,
            Self::Flags(_) => MPTCP_PM_ADDR_ATTR_FLAGS,
            Self::IfIdx(_) => MPTCP_PM_ADDR_ATTR_IF_IDX,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            Self::Family(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Self::Id(v) => buf[0] = *v,
            Self::Addr4(a) => buf.copy_from_slice(&a.octets()),
            Self::Addr6(a) => buf.copy_from_slice(&a.octets()),
            Self::Port(p) => buf.copy_from_slice(&p.to_ne_bytes()),
            Self::Flags(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Self::IfIdx(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Self::Other(nla) => nla.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for AddressAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            MPTCP_PM_ADDR_ATTR_FAMILY => Self::Family(u16::from_ne_bytes(fixed("family", v)?)),
            MPTCP_PM_ADDR_ATTR_ID => Self::Id(u8::from_ne_bytes(fixed("id", v)?)),
            MPTCP_PM_ADDR_ATTR_ADDR4 => Self::Addr4(Ipv4Addr::from(fixed::<4>("addr4", v)?)),
            MPTCP_PM_ADDR_ATTR_ADDR6 => Self::Addr6(Ipv6Addr::from(fixed::<16>("addr6", v)?)),
            MPTCP_PM_ADDR_ATTR_PORT => Self::Port(u16::from_ne_bytes(fixed("port", v)?)),
            MPTCP_PM_ADDR_ATTR_FLAGS => Self::Flags(u32::from_ne_bytes(fixed("flags", v)?)),
            MPTCP_PM_ADDR_ATTR_IF_IDX => Self::IfIdx(i32::from_ne_bytes(fixed("if-idx", v)?)),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// A nested attribute's value: the emitted list of its children.
fn emit_nested(attrs: &[AddressAttr], buf: &mut [u8]) {
    attrs.emit(buf)
}

impl Nla for PmAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Addr(a) | Self::AddrRemote(a) => a.as_slice().buffer_len(),
            Self::RcvAddAddrs(_) | Self::Subflows(_) | Self::Token(_) => 4,
            Self::LocId(_) => 1,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Addr(_) => MPTCP_PM_ATTR_ADDR | NLA_F_NESTED,
            Self::RcvAddAddrs(_) => MPTCP_PM_ATTR_RCV_ADD_ADDRS,
            Self::Subflows(_) => MPTCP_PM_ATTR_SUBFLOWS,
            Self::Token(_) => MPTCP_PM_ATTR_TOKEN,
            Self::LocId(_) => MPTCP_PM_ATTR_LOC_ID,
            Self::AddrRemote(_) => MPTCP_PM_ATTR_ADDR_REMOTE | NLA_F_NESTED,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            Self::Addr(a) | Self::AddrRemote(a) => emit_nested(a, buf),
            Self::RcvAddAddrs(v) | Self::Subflows(v) | Self::Token(v) => {
                buf.copy_from_slice(&v.to_ne_bytes())
            }
            Self::LocId(v) => buf[0] = *v,
            Self::Other(nla) => nla.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for PmAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        let u32_of = |what| fixed::<4>(what, v).map(u32::from_ne_bytes);
        Ok(match buf.kind() {
            MPTCP_PM_ATTR_ADDR => Self::Addr(parse_all(v)?),
            MPTCP_PM_ATTR_RCV_ADD_ADDRS => Self::RcvAddAddrs(u32_of("rcv-add-addrs")?),
            MPTCP_PM_ATTR_SUBFLOWS => Self::Subflows(u32_of("subflows")?),
            MPTCP_PM_ATTR_TOKEN => Self::Token(u32_of("token")?),
            MPTCP_PM_ATTR_LOC_ID => Self::LocId(u8::from_ne_bytes(fixed("loc-id", v)?)),
            MPTCP_PM_ATTR_ADDR_REMOTE => Self::AddrRemote(parse_all(v)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// What to put into a nested address attribute; `None` fields are left out.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AddrSpec {
    pub addr: Option<IpAddr>,
    pub id: Option<u8>,
    pub port: Option<u16>,
    pub ifindex: Option<u32>,
    pub flags: Option<u32>,
}

impl AddrSpec {
    pub(crate) fn to_attrs(self) -> Vec<AddressAttr> {
        let mut v = Vec::new();
        match self.addr {
            Some(IpAddr::V4(a)) => {
                v.push(AddressAttr::Family(AF_INET));
                v.push(AddressAttr::Addr4(a));
            }
            Some(IpAddr::V6(a)) => {
                v.push(AddressAttr::Family(AF_INET6));
                v.push(AddressAttr::Addr6(a));
            }
            None => {}
        }
        if let Some(id) = self.id {
            v.push(AddressAttr::Id(id));
        }
        if let Some(port) = self.port {
            v.push(AddressAttr::Port(port));
        }
        if let Some(flags) = self.flags {
            v.push(AddressAttr::Flags(flags));
        }
        if let Some(ifindex) = self.ifindex {
            // if-idx is s32 in the spec; interface indexes fit.
            v.push(AddressAttr::IfIdx(ifindex as i32));
        }
        v
    }
}

/// Builds an [`Endpoint`] from a nested address; the address itself is required.
pub(crate) fn endpoint_from_attrs(attrs: &[AddressAttr]) -> Result<Endpoint, DecodeError> {
    let mut addr = None;
    let mut id = 0;
    let mut port = None;
    let mut ifindex = None;
    let mut flags = EndpointFlags::default();
    for a in attrs {
        match a {
            AddressAttr::Addr4(a) => addr = Some(IpAddr::V4(*a)),
            AddressAttr::Addr6(a) => addr = Some(IpAddr::V6(*a)),
            AddressAttr::Id(v) => id = *v,
            AddressAttr::Port(p) if *p != 0 => port = Some(*p),
            AddressAttr::IfIdx(i) if *i > 0 => ifindex = Some(*i as u32),
            AddressAttr::Flags(f) => flags = EndpointFlags::from_bits(*f),
            _ => {}
        }
    }
    let addr = addr.ok_or_else(|| DecodeError::from("endpoint without address attribute"))?;
    Ok(Endpoint {
        id,
        addr,
        port,
        ifindex,
        flags,
    })
}
