//! Per-subflow telemetry through `sock_diag` (`NETLINK_SOCK_DIAG`,
//! `inet_diag`): the TCP sockets that are MPTCP subflows, with their
//! `tcp_info` and the MPTCP subflow info.
//!
//! # Why this source
//!
//! * **Byte counters per subflow, straight from the kernel.** Each MPTCP
//!   subflow is an ordinary kernel TCP socket whose `tcp_info` carries
//!   `tcpi_bytes_acked` / `tcpi_bytes_received` / `tcpi_bytes_sent`, and whose
//!   addresses (and bound device) tell which interface it uses — the MPTCP
//!   share of a metered interface is the sum over its subflows. The same
//!   `tcp_info` has what path health needs (`unacked`, `last_ack_recv`,
//!   `last_data_recv`, `rtt`, `retransmits`, `backoff`).
//! * **No fork of `ss`**: one netlink dump per address family (~4 ms and
//!   10× the CPU for running `ss`, `shared/KERNEL-FACTS.md`); no text
//!   parsing. The cost is the kernel walking its host-wide TCP hash table
//!   (262144 buckets here): ~0.4 ms per family, ~0.8–1 ms per
//!   [`DiagSocket::dump_subflows`] whatever the number of sockets.
//!   [`DiagSocket::query`] re-reads one known subflow by 4-tuple + cookie
//!   with a hash lookup, ~12 µs — for fast polling of a few subflows.
//! * **Works for both path managers** (in-kernel and userspace): it looks at
//!   the sockets, not at the PM's bookkeeping, so subflows created by the
//!   kernel PM, by us through the userspace PM, or by the peer all show up.
//! * MPTCP subflows are recognised by their TCP ULP: the kernel attaches
//!   `INET_DIAG_ULP_INFO` { `INET_ULP_INFO_NAME` = `"mptcp"`,
//!   `INET_ULP_INFO_MPTCP` { `MPTCP_SUBFLOW_ATTR_*` } } — only to a requester
//!   with `CAP_NET_ADMIN` (without it no socket has ULP info and the dump
//!   would wrongly look empty: [`DiagError::NotPermitted`]). Plain TCP
//!   sockets have no ULP and are skipped; the MPTCP sockets themselves
//!   (`IPPROTO_MPTCP`) are a different protocol and not dumped.
//!
//! # What the kernel exposes (6.x, `net/mptcp/diag.c`)
//!
//! `MPTCP_SUBFLOW_ATTR_TOKEN_LOC` is the connection's (msk's) local token —
//! the `token` of the `mptcp_pm` events for that connection, on every
//! subflow of it (initial and joined); `TOKEN_REM` the peer's token;
//! `ID_LOC` / `ID_REM` the address ids (the local id is the endpoint id for
//! subflows created from an endpoint, 0 for the initial subflow);
//! `FLAGS` has `MPTCP_SUBFLOW_FLAG_BKUP_LOC` (we asked for backup: the
//! endpoint's `backup` flag / `MP_JOIN` with B=1 sent) and `_BKUP_REM` (the
//! peer asked for backup), `JOIN_LOC` / `JOIN_REM` on joined subflows and
//! `MCAP_*` on the initial one. Listening subflow sockets carry no MPTCP info
//! and are not dumped.
//!
//! # Namespaces
//!
//! The netlink socket lives in the network namespace of the thread that
//! opens it ([`DiagSocket::open`], or the caller of [`dump_subflows`] /
//! [`dump_subflows_blocking`]); the I/O may then run on any thread.
//!
//! # Crates
//!
//! Requests and the fixed `inet_diag_msg` header use
//! `netlink-packet-sock-diag` 0.5 (it builds on `netlink-packet-core` 0.9).
//! The attributes are decoded here: that crate has no `INET_DIAG_ULP_INFO`
//! and, with `rich_nlas`, insists on a full-size `tcp_info` — see
//! [`tcp_info`] for the defensive decoding.

