//! Translation of rtnetlink messages into [`LinkInfo`] / [`AddrInfo`].
//! Messages without the fields we need yield `None` rather than an error:
//! the kernel sends link messages for reasons we do not care about.

use std::time::Instant;

use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage,
};

use netlink_packet_route::RouteNetlinkMessage;

use super::types::{AddrInfo, LinkEvent, LinkInfo};

const NLMSG_HDRLEN: usize = 16;

/// Decodes one rtnetlink datagram (a dump reply or notifications) as the
/// watch does: every message, parsed like the `rtnetlink` connection
/// parses it, turned into the [`LinkEvent`] the watch would hand out
/// (`at` is their time); messages the watch skips give nothing. An error
/// names the first message that does not parse.
pub fn decode_route_datagram(buf: &[u8], at: Instant) -> Result<Vec<LinkEvent>, String> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let nl = NetlinkBuffer::new_checked(rest).map_err(|e| e.to_string())?;
        let len = (nl.length() as usize).max(NLMSG_HDRLEN);
        let one = rest.get(..len).unwrap_or(rest);
        let msg =
            NetlinkMessage::<RouteNetlinkMessage>::deserialize(one).map_err(|e| e.to_string())?;
        out.extend(translate(msg.payload, at));
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
    }
    Ok(out)
}

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

/// One message of the watch's socket as the event it stands for.
pub(crate) fn translate(
    payload: NetlinkPayload<RouteNetlinkMessage>,
    at: Instant,
) -> Option<LinkEvent> {
    match payload {
        NetlinkPayload::Overrun(_) => Some(LinkEvent::Overflow { at }),
        NetlinkPayload::InnerMessage(msg) => match msg {
            RouteNetlinkMessage::NewLink(m) => {
                link_info(&m).map(|link| LinkEvent::Link { link, at })
            }
            RouteNetlinkMessage::DelLink(m) => Some(LinkEvent::LinkRemoved {
                index: m.header.index,
                name: link_name(&m),
                at,
            }),
            RouteNetlinkMessage::NewAddress(m) => {
                addr_info(&m).map(|addr| LinkEvent::Addr { addr, at })
            }
            RouteNetlinkMessage::DelAddress(m) => {
                addr_info(&m).map(|addr| LinkEvent::AddrRemoved { addr, at })
            }
            _ => None,
        },
        _ => None,
    }
}
