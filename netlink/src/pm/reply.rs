//! Decoding of `mptcp_pm` replies: raw netlink datagrams into
//! [`PmMessage`]s, and replies into endpoints and limits. Pure functions
//! over bytes and messages; [`super::PmHandle`] uses the message-level
//! ones after its request socket has split the datagrams.

use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::GenlMessage;

use super::attr::{endpoint_from_attrs, PmAttr};
use super::error::{kernel_error, PmError};
use super::message::PmMessage;
use super::types::{Endpoint, Limits};

const NLMSG_HDRLEN: usize = 16;

/// Decodes one datagram of replies as the request socket does:
/// every netlink message into a [`PmMessage`]; an error message with a
/// non-zero code becomes [`PmError::Kernel`], ACKs and `DONE` are skipped.
pub fn decode_reply_datagram(buf: &[u8]) -> Result<Vec<PmMessage>, PmError> {
    let mut out = Vec::new();
    for one in split_datagram(buf) {
        let (_, one) = one?;
        let msg = NetlinkMessage::<GenlMessage<PmMessage>>::deserialize(one)
            .map_err(|e| PmError::Decode(e.to_string()))?;
        match msg.payload {
            NetlinkPayload::InnerMessage(genl) => out.push(genl.payload),
            NetlinkPayload::Error(e) if e.code.is_some() => {
                return Err(kernel_error("reply", &msg.header, &e));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The netlink messages of one datagram, each with its sequence number
/// (the request socket's walk; the fuzz target runs it through
/// [`decode_reply_datagram`]). A malformed header ends the walk with an error.
pub(super) fn split_datagram(buf: &[u8]) -> impl Iterator<Item = Result<(u32, &[u8]), PmError>> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let nl = match NetlinkBuffer::new_checked(rest) {
            Ok(nl) => nl,
            Err(e) => {
                rest = &[];
                return Some(Err(PmError::Decode(e.to_string())));
            }
        };
        let len = (nl.length() as usize).max(NLMSG_HDRLEN);
        let seq = nl.sequence_number();
        let one = rest.get(..len).unwrap_or(rest);
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
        Some(Ok((seq, one)))
    })
}

/// The endpoint of one `get-addr` reply, `None` when it has no address.
pub fn endpoint_of(msg: &PmMessage) -> Option<Result<Endpoint, PmError>> {
    msg.attrs.iter().find_map(|a| match a {
        PmAttr::Addr(attrs) => Some(endpoint_from_attrs(attrs).map_err(PmError::from)),
        _ => None,
    })
}

/// The limits of a `get-limits` reply; both must be present.
pub fn limits_of(replies: &[PmMessage]) -> Result<Limits, PmError> {
    let (mut subflows, mut accepted) = (None, None);
    for a in replies.iter().flat_map(|m| m.attrs.iter()) {
        match a {
            PmAttr::Subflows(v) => subflows = Some(*v),
            PmAttr::RcvAddAddrs(v) => accepted = Some(*v),
            _ => {}
        }
    }
    match (subflows, accepted) {
        (Some(subflows), Some(add_addr_accepted)) => Ok(Limits {
            subflows,
            add_addr_accepted,
        }),
        _ => Err(PmError::Decode("get-limits reply incomplete".into())),
    }
}
