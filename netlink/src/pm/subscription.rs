//! The `mptcp_pm_events` subscription: a raw generic-netlink socket joined to
//! the multicast group, with a large receive buffer, yielding [`PmEvent`]s.
//!
//! `ENOBUFS` (the kernel dropped events because the buffer was full) is
//! reported once as [`PmError::Overflow`]; the stream then continues and the
//! caller resyncs from dumps.

use std::collections::VecDeque;
use std::os::fd::AsRawFd;

use netlink_sys::{protocols::NETLINK_GENERIC, Socket};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::constants::MPTCP_PM_EV_GRP_NAME;
use super::error::PmError;
use super::event::PmEvent;
use super::family::{lookup_family, PmFamily};
use super::handle::PmHandle;
use super::request_socket::RequestSocket;

/// Receive buffer asked for: 8 MiB lost no event at 10,000 connections.
pub const EVENT_RCVBUF: usize = 8 << 20;

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;

/// A live subscription to `mptcp_pm_events`.
pub struct PmEventStream {
    /// Not netlink-sys's `TokioSocket`: that waits for readability only,
    /// and an overflow with nothing queued raises only `EPOLLERR` — it
    /// would stall the stream (or need a poll timer that wakes an idle
    /// daemon every second). This waits for readable *or* error.
    socket: AsyncFd<Socket>,
    family_id: u16,
    pending: VecDeque<Result<PmEvent, PmError>>,
    closed: bool,
}

impl std::fmt::Debug for PmEventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PmEventStream")
            .field("family_id", &self.family_id)
            .field("pending", &self.pending.len())
            .finish()
    }
}

/// Subscribes to the multicast group `mptcp_pm_events` in the calling
/// thread's network namespace (group id looked up via nlctrl), socket receive
/// buffer 8 MiB (`SO_RCVBUFFORCE`, fallback `SO_RCVBUF`). Needs `CAP_NET_ADMIN`.
/// Like `ip mptcp monitor`.
pub async fn subscribe_events() -> Result<PmEventStream, PmError> {
    subscribe_events_with_rcvbuf(EVENT_RCVBUF).await
}

/// [`subscribe_events`] with another receive buffer size (bytes); small ones
/// make `ENOBUFS` easy to provoke in tests.
pub async fn subscribe_events_with_rcvbuf(rcvbuf: usize) -> Result<PmEventStream, PmError> {
    let family = lookup_family(&RequestSocket::open()?)?;
    PmEventStream::open(&family, rcvbuf)
}

impl PmHandle {
    /// [`subscribe_events`] reusing this handle's family lookup.
    pub fn subscribe_events(&self) -> Result<PmEventStream, PmError> {
        self.subscribe_events_with_rcvbuf(EVENT_RCVBUF)
    }

    /// [`subscribe_events_with_rcvbuf`] reusing this handle's family lookup
    /// (no second nlctrl round trip).
    pub fn subscribe_events_with_rcvbuf(&self, rcvbuf: usize) -> Result<PmEventStream, PmError> {
        PmEventStream::open(self.family(), rcvbuf)
    }
}

impl PmEventStream {
    fn open(family: &PmFamily, rcvbuf: usize) -> Result<Self, PmError> {
        let group = *family
            .groups
            .get(MPTCP_PM_EV_GRP_NAME)
            .ok_or(PmError::FamilyNotFound)?;
        let mut socket = Socket::new(NETLINK_GENERIC)?;
        if let Err(e) = crate::sockopt::set_rcvbuf(socket.as_raw_fd(), rcvbuf) {
            tracing::warn!(target: "mptcp_pm", "cannot enlarge event socket buffer: {e}");
        }
        // bind before joining the group, or nothing arrives
        socket.bind_auto()?;
        socket.add_membership(group)?;
        socket.set_non_blocking(true)?;
        // SAFETY: the socket owns its fd, which stays open until the
        // `AsyncFd` (which owns the socket) drops it.
        let socket = unsafe {
            AsyncFd::register_with_interest(socket, Interest::READABLE | Interest::ERROR)
        }
        .map_err(std::io::Error::from)?;
        Ok(Self {
            socket,
            family_id: family.id,
            pending: VecDeque::new(),
            closed: false,
        })
    }

