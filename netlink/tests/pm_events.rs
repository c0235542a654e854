//! `mptcp_pm_events` against the real kernel: a real MPTCP connection inside a
//! throwaway namespace, with the in-kernel path manager adding a subflow.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};

use common::{mptcp_connect, mptcp_listen, wait_event, Netns};
use mptcp_policy_netlink::{subscribe_events, EndpointFlags, Limits, PmEventKind, PmHandle};

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

#[test]
fn connection_events_and_kernel_subflow() {
    let ns = Netns::new();
    ns.veth(&["10.4.0.1/24", "10.4.1.1/24"], &["10.4.0.2/24"]);
    ns.run(|| async {
        let pm = PmHandle::connect().await.expect("connect");
        pm.limits_set(Limits {
            subflows: 2,
            add_addr_accepted: 2,
        })
        .await
        .expect("limits");
        let subflow = EndpointFlags {
            subflow: true,
            ..Default::default()
        };
        pm.endpoint_add(ip("10.4.1.1"), Some(3), None, None, subflow)
            .await
            .expect("endpoint");
        let mut events = subscribe_events().await.expect("subscribe");

        let listener = mptcp_listen(sa("10.4.0.2:0"));
        let server = listener.local_addr().expect("listener addr");
        let mut client = mptcp_connect(sa("10.4.0.1:0"), server);
        let local = client.local_addr().expect("client addr");
        let (mut accepted, _) = listener.accept().expect("accept");
        client.write_all(b"hello").expect("write");
        let mut buf = [0u8; 5];
        accepted.read_exact(&mut buf).expect("read");
        accepted.write_all(b"world").expect("write back");
        client.read_exact(&mut buf).expect("read back");

        let is_client = |e: &mptcp_policy_netlink::PmEvent| {
            e.saddr == Some(local.ip()) && e.sport == Some(local.port())
        };
        let created = wait_event(&mut events, 5, "created (client)", |e| {
            e.kind == PmEventKind::Created && is_client(e)
        })
        .await;
        let token = created.token.expect("token");
        assert_eq!(created.daddr, Some(server.ip()));
        assert_eq!(created.dport, Some(server.port()));
        assert_eq!(created.family, Some(libc::AF_INET as u16));
        assert_eq!(created.server_side, Some(false), "{created:?}");
        let srv = wait_event(&mut events, 5, "created (server)", |e| {
            e.kind == PmEventKind::Created && e.saddr == Some(server.ip())
        })
        .await;
        eprintln!("server side created: {srv:?}");
        assert_eq!(srv.server_side, Some(true), "{srv:?}");
        assert_eq!(srv.dport, Some(local.port()));

        let est = wait_event(&mut events, 5, "established (client)", |e| {
            e.kind == PmEventKind::Established && e.token == Some(token)
        })
        .await;
        assert_eq!(est.sport, Some(local.port()));
        assert_eq!(est.dport, Some(server.port()));

        let sub = wait_event(&mut events, 5, "sub_established from 10.4.1.1", |e| {
            e.kind == PmEventKind::SubEstablished
                && e.token == Some(token)
                && e.saddr == Some(ip("10.4.1.1"))
        })
        .await;
        assert_eq!(sub.loc_id, Some(3));
        assert_eq!(sub.daddr, Some(server.ip()));
        assert_eq!(sub.dport, Some(server.port()));
        assert_eq!(sub.backup, Some(false));
        // if_idx is only sent for subflows bound to a device (sk_bound_dev_if)
        assert_eq!(sub.if_idx, None);
        assert!(sub.error.is_none() || sub.error == Some(0));

        // flipping the endpoint to backup re-flags the subflow (MP_PRIO)
        let backup = EndpointFlags {
            subflow: true,
            backup: true,
            ..Default::default()
        };
        pm.endpoint_set_flags(3, backup)
            .await
            .expect("change backup");
        let prio = wait_event(&mut events, 5, "sub_priority", |e| {
            e.kind == PmEventKind::SubPriority && e.backup == Some(true)
        })
        .await;
        assert!(prio.token.is_some());

        // deleting the endpoint closes its subflow
        pm.endpoint_del(3).await.expect("delete endpoint");
        wait_event(&mut events, 5, "sub_closed of 10.4.1.1", |e| {
            e.kind == PmEventKind::SubClosed
                && e.token == Some(token)
                && e.saddr == Some(ip("10.4.1.1"))
        })
        .await;

        drop(client);
        drop(accepted);
        wait_event(&mut events, 5, "closed (client)", |e| {
            e.kind == PmEventKind::Closed && e.token == Some(token)
        })
        .await;
        drop(listener);
    });
}