mod decode;
mod msk;
mod socket;
mod tcp_info;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

pub use decode::decode_inet_msg;
pub use msk::decode_msk_token;
pub use socket::{dump_connections, dump_subflows, dump_subflows_blocking, DiagSocket};
pub use tcp_info::TcpInfo;

#[cfg(test)]
use decode::{parse_inet_msg, parse_ulp, MptcpInfo, Seen};
#[cfg(test)]
use netlink_packet_sock_diag::AF_INET6;

/// `MPTCP_SUBFLOW_FLAG_*` (`include/uapi/linux/mptcp.h`), for [`SubflowDiag::flags`].
pub mod flags {
    pub const MCAP_REM: u32 = 1 << 0;
    pub const MCAP_LOC: u32 = 1 << 1;
    pub const JOIN_REM: u32 = 1 << 2;
    pub const JOIN_LOC: u32 = 1 << 3;
    pub const BKUP_REM: u32 = 1 << 4;
    pub const BKUP_LOC: u32 = 1 << 5;
    pub const FULLY_ESTABLISHED: u32 = 1 << 6;
    pub const CONNECTED: u32 = 1 << 7;
    pub const MAPVALID: u32 = 1 << 8;
}

// include/uapi/linux/inet_diag.h, include/uapi/linux/mptcp.h
const INET_DIAG_MSG_LEN: usize = 72; // sizeof(struct inet_diag_msg)
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_MARK: u16 = 15;
const INET_DIAG_ULP_INFO: u16 = 19;
const INET_DIAG_CGROUP_ID: u16 = 21;
const INET_ULP_INFO_NAME: u16 = 1;
const INET_ULP_INFO_MPTCP: u16 = 3;
const MPTCP_SUBFLOW_ATTR_TOKEN_REM: u16 = 1;
const MPTCP_SUBFLOW_ATTR_TOKEN_LOC: u16 = 2;
const MPTCP_SUBFLOW_ATTR_FLAGS: u16 = 8;
const MPTCP_SUBFLOW_ATTR_ID_REM: u16 = 9;
const MPTCP_SUBFLOW_ATTR_ID_LOC: u16 = 10;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const SOCK_DIAG_BY_FAMILY: u16 = 20;

/// How long one dump may wait for the kernel before [`DiagError::Timeout`].
const RECV_TIMEOUT: Duration = Duration::from_secs(2);
/// Receive buffer for one datagram of a dump (the kernel fills up to ~32 KiB).
const RECV_BUF: usize = 64 * 1024;

