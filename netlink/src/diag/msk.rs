//! The MPTCP sockets themselves (`IPPROTO_MPTCP`, `net/mptcp/mptcp_diag.c`):
//! which connections exist right now, by token. A subflow dump alone cannot
//! tell: a subflow may stay `ESTABLISHED` for a moment after its connection
//! was closed and its token freed.
//!
//! The protocol number 262 does not fit `inet_diag_req_v2.sdiag_protocol`
//! (a byte): the kernel takes it from the `INET_DIAG_REQ_PROTOCOL` request
//! attribute (Linux ≥ 5.9), which `netlink-packet-sock-diag` cannot emit —
//! so the attribute is appended to the serialized request by hand.

use std::collections::BTreeSet;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NlasIterator, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, AF_INET6};

use super::{DiagError, DiagSocket, INET_DIAG_INFO, INET_DIAG_MSG_LEN};

const INET_DIAG_REQ_PROTOCOL: u16 = 3;
const IPPROTO_MPTCP: u32 = 262;
/// `struct mptcp_info`: six `__u8`, two bytes of padding, `mptcpi_flags`,
/// then `mptcpi_token`.
const MPTCP_INFO_TOKEN_OFFSET: usize = 12;

impl DiagSocket {
    /// Tokens of the MPTCP connections that are open now (not yet closed
    /// by this side), IPv4 and IPv6 sockets.
    pub fn connection_tokens(&mut self) -> Result<BTreeSet<u32>, DiagError> {
        let mut tokens = BTreeSet::new();
        self.msk_dump(AF_INET, &mut tokens)?;
        match self.msk_dump(AF_INET6, &mut tokens) {
            Err(DiagError::Kernel { errno, .. }) if errno == libc::ENOENT => {}
            r => r?,
        }
        Ok(tokens)
    }

    fn msk_dump(&mut self, family: u8, tokens: &mut BTreeSet<u32>) -> Result<(), DiagError> {
        let fam_name = if family == AF_INET { "IPv4" } else { "IPv6" };
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | NLM_F_DUMP;
        hdr.sequence_number = seq;
        let mut msg = NetlinkMessage::new(
            hdr,
            SockDiagMessage::InetRequest(InetRequest {
                family,
                // the real protocol goes in INET_DIAG_REQ_PROTOCOL below
                protocol: 0,
                extensions: ExtensionFlags::INFO,
                // Open connections only: once closed by us (FIN_WAIT*,
                // CLOSING, LAST_ACK, ...) the kernel has already sent
                // `closed` and freed the token, though the socket lingers.
                states: StateFlags::ESTABLISHED
                    | StateFlags::SYN_SENT
                    | StateFlags::SYN_RECV
                    | StateFlags::CLOSE_WAIT,
                socket_id: if family == AF_INET {
                    SocketId::new_v4()
                } else {
                    SocketId::new_v6()
                },
            })
            .into(),
        );
        msg.finalize();
        let mut req = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut req);
        req.extend_from_slice(&8u16.to_ne_bytes());
        req.extend_from_slice(&INET_DIAG_REQ_PROTOCOL.to_ne_bytes());
        req.extend_from_slice(&IPPROTO_MPTCP.to_ne_bytes());
        let len = req.len() as u32;
        req[..4].copy_from_slice(&len.to_ne_bytes());
        self.sock.send(&req, 0)?;
        self.read_replies(seq, fam_name, true, |payload| {
            if let Some(t) = decode_msk_token(payload) {
                tokens.insert(t);
            }
            Ok(())
        })
    }
}

/// The token of one `inet_diag_msg` of an MPTCP socket (`INET_DIAG_INFO`
/// holds a `struct mptcp_info`); `None` without it (no `CAP_NET_ADMIN` is
/// not needed for this one) or when it is 0 (not yet assigned).
pub fn decode_msk_token(payload: &[u8]) -> Option<u32> {
    let attrs = payload.get(INET_DIAG_MSG_LEN..)?;
    NlasIterator::new(attrs).find_map(|nla| {
        let nla = nla.ok()?;
        if nla.kind() != INET_DIAG_INFO {
            return None;
        }
        let b = nla
            .value()
            .get(MPTCP_INFO_TOKEN_OFFSET..MPTCP_INFO_TOKEN_OFFSET + 4)?;
        let t = u32::from_ne_bytes(b.try_into().ok()?);
        (t != 0).then_some(t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_from_mptcp_info() {
        let mut payload = vec![0u8; INET_DIAG_MSG_LEN];
        let mut info = vec![0u8; 32];
        info[MPTCP_INFO_TOKEN_OFFSET..MPTCP_INFO_TOKEN_OFFSET + 4]
            .copy_from_slice(&0x2420c91u32.to_ne_bytes());
        payload.extend_from_slice(&((4 + info.len()) as u16).to_ne_bytes());
        payload.extend_from_slice(&INET_DIAG_INFO.to_ne_bytes());
        payload.extend_from_slice(&info);
        assert_eq!(decode_msk_token(&payload), Some(0x2420c91));
        assert_eq!(decode_msk_token(&payload[..INET_DIAG_MSG_LEN]), None);
        assert_eq!(decode_msk_token(&[0u8; 10]), None);
    }
}
