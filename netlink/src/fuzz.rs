//! Bodies of the fuzz targets of this crate, as plain functions: the
//! libFuzzer harness in `fuzz/` calls them with random bytes, and
//! `tests/fuzz_corpus.rs` runs them over every file of `fuzz/corpus/` in
//! `cargo test` (stable). Input is one raw datagram as the kernel sends it
//! (seeds were recorded from a real kernel, `scripts/fuzz-capture.sh`).
//! They panic on a broken invariant and only then. No I/O here.

use std::time::Instant;

use netlink_packet_core::{
    DefaultNla, Emitable, NetlinkBuffer, Nla, ParseableParametrized, NLA_F_NESTED,
    NLA_F_NET_BYTEORDER,
};
use netlink_packet_generic::GenlHeader;

use crate::diag::{decode_inet_msg, decode_msk_token, TcpInfo};
use crate::link::decode_route_datagram;
use crate::pm::constants::MPTCP_PM_VER;
use crate::pm::{
    decode_event_datagram, decode_reply_datagram, endpoint_of, limits_of, AddressAttr, PmAttr,
    PmMessage,
};

const SOCK_DIAG_BY_FAMILY: u16 = 20;

/// Target `pm_event`: a datagram of the `mptcp_pm_events` group, the
/// family id taken from its first message (as if it were `mptcp_pm`'s).
pub fn pm_event(data: &[u8]) {
    let family = data
        .get(4..6)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        .unwrap_or(0);
    for ev in decode_event_datagram(family, data).into_iter().flatten() {
        let _ = (ev.kind.name(), format!("{ev:?}"));
    }
}

/// Target `pm_reply`: a datagram of `mptcp_pm` replies (endpoint dumps,
/// `get-limits`, errors). Every decoded message emits and re-parses to
/// itself; endpoints and limits are read from it as the handle does.
pub fn pm_reply(data: &[u8]) {
    let Ok(replies) = decode_reply_datagram(data) else {
        return;
    };
    for msg in &replies {
        let _ = endpoint_of(msg).map(|r| r.map(|ep| ep.to_string()));
        if msg.attrs.iter().any(has_both_nla_flags) {
            // netlink-packet-core 0.9 drops NLA_F_NET_BYTEORDER when it
            // emits an attribute that also has NLA_F_NESTED (fixed upstream:
            // rust-netlink/netlink-packet-core#53). The kernel never sends
            // both, and the daemon never re-emits a reply.
            continue;
        }
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        let header = GenlHeader {
            cmd: msg.cmd,
            version: MPTCP_PM_VER,
        };
        match PmMessage::parse_with_param(&buf, header) {
            Ok(again) => assert_eq!(&again, msg, "emit + parse changed the message"),
            Err(e) => panic!("{msg:?} emitted as bytes it cannot parse: {e}"),
        }
    }
    let _ = limits_of(&replies);
}

/// Target `rtnetlink`: a datagram of link/address dump replies or
/// notifications, through the watch's decoding.
pub fn rtnetlink(data: &[u8]) {
    if let Ok(events) = decode_route_datagram(data, Instant::now()) {
        let _ = format!("{events:?}");
    }
}

/// Target `inet_diag`: a datagram of a `sock_diag` dump (subflows or MPTCP
/// sockets): each `SOCK_DIAG_BY_FAMILY` message through the subflow and
/// the token decoders; the whole input also as a bare `tcp_info`.
pub fn inet_diag(data: &[u8]) {
    let _ = TcpInfo::parse(data);
    let mut rest = data;
    while let Ok(nl) = NetlinkBuffer::new_checked(rest) {
        let len = nl.length() as usize;
        if nl.message_type() == SOCK_DIAG_BY_FAMILY {
            let payload = nl.payload();
            if let Ok(Some(s)) = decode_inet_msg(payload) {
                let _ = (s.is_join(), format!("{s:?}"));
            }
            let _ = decode_msk_token(payload);
        }
        match rest.get((len + 3) & !3..) {
            Some(r) if len > 0 && !r.is_empty() => rest = r,
            _ => break,
        }
    }
}

/// An unknown attribute (at the top or in an address) whose type carries
/// both `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`.
fn has_both_nla_flags(a: &PmAttr) -> bool {
    const BOTH: u16 = NLA_F_NESTED | NLA_F_NET_BYTEORDER;
    let other = |o: &DefaultNla| o.kind() & BOTH == BOTH;
    match a {
        PmAttr::Other(o) => other(o),
        PmAttr::Addr(v) | PmAttr::AddrRemote(v) => v.iter().any(|x| match x {
            AddressAttr::Other(o) => other(o),
            _ => false,
        }),
        _ => false,
    }
}