/// A server namespace with `allow_join_initial_addr_port = 0` sends the
/// MP_CAPABLE "C" flag: the client's `created`/`established` carry
/// `MPTCP_PM_EV_FLAG_DENY_JOIN_ID0`, decoded as `deny_join_id0`.
#[test]
fn a_server_forbidding_joins_to_its_initial_address_is_reported() {
    let ns = Netns::new();
    ns.veth(&["10.4.0.1/24"], &["10.4.0.2/24"]);
    ns.sysctl("net.mptcp.allow_join_initial_addr_port=0");
    ns.run(|| async {
        let mut events = subscribe_events().await.expect("subscribe");
        let listener = mptcp_listen(sa("10.4.0.2:0"));
        let server = listener.local_addr().expect("listener addr");
        let client = mptcp_connect(sa("10.4.0.1:0"), server);
        let local = client.local_addr().expect("client addr");
        let (accepted, _) = listener.accept().expect("accept");
        let is_client = |e: &mptcp_policy_netlink::PmEvent| {
            e.saddr == Some(local.ip()) && e.sport == Some(local.port())
        };
        let created = wait_event(&mut events, 5, "created (client)", |e| {
            e.kind == PmEventKind::Created && is_client(e)
        })
        .await;
        assert_eq!(created.deny_join_id0, Some(true), "{created:?}");
        assert_eq!(created.server_side, Some(false), "{created:?}");
        drop((client, accepted, listener));
    });
}

#[test]
fn overflow_is_reported_then_stream_continues() {
    let ns = Netns::new();
    ns.veth(&["10.6.0.1/24"], &["10.6.0.2/24"]);
    ns.run(|| async {
        let mut events = mptcp_policy_netlink::pm::subscribe_events_with_rcvbuf(4096)
            .await
            .expect("subscribe");
        let listener = mptcp_listen(sa("10.6.0.2:0"));
        let server = listener.local_addr().expect("listener addr");
        // many connections while nobody reads: the tiny buffer overflows
        let mut keep = Vec::new();
        for _ in 0..100 {
            let c = mptcp_connect(sa("10.6.0.1:0"), server);
            let (a, _) = listener.accept().expect("accept");
            keep.push((c, a));
        }
        let mut overflowed = false;
        for _ in 0..1000 {
            match tokio::time::timeout(std::time::Duration::from_secs(2), events.next()).await {
                Ok(Some(Err(mptcp_policy_netlink::PmError::Overflow))) => {
                    overflowed = true;
                    break;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        assert!(overflowed, "no ENOBUFS with a 4 KiB buffer");
        // drain what is queued, then the stream keeps working
        while let Ok(Some(_)) =
            tokio::time::timeout(std::time::Duration::from_millis(200), events.next()).await
        {
        }
        let c = mptcp_connect(sa("10.6.0.1:0"), server);
        let port = c.local_addr().expect("addr").port();
        wait_event(&mut events, 5, "created after overflow", |e| {
            e.kind == PmEventKind::Created && e.sport == Some(port)
        })
        .await;
        // and reports a second overflow (or the events) when all close at once
        drop(keep);
        drop(c);
        let mut closed = 0;
        while closed == 0 {
            match tokio::time::timeout(std::time::Duration::from_secs(5), events.next()).await {
                Ok(Some(Ok(e))) if e.kind == PmEventKind::Closed => closed += 1,
                Ok(Some(Err(mptcp_policy_netlink::PmError::Overflow))) => closed += 1,
                Ok(Some(_)) => {}
                other => panic!("stream stalled after overflow: {other:?}"),
            }
        }
    });
}
