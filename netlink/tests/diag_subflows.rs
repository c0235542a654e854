//! sock_diag subflow telemetry (`mptcp_policy_netlink::diag`) against the real
//! kernel, each test in its own throwaway namespace.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{mptcp_connect, mptcp_listen, wait_event, wait_until, Netns};
use mptcp_policy_netlink::diag::{
    dump_subflows, dump_subflows_blocking, DiagError, DiagSocket, SubflowDiag,
};
use mptcp_policy_netlink::{subscribe_events, EndpointFlags, Limits, PmEventKind, PmHandle};

const PAYLOAD: usize = 100 * 1024;
/// `hello` + `world` exchanged before the payload.
const HELLO: u64 = 5;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket addr")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// Everything the scenario below needs, per address family.
struct Addrs {
    client: &'static str,
    /// the second client address, endpoint `subflow backup`
    backup: &'static str,
    server: &'static str,
}

/// Client on `a.client` (+ backup endpoint on `a.backup`) connects to an MPTCP
/// server; 100 KiB client → server; a plain TCP connection beside it.
fn scenario(ns: &Netns, a: Addrs) {
    ns.run(move || async move {
        let pm = PmHandle::connect().await.expect("pm connect");
        pm.limits_set(Limits {
            subflows: 4,
            add_addr_accepted: 4,
        })
        .await
        .expect("limits");
        pm.endpoint_add(
            ip(a.backup),
            Some(2),
            None,
            None,
            EndpointFlags {
                subflow: true,
                backup: true,
                ..Default::default()
            },
        )
        .await
        .expect("endpoint subflow backup");
        let mut events = subscribe_events().await.expect("subscribe");

        // a plain TCP connection, with data, that must not be listed
        let plain_l = TcpListener::bind(SocketAddr::new(ip(a.server), 0)).expect("tcp listen");
        let mut plain_c = TcpStream::connect(plain_l.local_addr().expect("addr")).expect("tcp");
        let (mut plain_s, _) = plain_l.accept().expect("tcp accept");
        plain_c.write_all(&[7u8; 4096]).expect("tcp write");
        let mut pbuf = [0u8; 4096];
        plain_s.read_exact(&mut pbuf).expect("tcp read");
        let plain_ports = [
            plain_c.local_addr().expect("addr").port(),
            plain_s.local_addr().expect("addr").port(),
        ];

        let listener = mptcp_listen(SocketAddr::new(ip(a.server), 0));
        let server = listener.local_addr().expect("server addr");
        let mut client = mptcp_connect(SocketAddr::new(ip(a.client), 0), server);
        let local = client.local_addr().expect("client addr");
        let (mut accepted, _) = listener.accept().expect("accept");

        let created = wait_event(&mut events, 5, "created (client)", |e| {
            e.kind == PmEventKind::Created
                && e.saddr == Some(local.ip())
                && e.sport == Some(local.port())
        })
        .await;
        let token = created.token.expect("event token");

        // the kernel PM joins once the connection is fully established,
        // i.e. after the first data
        client.write_all(b"hello").expect("write");
        let mut hello = [0u8; 5];
        accepted.read_exact(&mut hello).expect("read");
        accepted.write_all(b"world").expect("write back");
        client.read_exact(&mut hello).expect("read back");

        // wait for the backup join (client side) to show up in the dump
        let backup_ip = ip(a.backup);
        wait_until(5, "joined backup subflow in the dump", || async {
            dump_subflows()
                .await
                .expect("dump")
                .iter()
                .any(|s| s.local.ip() == backup_ip && s.remote == server)
        })
        .await;

        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; PAYLOAD];
            accepted.read_exact(&mut buf).expect("server read");
            assert!(buf.iter().all(|&b| b == 0x5a));
            accepted
        });
        client.write_all(&vec![0x5a; PAYLOAD]).expect("client write");
        let accepted = reader.join().expect("reader thread");

        // ACKs may trail the read by a moment
        wait_until(5, "client initial subflow bytes_acked >= payload", || async {
            dump_subflows()
                .await
                .expect("dump")
                .iter()
                .any(|s| s.local == local && s.bytes_acked >= PAYLOAD as u64)
        })
        .await;
        let subs = dump_subflows().await.expect("dump");
        for s in &subs {
            eprintln!("{s:?}");
        }

        let find = |what: &str, pred: &dyn Fn(&SubflowDiag) -> bool| -> SubflowDiag {
            let hits: Vec<_> = subs.iter().filter(|s| pred(s)).cloned().collect();
            assert_eq!(hits.len(), 1, "{what}: {hits:#?}\nall: {subs:#?}");
            hits.into_iter().next().expect("one")
        };
        let c_init = find("client initial", &|s| s.local == local && s.remote == server);
        let c_join = find("client join", &|s| {
            s.local.ip() == backup_ip && s.remote == server
        });
        let s_init = find("server initial", &|s| s.local == server && s.remote == local);
        let s_join = find("server join", &|s| {
            s.local == server && s.remote.ip() == backup_ip
        });

        // only these four MPTCP subflows; the plain TCP sockets are not listed
        assert_eq!(subs.len(), 4, "{subs:#?}");
        for s in &subs {
            assert!(
                !plain_ports.contains(&s.local.port()) && !plain_ports.contains(&s.remote.port()),
                "plain TCP socket listed: {s:?}"
            );
            assert_eq!(s.state, 1, "ESTABLISHED: {s:?}");
            assert!(s.tcp_info_len >= 200, "{s:?}");
            assert_ne!(s.cookie, 0);
            assert!(s.rtt_us > 0, "{s:?}");
        }

        // roles and flags
        assert!(!c_init.is_join() && !c_init.backup_local && !c_init.backup_remote);
        assert!(c_join.is_join() && c_join.backup_local, "{c_join:?}");
        assert!(!s_init.is_join() && !s_init.backup_local);
        assert!(s_join.is_join() && s_join.backup_remote, "{s_join:?}");
        assert_eq!(c_join.local_id, Some(2), "endpoint id of the join");
        assert_eq!(c_init.local_id, Some(0));

        // tokens: the client's subflows carry the client's connection token
        // (= the pm event's), the server's carry the server's; the peer's
        // token is kept only on the joins this side initiated
        assert_eq!(c_init.token, Some(token));
        assert_eq!(c_join.token, Some(token));
        assert_eq!(s_init.token, s_join.token);
        assert_ne!(s_init.token, Some(token));
        assert_eq!(c_join.remote_token, s_init.token);
        assert_eq!(c_init.remote_token, None);
        assert_eq!(s_init.remote_token, None);

        // bytes: the payload went over the initial subflow
        assert!(c_init.bytes_acked >= PAYLOAD as u64, "{c_init:?}");
        assert!(c_init.bytes_sent >= PAYLOAD as u64, "{c_init:?}");
        assert!(s_init.bytes_received >= PAYLOAD as u64 + HELLO, "{s_init:?}");
        assert!(c_init.bytes_received >= HELLO, "{c_init:?}");
        assert!(c_join.bytes_acked < PAYLOAD as u64 / 10, "{c_join:?}");

        // distinct sockets, stable cookies across dumps
        let again = dump_subflows_blocking().expect("dump again");
        for s in [&c_init, &c_join, &s_init, &s_join] {
            assert!(
                again.iter().any(|t| t.cookie == s.cookie && t.local == s.local),
                "cookie of {s:?} changed"
            );
        }
        // exact lookups of known subflows
        let mut sock = DiagSocket::open().expect("open");
        for s in [&c_init, &c_join, &s_init, &s_join] {
            let q = sock.query(s).expect("query").expect("still there");
            assert_eq!((q.cookie, q.local, q.remote), (s.cookie, s.local, s.remote));
            assert_eq!((q.token, q.flags), (s.token, s.flags));
            assert!(q.bytes_acked >= s.bytes_acked);
        }
        let stale = SubflowDiag {
            cookie: c_init.cookie ^ 0xffff,
            ..c_init.clone()
        };
        assert_eq!(sock.query(&stale).expect("query stale"), None);
        let gone = SubflowDiag {
            remote: SocketAddr::new(server.ip(), 1),
            ..c_init.clone()
        };
        assert_eq!(sock.query(&gone).expect("query gone"), None);

        // lookup by 4-tuple alone (no cookie): the owner of a connection
        let by_tuple = sock
            .lookup(local, server)
            .expect("lookup")
            .expect("initial subflow found by its 4-tuple");
        assert_eq!(by_tuple.cookie, c_init.cookie);
        assert_eq!(by_tuple.uid, 0, "created by root");
        let own_cgroup = {
            use std::os::unix::fs::MetadataExt;
            mptcp_policy_tests::cgroups::own_cgroup_dir()
                .ok()
                .and_then(|d| std::fs::metadata(d).ok())
                .map(|m| m.ino())
        };
        if let Some(ino) = own_cgroup {
            // visible only where the cgroup2 mount is (not under a fresh /sys)
            assert_eq!(by_tuple.cgroup_id, Some(ino), "the test's own cgroup");
        }
        assert!(by_tuple.cgroup_id.is_some(), "INET_DIAG_CGROUP_ID present");
        assert_eq!(
            sock.lookup(SocketAddr::new(local.ip(), 1), server)
                .expect("lookup"),
            None
        );
        // the open connections by token: client's and server's
        let tokens = sock.connection_tokens().expect("connection tokens");
        assert!(tokens.contains(&token), "{tokens:?}");
        assert!(
            tokens.contains(&s_init.token.expect("server token")),
            "{tokens:?}"
        );
        assert_eq!(tokens.len(), 2, "{tokens:?}");

        eprintln!(
            "token {token:#010x}: client init flags {:#x} join flags {:#x}; server init {:#x} join {:#x}",
            c_init.flags, c_join.flags, s_init.flags, s_join.flags
        );
        drop((client, accepted, plain_c, plain_s));
        // closed: the tokens are gone at once, even if subflows linger
        wait_until(5, "no open MPTCP connection", || async {
            DiagSocket::open()
                .expect("open")
                .connection_tokens()
                .expect("tokens")
                .is_empty()
        })
        .await;
    });
}

