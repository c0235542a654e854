//! Which `socket()` calls become MPTCP (pure, tested without I/O).

use libc::c_int;

/// `IPPROTO_MPTCP` (include/uapi/linux/in.h); the libc crate may lack it on
/// older versions, and the number is fixed ABI.
pub const IPPROTO_MPTCP: c_int = 262;

/// `SOCK_TYPE_MASK` of the kernel: the type without `SOCK_NONBLOCK` /
/// `SOCK_CLOEXEC`.
const SOCK_TYPE_MASK: c_int = 0xf;

/// True when `socket(domain, ty, protocol)` asks for a TCP socket that
/// should be tried as MPTCP first.
pub fn converts(domain: c_int, ty: c_int, protocol: c_int) -> bool {
    (domain == libc::AF_INET || domain == libc::AF_INET6)
        && ty & SOCK_TYPE_MASK == libc::SOCK_STREAM
        && (protocol == 0 || protocol == libc::IPPROTO_TCP)
}

#[cfg(test)]
mod tests {
    use super::{converts, IPPROTO_MPTCP};
    use libc::{
        AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
        SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM,
    };

    #[test]
    fn only_tcp_stream_sockets_of_inet_families_convert() {
        let cases = [
            (AF_INET, SOCK_STREAM, 0, true),
            (AF_INET6, SOCK_STREAM, 0, true),
            (AF_INET, SOCK_STREAM, IPPROTO_TCP, true),
            (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, true),
            (
                AF_INET6,
                SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                6,
                true,
            ),
            (AF_INET, SOCK_STREAM, IPPROTO_MPTCP, false), // already MPTCP
            (AF_INET, SOCK_STREAM, IPPROTO_SCTP, false),
            (AF_INET, SOCK_DGRAM, 0, false),
            (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP, false),
            (AF_INET, SOCK_RAW, IPPROTO_TCP, false),
            (AF_INET, SOCK_SEQPACKET, 0, false),
            (AF_UNIX, SOCK_STREAM, 0, false),
            (AF_NETLINK, SOCK_RAW, 0, false),
            (AF_PACKET, SOCK_STREAM, 0, false),
        ];
        for (domain, ty, protocol, want) in cases {
            assert_eq!(
                converts(domain, ty, protocol),
                want,
                "socket({domain}, {ty:#x}, {protocol})"
            );
        }
    }
}