    /// Discards every event already queued (decoded or still in the
    /// socket) and returns how many messages were dropped. Call it after an
    /// `Overflow`, before reading the state from dumps: the kernel reports
    /// `ENOBUFS` *before* the older events still in the queue, and those
    /// (a `created` whose `closed` was lost, say) would otherwise be
    /// applied on top of the fresher dump.
    pub fn drain(&mut self) -> usize {
        let mut dropped = self.pending.len();
        self.pending.clear();
        loop {
            match self.socket.get_ref().recv_from_full() {
                Ok((buf, _)) => {
                    let mut out = VecDeque::new();
                    decode_datagram(self.family_id, &buf, &mut out);
                    dropped += out.len();
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // WouldBlock: empty; ENOBUFS again: keep draining
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(_) => return dropped,
            }
        }
    }

    /// The next event; `Err(PmError::Overflow)` when events were lost
    /// (resync, then keep reading), `None` once the socket failed for good.
    /// Needs a tokio runtime with time enabled.
    pub async fn next(&mut self) -> Option<Result<PmEvent, PmError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.closed {
                return None;
            }
            #[cfg(feature = "fault-injection")]
            if super::faults::event_storm().is_some() {
                return Some(Err(PmError::Overflow));
            }
            let received = match self
                .socket
                .ready(Interest::READABLE | Interest::ERROR)
                .await
            {
                Ok(mut ready) => match ready.try_io(|fd| fd.get_ref().recv_from_full()) {
                    Ok(r) => r,
                    // Spurious: the readiness is cleared, wait again.
                    Err(_would_block) => continue,
                },
                Err(e) => Err(e),
            };
            match received {
                Ok((buf, _)) => {
                    #[cfg(feature = "fault-injection")]
                    if let Some(fault) = self.injected() {
                        return Some(fault);
                    }
                    decode_datagram(self.family_id, &buf, &mut self.pending)
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Some(Err(PmError::Overflow))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.closed = true;
                    return Some(Err(PmError::Io(e)));
                }
            }
        }
    }
}

#[cfg(feature = "fault-injection")]
impl PmEventStream {
    /// Test builds only (see `faults.rs`): the datagram just read is lost
    /// to an injected overflow, or the socket fails as if closed under us.
    fn injected(&mut self) -> Option<Result<PmEvent, PmError>> {
        Some(match super::faults::for_event_datagram()? {
            super::faults::EventFault::Overflow => Err(PmError::Overflow),
            super::faults::EventFault::Close => {
                self.closed = true;
                Err(PmError::Io(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "event socket closed (injected by MPTCP_POLICYD_FAULTS)",
                )))
            }
        })
    }
}

/// Decodes one datagram read from the `mptcp_pm_events` socket: its
/// netlink messages of the family `family_id` (the others are skipped),
/// each an event or a decode error; a broken message length ends it with
/// an error. What [`PmEventStream::next`] does with every datagram; pure.
pub fn decode_event_datagram(family_id: u16, buf: &[u8]) -> Vec<Result<PmEvent, PmError>> {
    let mut out = VecDeque::new();
    decode_datagram(family_id, buf, &mut out);
    out.into()
}

/// Splits one datagram into netlink messages and decodes those of `family_id`.
pub(crate) fn decode_datagram(
    family_id: u16,
    buf: &[u8],
    out: &mut VecDeque<Result<PmEvent, PmError>>,
) {
    let mut rest = buf;
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if len < NLMSG_HDRLEN || len > rest.len() {
            out.push_back(Err(PmError::Decode(format!(
                "netlink message length {len} with {} bytes left",
                rest.len()
            ))));
            return;
        }
        let payload = &rest[NLMSG_HDRLEN..len];
        if kind == family_id {
            out.push_back(match payload {
                [cmd, _version, _, _, attrs @ ..] => {
                    PmEvent::decode(*cmd, attrs).map_err(Into::into)
                }
                _ => Err(PmError::Decode(format!(
                    "genl message of {} bytes, header is {GENL_HDRLEN}",
                    payload.len()
                ))),
            });
        }
        let next = (len + 3) & !3;
        rest = rest.get(next..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pm::event::PmEventKind;

    fn msg(kind: u16, cmd: u8, attrs: &[u8]) -> Vec<u8> {
        let len = NLMSG_HDRLEN + GENL_HDRLEN + attrs.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u32).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(&[0; 10]);
        v.extend_from_slice(&[cmd, 1, 0, 0]);
        v.extend_from_slice(attrs);
        v
    }

    #[test]
    fn datagram_with_two_events_and_a_foreign_message() {
        let token = [8u8, 0, 1, 0, 1, 0, 0, 0];
        let buf = [msg(30, 1, &token), msg(2, 0, &[]), msg(30, 3, &token)].concat();
        let mut out = VecDeque::new();
        decode_datagram(30, &buf, &mut out);
        let evs: Vec<_> = out.into_iter().map(|r| r.expect("event")).collect();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].kind, PmEventKind::Created);
        assert_eq!(evs[1].kind, PmEventKind::Closed);
        assert_eq!(evs[1].token, Some(1));
    }

    #[test]
    fn truncated_datagrams_give_decode_errors() {
        let buf = msg(30, 1, &[8u8, 0, 1, 0, 1, 0, 0, 0]);
        for cut in 0..buf.len() {
            let mut out = VecDeque::new();
            decode_datagram(30, &buf[..cut], &mut out);
            assert!(out.iter().all(|r| r.is_err()), "cut {cut}");
        }
    }
}