#[test]
fn ipv4_subflows_backup_flag_tokens_and_bytes() {
    let ns = Netns::new();
    ns.veth(&["10.71.0.1/24", "10.71.1.1/24"], &["10.71.0.2/24"]);
    scenario(
        &ns,
        Addrs {
            client: "10.71.0.1",
            backup: "10.71.1.1",
            server: "10.71.0.2",
        },
    );
}

#[test]
fn ipv6_subflows_backup_flag_tokens_and_bytes() {
    let ns = Netns::new();
    ns.veth(&["fd71::1/64", "fd71:1::1/64"], &["fd71::2/64"]);
    scenario(
        &ns,
        Addrs {
            client: "fd71::1",
            backup: "fd71:1::1",
            server: "fd71::2",
        },
    );
}

#[test]
fn no_subflows_without_mptcp_and_not_permitted_without_cap_net_admin() {
    let ns = Netns::new();
    ns.veth(&["10.72.0.1/24"], &["10.72.0.2/24"]);
    ns.run(|| async {
        assert_eq!(dump_subflows().await.expect("empty namespace"), vec![]);
        let listener = mptcp_listen(sa("10.72.0.2:0"));
        let server = listener.local_addr().expect("addr");
        let client = mptcp_connect(sa("10.72.0.1:0"), server);
        let (accepted, _) = listener.accept().expect("accept");
        assert_eq!(dump_subflows().await.expect("dump").len(), 2);

        // Drop root in this thread only (raw syscall: glibc's setresuid
        // would change every thread of the test process).
        // SAFETY: plain syscall with integer arguments.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
        assert_eq!(rc, 0, "setresuid: {}", std::io::Error::last_os_error());
        match dump_subflows_blocking() {
            Err(DiagError::NotPermitted) => {}
            other => panic!("want NotPermitted without CAP_NET_ADMIN, got {other:?}"),
        }
        drop((client, accepted));
    });
}

