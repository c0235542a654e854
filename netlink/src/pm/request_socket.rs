//! The command socket of [`super::PmHandle`]: a plain generic-netlink
//! socket, one request and its replies in the calling thread.
//!
//! Written by hand instead of `genetlink`'s connection task because the
//! kernel answers a `mptcp_pm` or `nlctrl` command inside `sendto`: the
//! answer is queued before `recv` is called, so a task that waits for the
//! socket to become readable only adds a task hop, a channel and three
//! syscalls per command (`epoll_wait`, an empty `recvfrom`, `epoll_wait`).
//! Every endpoint command of a reaction to a link going away pays that, and
//! so does each of the start's requests. A receive timeout bounds a kernel
//! that never answers (the task waited for ever).

use std::fmt::Debug;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::time::Duration;

use netlink_packet_core::{
    NetlinkDeserializable, NetlinkMessage, NetlinkPayload, NetlinkSerializable, NLM_F_ACK,
    NLM_F_DUMP,
};
use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::{Socket, SocketAddr};

use super::error::PmError;
use super::reply::split_datagram;

/// How long a command may go unanswered.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Receive buffer: a dump of the kernel's eight endpoints is ~600 bytes.
const RECV_BUF: usize = 16 * 1024;

/// One generic-netlink socket for requests; shared by clones of a handle.
#[derive(Debug)]
pub(crate) struct RequestSocket {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl RequestSocket {
    /// Opens the socket in the calling thread's network namespace, with
    /// extended acks (kernel errors carry their text).
    pub(crate) fn open() -> Result<RequestSocket, PmError> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        sock.set_ext_ack(true)?;
        crate::sockopt::set_rcvtimeo(sock.as_raw_fd(), REPLY_TIMEOUT)?;
        Ok(RequestSocket {
            inner: Mutex::new(Inner {
                sock,
                seq: 0,
                buf: Vec::with_capacity(RECV_BUF),
            }),
        })
    }

    /// Sends `msg` (its flags set by the caller; `NLM_F_ACK` or
    /// `NLM_F_DUMP` needed, so that the answer has an end) and returns its
    /// replies in order, the last one the ACK, the error or `DONE`.
    pub(crate) fn request<T>(
        &self,
        mut msg: NetlinkMessage<T>,
    ) -> Result<Vec<NetlinkMessage<T>>, PmError>
    where
        T: NetlinkSerializable + NetlinkDeserializable + Debug,
    {
        let flags = msg.header.flags;
        debug_assert!(
            flags & (NLM_F_ACK | NLM_F_DUMP) != 0,
            "a request without an end"
        );
        // A poisoned lock only means another thread panicked mid-request:
        // the socket itself is still usable (stale replies are skipped).
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.seq = inner.seq.wrapping_add(1);
        let seq = inner.seq;
        msg.header.sequence_number = seq;
        msg.finalize();
        let mut out = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut out);
        inner.sock.send(&out, 0)?;
        let mut replies = Vec::new();
        loop {
            let Inner { sock, buf, .. } = &mut *inner;
            buf.clear();
            match sock.recv(buf, 0) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(PmError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no answer from the kernel in {} s", REPLY_TIMEOUT.as_secs()),
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            for one in split_datagram(buf) {
                let (reply_seq, one) = one?;
                if reply_seq != seq {
                    // The late answer to a request that timed out.
                    continue;
                }
                let reply = NetlinkMessage::<T>::deserialize(one)
                    .map_err(|e| PmError::Decode(e.to_string()))?;
                let last = matches!(
                    reply.payload,
                    NetlinkPayload::Error(_) | NetlinkPayload::Done(_)
                );
                replies.push(reply);
                if last {
                    return Ok(replies);
                }
            }
        }
    }
}