/// One MPTCP subflow (a kernel TCP socket with the `mptcp` ULP). `Default`
/// (unspecified addresses, zero counters) is for building test values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubflowDiag {
    /// Local address; IPv4-mapped IPv6 addresses are given as IPv4.
    pub local: SocketAddr,
    /// Remote address; IPv4-mapped IPv6 addresses are given as IPv4.
    pub remote: SocketAddr,
    /// The device the socket is bound to (`idiag_if`), when bound.
    pub ifindex: Option<u32>,
    /// TCP state (`TCP_ESTABLISHED` = 1, ...).
    pub state: u8,
    /// The socket's address family (`AF_INET` / `AF_INET6`): the IPv4
    /// initial subflow of an IPv6 MPTCP socket is an `AF_INET6` socket with
    /// IPv4-mapped addresses (shown as IPv4 above), joins over IPv4 are
    /// `AF_INET`. [`DiagSocket::query`] needs it.
    pub family: u8,
    /// The connection's local MPTCP token (`MPTCP_SUBFLOW_ATTR_TOKEN_LOC`),
    /// the same as in the `mptcp_pm` events.
    pub token: Option<u32>,
    /// The peer's token (`MPTCP_SUBFLOW_ATTR_TOKEN_REM`): the kernel keeps
    /// it only on joins this side initiated (it sends it in `MP_JOIN`); it
    /// reports 0 on initial subflows and on joins it accepted → `None`.
    pub remote_token: Option<u32>,
    /// Local address id (`MPTCP_SUBFLOW_ATTR_ID_LOC`): the endpoint id.
    pub local_id: Option<u8>,
    /// Remote address id (`MPTCP_SUBFLOW_ATTR_ID_REM`).
    pub remote_id: Option<u8>,
    /// Raw `MPTCP_SUBFLOW_ATTR_FLAGS` ([`flags`]), 0 when absent.
    pub flags: u32,
    /// `MPTCP_SUBFLOW_FLAG_BKUP_LOC`: we asked for this subflow to be backup.
    pub backup_local: bool,
    /// `MPTCP_SUBFLOW_FLAG_BKUP_REM`: the peer asked for backup.
    pub backup_remote: bool,
    /// `tcpi_bytes_acked` (bytes sent and acked; 0 before Linux 4.1).
    pub bytes_acked: u64,
    /// `tcpi_bytes_received` (0 before Linux 4.1).
    pub bytes_received: u64,
    /// `tcpi_bytes_sent`, retransmissions included (0 before Linux 4.19).
    pub bytes_sent: u64,
    /// `tcpi_unacked`: segments in flight.
    pub unacked: u32,
    /// `tcpi_last_ack_recv`: ms since the last ACK arrived.
    pub last_ack_recv_ms: u32,
    /// `tcpi_last_data_recv`: ms since data last arrived.
    pub last_data_recv_ms: u32,
    /// `tcpi_last_data_sent`: ms since data was last sent.
    pub last_data_sent_ms: u32,
    /// `tcpi_rtt`: smoothed RTT, µs.
    pub rtt_us: u32,
    /// `tcpi_rttvar`, µs.
    pub rttvar_us: u32,
    /// `tcpi_rto`, µs.
    pub rto_us: u32,
    /// `tcpi_retransmits`: consecutive RTO retransmissions now.
    pub retransmits: u8,
    /// `tcpi_backoff`: RTO backoff exponent.
    pub backoff: u8,
    /// `tcpi_total_retrans`.
    pub total_retrans: u32,
    /// `tcpi_rcv_rtt`: the receiver's RTT estimate, µs (0: none yet).
    pub rcv_rtt_us: u32,
    /// `tcpi_min_rtt`: lowest RTT seen, µs.
    pub min_rtt_us: u32,
    /// `tcpi_data_segs_in` / `tcpi_data_segs_out`: data segments received /
    /// sent, retransmissions included (0 before Linux 4.6).
    pub data_segs_in: u32,
    pub data_segs_out: u32,
    /// `tcpi_rcv_ooopack`: packets that arrived out of order (0 before 5.4).
    pub rcv_ooopack: u32,
    /// Bytes of `tcp_info` the kernel sent (0: none; fields beyond it are 0).
    pub tcp_info_len: usize,
    /// The inet_diag socket cookie: identifies this socket across dumps.
    pub cookie: u64,
    /// The owning user (`idiag_uid`): the uid that created the MPTCP socket
    /// (the kernel gives every subflow, joins included, the MPTCP socket's
    /// owner); for an accepted connection the listener's owner.
    pub uid: u32,
    /// The cgroup v2 id of the creating process (`INET_DIAG_CGROUP_ID`,
    /// Linux ≥ 5.7; the kernel charges subflows to the MPTCP socket's
    /// cgroup): the inode number of its directory in the cgroup2 mount.
    pub cgroup_id: Option<u64>,
}

impl SubflowDiag {
    /// A joined subflow (`MP_JOIN`), as opposed to the initial one.
    pub fn is_join(&self) -> bool {
        self.flags & (flags::JOIN_LOC | flags::JOIN_REM) != 0
    }
}