#[test]
fn dump_time_for_ten_subflows() {
    let ns = Netns::new();
    ns.veth(&["10.73.0.1/24"], &["10.73.0.2/24"]);
    ns.run(|| async {
        // the fixed cost: the kernel walks its (host-wide) TCP hash tables
        // once per family even when this namespace has no socket
        let mut sock = DiagSocket::open().expect("open");
        let mut empty = Vec::with_capacity(100);
        for _ in 0..100 {
            let t = Instant::now();
            assert!(sock.dump_subflows().expect("dump").is_empty());
            empty.push(t.elapsed());
        }
        empty.sort();

        let listener = mptcp_listen(sa("10.73.0.2:0"));
        let server = listener.local_addr().expect("addr");
        // 5 connections = 10 subflow sockets (client + server side)
        let mut keep = Vec::new();
        for _ in 0..5 {
            let c = mptcp_connect(sa("10.73.0.1:0"), server);
            let (s, _) = listener.accept().expect("accept");
            keep.push((c, s));
        }
        // some plain TCP sockets beside them, as on a real host
        let plain_l = TcpListener::bind(sa("10.73.0.2:0")).expect("tcp listen");
        for _ in 0..10 {
            let c = TcpStream::connect(plain_l.local_addr().expect("addr")).expect("tcp");
            let (s, _) = plain_l.accept().expect("accept");
            keep.push((c, s));
        }
        assert_eq!(sock.dump_subflows().expect("dump").len(), 10);

        let n = 200;
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let subs = sock.dump_subflows().expect("dump");
            times.push(t.elapsed());
            assert_eq!(subs.len(), 10);
        }
        times.sort();
        let known = sock.dump_subflows().expect("dump");
        let mut one = Vec::with_capacity(200);
        for i in 0..200 {
            let t = Instant::now();
            let q = sock.query(&known[i % known.len()]).expect("query");
            one.push(t.elapsed());
            assert!(q.is_some());
        }
        one.sort();
        let mut fresh = Vec::with_capacity(50);
        for _ in 0..50 {
            let t = Instant::now();
            let subs = dump_subflows().await.expect("dump");
            fresh.push(t.elapsed());
            assert_eq!(subs.len(), 10);
        }
        fresh.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        eprintln!(
            "dump of 10 MPTCP subflows (+20 plain TCP sockets), {} build: \
             reused DiagSocket median {:.0} µs, p90 {:.0} µs, max {:.0} µs (n={n}); \
             dump_subflows() (open + spawn_blocking) median {:.0} µs, max {:.0} µs (n=50); \
             same socket, namespace without sockets: median {:.0} µs; \
             DiagSocket::query of one known subflow: median {:.0} µs, max {:.0} µs (n=200)",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            us(times[n / 2]),
            us(times[n * 9 / 10]),
            us(times[n - 1]),
            us(fresh[25]),
            us(fresh[49]),
            us(empty[50]),
            us(one[100]),
            us(one[199]),
        );
        // generous bound: a regression to fork-like costs would fail
        assert!(
            times[n / 2] < Duration::from_millis(20),
            "{:?}",
            times[n / 2]
        );
        drop(keep);
    });
}

