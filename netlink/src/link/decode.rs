//! Translation of rtnetlink messages into [`LinkInfo`] / [`AddrInfo`].
//! Messages without the fields we need yield `None` rather than an error:
//! the kernel sends link messages for reasons we do not care about.

use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage,
};

use super::types::{AddrInfo, LinkInfo};

pub(crate) fn link_info(msg: &LinkMessage) -> Option<LinkInfo> {
    let name = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })?;
    let kind = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            NlLinkInfo::Kind(k) => Some(kind_name(k)),
            _ => None,
        }),
        _ => None,
    });
    let (rx_bytes, tx_bytes) = msg
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::Stats64(s) => Some((s.rx_bytes, s.tx_bytes)),
            _ => None,
        })
        .unwrap_or((0, 0));
    let flags = msg.header.flags;
    Some(LinkInfo {
        index: msg.header.index,
        name,
        admin_up: flags.contains(LinkFlags::Up),
        running: flags.contains(LinkFlags::Running) && flags.contains(LinkFlags::LowerUp),
        loopback: flags.contains(LinkFlags::Loopback),
        kind,
        rx_bytes,
        tx_bytes,
    })
}

fn kind_name(kind: &InfoKind) -> String {
    // InfoKind's Display prints the kernel's kind string ("veth", "wireguard", ...).
    kind.to_string()
}

pub(crate) fn link_name(msg: &LinkMessage) -> String {
    msg.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

pub(crate) fn addr_info(msg: &AddressMessage) -> Option<AddrInfo> {
    let mut local = None;
    let mut address = None;
    // The 32-bit IFA_FLAGS attribute supersedes the 8-bit header flags.
    let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    Some(AddrInfo {
        index: msg.header.index,
        addr: local.or(address)?,
        prefix_len: msg.header.prefix_len,
        tentative: flags.contains(AddressFlags::Tentative),
        deprecated: flags.contains(AddressFlags::Deprecated),
        dadfailed: flags.contains(AddressFlags::Dadfailed),
    })
}