/// Everything that can go wrong dumping subflows.
#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    /// Socket-level failure (open, send, receive).
    #[error("sock_diag: {0}")]
    Io(#[from] io::Error),
    /// The kernel answered the dump with an error.
    #[error("sock_diag: {family} TCP dump refused: {}", io::Error::from_raw_os_error(*.errno))]
    Kernel {
        /// `"IPv4"` or `"IPv6"`.
        family: &'static str,
        /// Positive errno.
        errno: i32,
    },
    /// TCP sockets were listed without the attributes only `CAP_NET_ADMIN`
    /// gets, so the MPTCP subflows cannot be told apart.
    #[error("sock_diag: no CAP_NET_ADMIN in this network namespace: MPTCP subflows are not identifiable")]
    NotPermitted,
    /// The kernel did not finish the dump in time.
    #[error("sock_diag: no answer from the kernel within {0:?}")]
    Timeout(Duration),
    /// The kernel sent something we could not decode.
    #[error("sock_diag: cannot decode kernel message: {0}")]
    Decode(String),
    /// The blocking task of [`dump_subflows`] died.
    #[error("sock_diag: dump task failed: {0}")]
    Task(String),
}

impl DiagError {
    /// The positive errno of a kernel refusal or socket error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { errno, .. } => Some(*errno),
            Self::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

impl Default for SubflowDiag {
    fn default() -> Self {
        let any = SocketAddr::from(([0, 0, 0, 0], 0));
        SubflowDiag {
            local: any,
            remote: any,
            ifindex: None,
            state: 0,
            family: 0,
            token: None,
            remote_token: None,
            local_id: None,
            remote_id: None,
            flags: 0,
            backup_local: false,
            backup_remote: false,
            bytes_acked: 0,
            bytes_received: 0,
            bytes_sent: 0,
            unacked: 0,
            last_ack_recv_ms: 0,
            last_data_recv_ms: 0,
            last_data_sent_ms: 0,
            rtt_us: 0,
            rttvar_us: 0,
            rto_us: 0,
            retransmits: 0,
            backoff: 0,
            total_retrans: 0,
            rcv_rtt_us: 0,
            min_rtt_us: 0,
            data_segs_in: 0,
            data_segs_out: 0,
            rcv_ooopack: 0,
            tcp_info_len: 0,
            cookie: 0,
            uid: 0,
            cgroup_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(value);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn ulp(name: &str, inner: &[u8]) -> Vec<u8> {
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        let mut v = nla(INET_ULP_INFO_NAME, &n);
        v.extend(nla(INET_ULP_INFO_MPTCP, inner));
        v
    }

    fn mptcp_attrs() -> Vec<u8> {
        let mut v = nla(MPTCP_SUBFLOW_ATTR_TOKEN_REM, &0x1111u32.to_ne_bytes());
        v.extend(nla(
            MPTCP_SUBFLOW_ATTR_TOKEN_LOC,
            &0xdead_beefu32.to_ne_bytes(),
        ));
        v.extend(nla(
            MPTCP_SUBFLOW_ATTR_FLAGS,
            &(flags::JOIN_LOC | flags::BKUP_LOC).to_ne_bytes(),
        ));
        v.extend(nla(MPTCP_SUBFLOW_ATTR_ID_REM, &[0]));
        v.extend(nla(MPTCP_SUBFLOW_ATTR_ID_LOC, &[2]));
        v
    }

    /// An AF_INET6 inet_diag_msg for ::ffff:10.0.0.1:1000 -> ::ffff:10.0.0.2:80.
    fn msg_header() -> Vec<u8> {
        let mut h = vec![0u8; INET_DIAG_MSG_LEN];
        h[0] = AF_INET6;
        h[1] = 1; // ESTABLISHED
        h[4..6].copy_from_slice(&1000u16.to_be_bytes());
        h[6..8].copy_from_slice(&80u16.to_be_bytes());
        let v4m = |a: u8| {
            let mut x = [0u8; 16];
            x[10] = 0xff;
            x[11] = 0xff;
            x[12..].copy_from_slice(&[10, 0, 0, a]);
            x
        };
        h[8..24].copy_from_slice(&v4m(1));
        h[24..40].copy_from_slice(&v4m(2));
        h[40..44].copy_from_slice(&3u32.to_ne_bytes()); // idiag_if
        h[44..48].copy_from_slice(&0x0000_0005u32.to_ne_bytes()); // cookie[0]
        h[48..52].copy_from_slice(&0x0000_0001u32.to_ne_bytes()); // cookie[1]
        h
    }

    #[test]
    fn ulp_info_mptcp_and_others() {
        let m = parse_ulp(&ulp("mptcp", &mptcp_attrs())).expect("mptcp");
        assert_eq!(
            m,
            MptcpInfo {
                token_loc: Some(0xdead_beef),
                token_rem: Some(0x1111),
                id_loc: Some(2),
                id_rem: Some(0),
                flags: Some(flags::JOIN_LOC | flags::BKUP_LOC),
            }
        );
        assert_eq!(parse_ulp(&ulp("tls", &[])), None);
        // name only (a listener): mptcp without details
        let mut n = b"mptcp".to_vec();
        n.push(0);
        assert_eq!(
            parse_ulp(&nla(INET_ULP_INFO_NAME, &n)),
            Some(MptcpInfo::default())
        );
        // garbage / truncated: never panics
        let full = ulp("mptcp", &mptcp_attrs());
        for n in 0..full.len() {
            let _ = parse_ulp(&full[..n]);
        }
        assert_eq!(parse_ulp(&[]), None);
    }

    #[test]
    fn subflow_message() {
        let mut p = msg_header();
        let mut ti = vec![0u8; 232];
        ti[120..128].copy_from_slice(&123_456u64.to_ne_bytes());
        p.extend(nla(INET_DIAG_INFO, &ti));
        p.extend(nla(INET_DIAG_MARK, &0u32.to_ne_bytes()));
        p.extend(nla(INET_DIAG_ULP_INFO, &ulp("mptcp", &mptcp_attrs())));
        let mut seen = Seen::default();
        let s = parse_inet_msg(&p, &mut seen).expect("ok").expect("subflow");
        assert_eq!(s.local, "10.0.0.1:1000".parse().expect("sa"));
        assert_eq!(s.remote, "10.0.0.2:80".parse().expect("sa"));
        assert_eq!(s.ifindex, Some(3));
        assert_eq!(s.cookie, (1 << 32) | 5);
        assert_eq!(s.token, Some(0xdead_beef));
        assert_eq!(s.local_id, Some(2));
        assert!(s.backup_local && !s.backup_remote && s.is_join());
        assert_eq!(s.bytes_acked, 123_456);
        assert_eq!(s.tcp_info_len, 232);
        assert_eq!((seen.sockets, seen.with_mark), (1, 1));

        // plain TCP: counted, not returned
        let mut plain = msg_header();
        plain.extend(nla(INET_DIAG_INFO, &ti));
        assert_eq!(parse_inet_msg(&plain, &mut seen).expect("ok"), None);
        assert_eq!((seen.sockets, seen.with_mark), (2, 1));

        // a short tcp_info: counters absent, no panic
        let mut short = msg_header();
        short.extend(nla(INET_DIAG_INFO, &ti[..100]));
        short.extend(nla(INET_DIAG_ULP_INFO, &ulp("mptcp", &mptcp_attrs())));
        let s = parse_inet_msg(&short, &mut seen)
            .expect("ok")
            .expect("subflow");
        assert_eq!((s.bytes_acked, s.tcp_info_len), (0, 100));

        // every truncation of the attributes: Ok, never a panic
        for n in INET_DIAG_MSG_LEN..p.len() {
            assert!(parse_inet_msg(&p[..n], &mut seen).is_ok(), "len {n}");
        }
        // a header cut short is an error, not a panic
        assert!(parse_inet_msg(&p[..40], &mut seen).is_err());
    }
}
