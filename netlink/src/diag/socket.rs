//! The `NETLINK_SOCK_DIAG` socket: requests and dumps (the I/O); the
//! messages it reads are decoded by `decode.rs`, `msk.rs` and `tcp_info.rs`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr as NlAddr};

use super::decode::{i32_at, parse_inet_msg, Seen};
use super::{
    DiagError, SubflowDiag, NLMSG_DONE, NLMSG_ERROR, RECV_BUF, RECV_TIMEOUT, SOCK_DIAG_BY_FAMILY,
};

/// A `NETLINK_SOCK_DIAG` socket in the namespace of the thread that opened
/// it; reuse it for polling (one socket, one dump per family per call).
pub struct DiagSocket {
    // pub(super): msk.rs adds the MPTCP-socket dump on the same socket.
    pub(super) sock: Socket,
    pub(super) seq: u32,
    pub(super) buf: Vec<u8>,
}

impl std::fmt::Debug for DiagSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagSocket")
            .field("fd", &self.sock.as_raw_fd())
            .field("seq", &self.seq)
            .finish()
    }
}

impl DiagSocket {
    /// Opens a sock_diag socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, DiagError> {
        let mut sock = Socket::new(NETLINK_SOCK_DIAG)?;
        sock.bind_auto()?;
        sock.connect(&NlAddr::new(0, 0))?;
        crate::sockopt::set_rcvtimeo(sock.as_raw_fd(), RECV_TIMEOUT)?;
        Ok(Self {
            sock,
            seq: 0,
            // Received into as spare capacity: pages a reply never reaches
            // are never touched (a zeroed buffer was 64 KiB resident per socket).
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// Dumps the MPTCP subflows (IPv4 then IPv6 TCP sockets with the `mptcp`
    /// ULP). Blocking: one round of netlink messages per family.
    pub fn dump_subflows(&mut self) -> Result<Vec<SubflowDiag>, DiagError> {
        let mut out = Vec::new();
        let mut seen = Seen::default();
        self.dump_family(AF_INET, &mut out, &mut seen)?;
        match self.dump_family(AF_INET6, &mut out, &mut seen) {
            // no IPv6 in this kernel: no IPv6 sockets either
            Err(DiagError::Kernel { errno, .. }) if errno == libc::ENOENT => {}
            r => r?,
        }
        if seen.sockets > 0 && seen.with_mark == 0 {
            return Err(DiagError::NotPermitted);
        }
        Ok(out)
    }

    /// Re-reads one subflow known from a dump, by its 4-tuple, bound device
    /// and cookie: a hash lookup in the kernel (tens of µs) instead of a walk
    /// of the whole TCP hash table (~0.4 ms per family on this machine,
    /// however few sockets there are) — for polling a few subflows often.
    /// `Ok(None)` when the socket is gone (or the 4-tuple was reused by
    /// another socket: the cookie differs) or is no longer an MPTCP subflow.
    pub fn query(&mut self, sub: &SubflowDiag) -> Result<Option<SubflowDiag>, DiagError> {
        let as_family = |ip: IpAddr| match (sub.family, ip) {
            (AF_INET6, IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
            _ => ip,
        };
        let c = sub.cookie;
        let mut cookie = [0u8; 8];
        cookie[..4].copy_from_slice(&(c as u32).to_ne_bytes());
        cookie[4..].copy_from_slice(&((c >> 32) as u32).to_ne_bytes());
        let id = SocketId {
            source_port: sub.local.port(),
            destination_port: sub.remote.port(),
            source_address: as_family(sub.local.ip()),
            destination_address: as_family(sub.remote.ip()),
            interface_id: sub.ifindex.unwrap_or(0),
            cookie,
        };
        let mut out = Vec::new();
        let mut seen = Seen::default();
        match self.request(sub.family, false, id, &mut out, &mut seen) {
            Err(DiagError::Kernel { errno, .. })
                if errno == libc::ENOENT || errno == libc::ESTALE =>
            {
                return Ok(None)
            }
            r => r?,
        }
        if seen.sockets > 0 && seen.with_mark == 0 {
            return Err(DiagError::NotPermitted);
        }
        Ok(out.pop())
    }

    /// The subflow with this 4-tuple (not bound to a device: the initial
    /// subflow of a connection), without knowing its cookie — to learn the
    /// owner (uid, cgroup) of a connection from its `created` event. Tries
    /// the IPv4 socket family first, then IPv6 (an IPv6 socket carrying
    /// IPv4). `Ok(None)` when no such MPTCP subflow exists.
    pub fn lookup(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<Option<SubflowDiag>, DiagError> {
        let families: &[u8] = match (local.ip(), remote.ip()) {
            (IpAddr::V4(_), IpAddr::V4(_)) => &[AF_INET, AF_INET6],
            _ => &[AF_INET6],
        };
        for &family in families {
            let probe = SubflowDiag {
                local,
                remote,
                family,
                // INET_DIAG_NOCOOKIE: match by address alone
                cookie: u64::MAX,
                ..SubflowDiag::default()
            };
            if let Some(found) = self.query(&probe)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn dump_family(
        &mut self,
        family: u8,
        out: &mut Vec<SubflowDiag>,
        seen: &mut Seen,
    ) -> Result<(), DiagError> {
        let id = if family == AF_INET {
            SocketId::new_v4()
        } else {
            SocketId::new_v6()
        };
        self.request(family, true, id, out, seen)
    }

    /// One request: a dump (ended by `NLMSG_DONE`) or an exact lookup (one
    /// answer, or `NLMSG_ERROR`).
    fn request(
        &mut self,
        family: u8,
        dump: bool,
        socket_id: SocketId,
        out: &mut Vec<SubflowDiag>,
        seen: &mut Seen,
    ) -> Result<(), DiagError> {
        let fam_name = if family == AF_INET { "IPv4" } else { "IPv6" };
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut hdr = NetlinkHeader::default();
        hdr.flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST
        };
        hdr.sequence_number = seq;
        // Every state a subflow with data can be in; not LISTEN (listener
        // subflows carry no MPTCP info; skipping it also spares the kernel
        // the walk of the listening hash), TIME_WAIT / SYN_RECV (mini
        // sockets without ULP or tcp_info). Exact lookups ignore it.
        let states =
            StateFlags::all() - StateFlags::LISTEN - StateFlags::TIME_WAIT - StateFlags::SYN_RECV;
        let mut msg = NetlinkMessage::new(
            hdr,
            SockDiagMessage::InetRequest(InetRequest {
                family,
                protocol: IPPROTO_TCP,
                extensions: ExtensionFlags::INFO,
                states,
                socket_id,
            })
            .into(),
        );
        msg.finalize();
        let mut req = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut req);
        self.sock.send(&req, 0)?;
        self.read_replies(seq, fam_name, dump, |payload| {
            if let Some(s) = parse_inet_msg(payload, seen)? {
                out.push(s);
            }
            Ok(())
        })
    }

    /// Reads the replies to request `seq` until the dump is done (or, for
    /// an exact lookup (`dump` false), the one answer), handing each
    /// `SOCK_DIAG_BY_FAMILY` payload to `each`. Messages of an earlier,
    /// timed-out request are skipped.
    pub(super) fn read_replies(
        &mut self,
        seq: u32,
        fam_name: &'static str,
        dump: bool,
        mut each: impl FnMut(&[u8]) -> Result<(), DiagError>,
    ) -> Result<(), DiagError> {
        loop {
            self.buf.clear();
            let n = match self.sock.recv(&mut self.buf, 0) {
                Ok(n) => n.min(self.buf.len()),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    return Err(DiagError::Timeout(RECV_TIMEOUT));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let mut data = &self.buf[..n];
            while !data.is_empty() {
                let nl = NetlinkBuffer::new_checked(data)
                    .map_err(|e| DiagError::Decode(e.to_string()))?;
                let len = nl.length() as usize;
                let payload = nl.payload();
                // a stale message of an earlier, timed-out request: skip it
                let ours = nl.sequence_number() == seq;
                match nl.message_type() {
                    NLMSG_DONE | NLMSG_ERROR if ours => {
                        let err = i32_at(payload);
                        if err < 0 {
                            return Err(DiagError::Kernel {
                                family: fam_name,
                                errno: -err,
                            });
                        }
                        // an ACK (error 0) does not end a dump
                        if nl.message_type() == NLMSG_DONE || !dump {
                            return Ok(());
                        }
                    }
                    SOCK_DIAG_BY_FAMILY if ours => {
                        each(payload)?;
                        if !dump {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
                // messages are 4-byte aligned; the last one may not be padded
                let step = (len + 3) & !3;
                if step == 0 || step >= data.len() {
                    break;
                }
                data = &data[step..];
            }
        }
    }
}

/// [`DiagSocket::dump_subflows`] on a fresh socket opened in the calling
/// thread's namespace.
pub fn dump_subflows_blocking() -> Result<Vec<SubflowDiag>, DiagError> {
    DiagSocket::open()?.dump_subflows()
}

/// Dumps the MPTCP subflows of the calling thread's network namespace. The
/// socket is opened on the calling thread (so in its namespace), the dump
/// runs on tokio's blocking pool (~0.5 ms). For frequent polling keep a
/// [`DiagSocket`] instead.
pub async fn dump_subflows() -> Result<Vec<SubflowDiag>, DiagError> {
    let mut sock = DiagSocket::open()?;
    tokio::task::spawn_blocking(move || sock.dump_subflows())
        .await
        .map_err(|e| DiagError::Task(e.to_string()))?
}

/// A consistent picture of the MPTCP connections for a resync: the tokens
/// of the connections that exist ([`DiagSocket::connection_tokens`]) and
/// their subflows, subflows of connections already gone left out.
pub async fn dump_connections(
) -> Result<(std::collections::BTreeSet<u32>, Vec<SubflowDiag>), DiagError> {
    let mut sock = DiagSocket::open()?;
    tokio::task::spawn_blocking(move || {
        // subflows first: a connection made in between is not lost (the
        // token set, read second, keeps it); one closed in between is
        // dropped by the token set.
        let mut subflows = sock.dump_subflows()?;
        let tokens = sock.connection_tokens()?;
        subflows.retain(|s| s.token.is_some_and(|t| tokens.contains(&t)));
        Ok((tokens, subflows))
    })
    .await
    .map_err(|e| DiagError::Task(e.to_string()))?
}
