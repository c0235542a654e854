//! Reachability probes over one path: a plain TCP connection attempt from
//! the path's local address to the peer the path's subflows talked to. An
//! answer of any kind (SYN-ACK or RST) proves packets cross the path both
//! ways; silence until the timeout means they do not. Needs no privileges
//! (no raw ICMP socket, so no CAP_NET_RAW), and the source address selects
//! the path's own routing table.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mptcp_policy::ProbeResult;
use socket2::{Domain, Socket, Type};

/// Tries to reach `remote` from `local` within `timeout`.
pub fn probe(local: IpAddr, remote: SocketAddr, timeout: Duration) -> ProbeResult {
    match try_connect(local, remote, timeout) {
        Ok(()) => ProbeResult::Reachable,
        // The peer answered with a reset: the path works.
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => ProbeResult::Reachable,
        Err(_) => ProbeResult::Unreachable,
    }
}

fn try_connect(local: IpAddr, remote: SocketAddr, timeout: Duration) -> std::io::Result<()> {
    let domain = if remote.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::STREAM, None)?;
    socket.bind(&SocketAddr::new(local, 0).into())?;
    socket.connect_timeout(&remote.into(), timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn any_answer_means_reachable() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let open = listener.local_addr().expect("addr");
        let lo: IpAddr = "127.0.0.1".parse().expect("ip");
        assert_eq!(
            probe(lo, open, Duration::from_millis(500)),
            ProbeResult::Reachable
        );
        drop(listener);
        // Nothing listens any more: the kernel answers with a reset.
        assert_eq!(
            probe(lo, open, Duration::from_millis(500)),
            ProbeResult::Reachable
        );
        // Silence (a blackholed path) is shown by the end-to-end health tests,
        // inside a test namespace: no packet may leave this host from here.
    }
}
