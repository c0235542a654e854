//! Decoding of one `inet_diag_msg` of a subflow dump: the fixed header,
//! `tcp_info`, the MPTCP ULP info. Pure functions over bytes (no socket
//! here), so the fuzz target and tests reach them directly.

use std::net::{IpAddr, SocketAddr};

use netlink_packet_core::NlasIterator;
use netlink_packet_sock_diag::inet::InetResponseHeader;

use super::tcp_info::TcpInfo;
use super::{
    flags, DiagError, SubflowDiag, INET_DIAG_CGROUP_ID, INET_DIAG_INFO, INET_DIAG_MARK,
    INET_DIAG_MSG_LEN, INET_DIAG_ULP_INFO, INET_ULP_INFO_MPTCP, INET_ULP_INFO_NAME,
    MPTCP_SUBFLOW_ATTR_FLAGS, MPTCP_SUBFLOW_ATTR_ID_LOC, MPTCP_SUBFLOW_ATTR_ID_REM,
    MPTCP_SUBFLOW_ATTR_TOKEN_LOC, MPTCP_SUBFLOW_ATTR_TOKEN_REM,
};

/// Decodes the payload of one `SOCK_DIAG_BY_FAMILY` reply message (an
/// `inet_diag_msg` and its attributes, after the netlink header): `Some`
/// for an MPTCP subflow, `None` for any other TCP socket, an error when the
/// fixed header is short. What [`super::DiagSocket::dump_subflows`] does
/// with each message of the dump.
pub fn decode_inet_msg(payload: &[u8]) -> Result<Option<SubflowDiag>, DiagError> {
    parse_inet_msg(payload, &mut Seen::default())
}

/// What the dump saw, for the `CAP_NET_ADMIN` check.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) sockets: usize,
    pub(super) with_mark: usize,
}

pub(super) fn i32_at(b: &[u8]) -> i32 {
    b.get(..4)
        .and_then(|s| s.try_into().ok())
        .map(i32::from_ne_bytes)
        .unwrap_or(0)
}

fn u32_attr(b: &[u8]) -> Option<u32> {
    b.get(..4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_ne_bytes)
}

/// Decodes one `inet_diag_msg` + attributes; `Some` only for MPTCP subflows.
pub(super) fn parse_inet_msg(
    payload: &[u8],
    seen: &mut Seen,
) -> Result<Option<SubflowDiag>, DiagError> {
    use netlink_packet_core::Parseable;
    if payload.len() < INET_DIAG_MSG_LEN {
        return Err(DiagError::Decode(format!(
            "inet_diag_msg of {} bytes, want {INET_DIAG_MSG_LEN}",
            payload.len()
        )));
    }
    let hdr = InetResponseHeader::parse(&payload[..INET_DIAG_MSG_LEN])
        .map_err(|e| DiagError::Decode(e.to_string()))?;
    seen.sockets += 1;

    let mut tcp = TcpInfo::default();
    let mut mptcp: Option<MptcpInfo> = None;
    let mut cgroup_id = None;
    // Attributes one by one; an undecodable tail ends the walk (the fixed
    // header and what was decoded so far stay valid).
    for nla in NlasIterator::new(&payload[INET_DIAG_MSG_LEN..]) {
        let Ok(nla) = nla else { break };
        match nla.kind() {
            INET_DIAG_INFO => tcp = TcpInfo::parse(nla.value()),
            INET_DIAG_MARK => seen.with_mark += 1,
            INET_DIAG_ULP_INFO => mptcp = parse_ulp(nla.value()),
            INET_DIAG_CGROUP_ID => {
                cgroup_id = nla
                    .value()
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_ne_bytes)
            }
            _ => {}
        }
    }
    let Some(m) = mptcp else { return Ok(None) };

    let id = &hdr.socket_id;
    let c = &id.cookie;
    let cookie = u64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        | (u64::from(u32::from_ne_bytes([c[4], c[5], c[6], c[7]])) << 32);
    let canon = |ip: IpAddr| ip.to_canonical();
    Ok(Some(SubflowDiag {
        local: SocketAddr::new(canon(id.source_address), id.source_port),
        remote: SocketAddr::new(canon(id.destination_address), id.destination_port),
        ifindex: (id.interface_id != 0).then_some(id.interface_id),
        state: hdr.state,
        family: hdr.family,
        token: m.token_loc,
        remote_token: m.token_rem.filter(|&t| t != 0),
        local_id: m.id_loc,
        remote_id: m.id_rem,
        flags: m.flags.unwrap_or(0),
        backup_local: m.flags.unwrap_or(0) & flags::BKUP_LOC != 0,
        backup_remote: m.flags.unwrap_or(0) & flags::BKUP_REM != 0,
        bytes_acked: tcp.bytes_acked,
        bytes_received: tcp.bytes_received,
        bytes_sent: tcp.bytes_sent,
        unacked: tcp.unacked,
        last_ack_recv_ms: tcp.last_ack_recv_ms,
        last_data_recv_ms: tcp.last_data_recv_ms,
        last_data_sent_ms: tcp.last_data_sent_ms,
        rtt_us: tcp.rtt_us,
        rttvar_us: tcp.rttvar_us,
        rto_us: tcp.rto_us,
        retransmits: tcp.retransmits,
        backoff: tcp.backoff,
        total_retrans: tcp.total_retrans,
        rcv_rtt_us: tcp.rcv_rtt_us,
        min_rtt_us: tcp.min_rtt_us,
        data_segs_in: tcp.data_segs_in,
        data_segs_out: tcp.data_segs_out,
        rcv_ooopack: tcp.rcv_ooopack,
        tcp_info_len: tcp.len,
        cookie,
        uid: hdr.uid,
        cgroup_id,
    }))
}

#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct MptcpInfo {
    pub(super) token_loc: Option<u32>,
    pub(super) token_rem: Option<u32>,
    pub(super) id_loc: Option<u8>,
    pub(super) id_rem: Option<u8>,
    pub(super) flags: Option<u32>,
}

/// `INET_DIAG_ULP_INFO`: `Some` when the ULP is `mptcp` (MPTCP info may be
/// empty, e.g. on a listener), `None` for any other ULP (`tls`, ...).
pub(super) fn parse_ulp(b: &[u8]) -> Option<MptcpInfo> {
    let mut is_mptcp = false;
    let mut info = MptcpInfo::default();
    for nla in NlasIterator::new(b) {
        let Ok(nla) = nla else { break };
        match nla.kind() {
            INET_ULP_INFO_NAME => {
                let v = nla.value();
                let name = v.split(|&c| c == 0).next().unwrap_or_default();
                is_mptcp = name == b"mptcp";
            }
            INET_ULP_INFO_MPTCP => {
                for a in NlasIterator::new(nla.value()) {
                    let Ok(a) = a else { break };
                    let v = a.value();
                    match a.kind() {
                        MPTCP_SUBFLOW_ATTR_TOKEN_LOC => info.token_loc = u32_attr(v),
                        MPTCP_SUBFLOW_ATTR_TOKEN_REM => info.token_rem = u32_attr(v),
                        MPTCP_SUBFLOW_ATTR_FLAGS => info.flags = u32_attr(v),
                        MPTCP_SUBFLOW_ATTR_ID_LOC => info.id_loc = v.first().copied(),
                        MPTCP_SUBFLOW_ATTR_ID_REM => info.id_rem = v.first().copied(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    is_mptcp.then_some(info)
}
