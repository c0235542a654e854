//! Reachability probes over one path: a plain TCP connection attempt from
//! the path's local address to the peer the path's subflows talked to. An
//! answer of any kind (SYN-ACK or RST) proves packets cross the path both
//! ways; silence until the timeout means they do not. Needs no privileges
//! (no raw ICMP socket, so no CAP_NET_RAW), and the source address selects
//! the path's own routing table.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mptcp_policy::ProbeResult;
use socket2::{Domain, Socket, Type};

/// Tries to reach `remote` from `local` within `timeout`.
pub fn probe(local: IpAddr, remote: SocketAddr, timeout: Duration) -> ProbeResult {
    match try_connect(local, remote, timeout) {
        Ok(()) => ProbeResult::Reachable,
        // The peer answered with a reset: the path works.
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => ProbeResult::Reachable,
        Err(e) => {
            if refused_locally(&e) && !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "path probe {local} -> {remote} cannot run: {e}; a stalled path then stays \
                     without an endpoint (a service manager's sandbox must allow AF_INET/AF_INET6 \
                     sockets and IP traffic: RestrictAddressFamilies=, IPAddressDeny=)"
                );
            }
            ProbeResult::Unreachable
        }
    }
}

/// Whether a probe was refused by this host (sandbox, seccomp, BPF
/// firewall) rather than unanswered by the path: said once in the log.
fn refused_locally(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT | libc::EPERM | libc::EACCES)
    )
}

static WARNED: AtomicBool = AtomicBool::new(false);

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