#[test]
fn ipv4_mapped_subflow_of_an_ipv6_socket() {
    let ns = Netns::new();
    ns.veth(&["10.74.0.1/24"], &["10.74.0.2/24"]);
    ns.run(|| async {
        // dual-stack IPv6 listener and client, IPv4 path: AF_INET6 subflows
        // with IPv4-mapped addresses
        let listener = mptcp_listen(sa("[::]:0"));
        let port = listener.local_addr().expect("addr").port();
        let client = mptcp_connect(
            sa("[::ffff:10.74.0.1]:0"),
            sa(&format!("[::ffff:10.74.0.2]:{port}")),
        );
        let (accepted, _) = listener.accept().expect("accept");
        let subs = dump_subflows().await.expect("dump");
        assert_eq!(subs.len(), 2, "{subs:#?}");
        let c = subs
            .iter()
            .find(|s| s.remote == sa(&format!("10.74.0.2:{port}")))
            .expect("client subflow shown with IPv4 addresses");
        assert_eq!(c.local.ip(), ip("10.74.0.1"));
        assert_eq!(c.family, libc::AF_INET6 as u8);
        let mut sock = DiagSocket::open().expect("open");
        let q = sock.query(c).expect("query").expect("found");
        assert_eq!(q.cookie, c.cookie);
        drop((client, accepted));
    });
}
