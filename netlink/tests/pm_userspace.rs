//! Userspace path-manager commands against the real kernel: announce,
//! subflow_create, set_flags_conn, subflow_destroy, remove — each checked by
//! the event it causes. The namespace's `path_manager` is `userspace`.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};

use common::{mptcp_connect, mptcp_listen, wait_event, Netns};
use mptcp_policy_netlink::{PmEvent, PmEventKind, PmHandle};

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

#[test]
fn userspace_pm_commands() {
    let ns = Netns::new();
    ns.veth(&["10.5.0.1/24", "10.5.1.1/24"], &["10.5.0.2/24"]);
    // 6.18 knows `path_manager`; older kernels only `pm_type`
    let modern = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "sysctl",
            "-qw",
            "net.mptcp.path_manager=userspace",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !modern {
        ns.sysctl("net.mptcp.pm_type=1");
    }
    ns.run(|| async {
        let pm = PmHandle::connect().await.expect("connect");
        let mut events = pm.subscribe_events().expect("subscribe");

        let listener = mptcp_listen(sa("10.5.0.2:0"));
        let server = listener.local_addr().expect("listener addr");
        let mut client = mptcp_connect(sa("10.5.0.1:0"), server);
        let local = client.local_addr().expect("client addr");
        let (mut accepted, _) = listener.accept().expect("accept");
        client.write_all(b"ping").expect("write");
        let mut buf = [0u8; 4];
        accepted.read_exact(&mut buf).expect("read");
        accepted.write_all(b"pong").expect("write back");
        client.read_exact(&mut buf).expect("read back");

        let created = wait_event(&mut events, 5, "created (client)", |e| {
            e.kind == PmEventKind::Created && e.sport == Some(local.port())
        })
        .await;
        let token = created.token.expect("client token");
        let srv = wait_event(&mut events, 5, "established (server)", |e| {
            e.kind == PmEventKind::Established && e.server_side == Some(true)
        })
        .await;
        let srv_token = srv.token.expect("server token");
        wait_event(&mut events, 5, "established (client)", |e| {
            e.kind == PmEventKind::Established && e.token == Some(token)
        })
        .await;

        // announce 10.5.1.1 as id 5: the server side sees ANNOUNCED
        pm.announce(token, 5, ip("10.5.1.1"), None, None)
            .await
            .expect("announce");
        let ann = wait_event(&mut events, 5, "announced", |e| {
            e.kind == PmEventKind::Announced && e.token == Some(srv_token)
        })
        .await;
        assert_eq!(ann.rem_id, Some(5));
        assert_eq!(ann.daddr, Some(ip("10.5.1.1")));

        // a subflow from 10.5.1.1 to the server
        pm.subflow_create(token, 5, ip("10.5.1.1"), None, server, false)
            .await
            .expect("subflow_create");
        let sub = wait_event(&mut events, 5, "sub_established (client)", |e| {
            e.kind == PmEventKind::SubEstablished
                && e.token == Some(token)
                && e.saddr == Some(ip("10.5.1.1"))
        })
        .await;
        assert_eq!(sub.loc_id, Some(5));
        assert_eq!(sub.daddr, Some(server.ip()));
        assert_eq!(sub.dport, Some(server.port()));
        let sub_local = SocketAddr::new(ip("10.5.1.1"), sub.sport.expect("sport"));

        // mark it backup: MP_PRIO, seen as SUB_PRIORITY by the peer
        pm.set_flags_conn(token, ip("10.5.1.1"), server, true)
            .await
            .expect("set_flags");
        let prio = wait_event(&mut events, 5, "sub_priority", |e: &PmEvent| {
            e.kind == PmEventKind::SubPriority && e.backup == Some(true)
        })
        .await;
        assert!(prio.token == Some(srv_token) || prio.token == Some(token));

        // destroy the subflow
        pm.subflow_destroy(token, sub_local, server)
            .await
            .expect("subflow_destroy");
        wait_event(&mut events, 5, "sub_closed (client)", |e| {
            e.kind == PmEventKind::SubClosed
                && e.token == Some(token)
                && e.sport == Some(sub_local.port())
        })
        .await;

        // subflow_destroy also dropped the local address 5: announce it again,
        // then withdraw it; the server side sees REMOVED
        pm.announce(token, 5, ip("10.5.1.1"), None, None)
            .await
            .expect("announce again");
        wait_event(&mut events, 5, "announced again", |e| {
            e.kind == PmEventKind::Announced && e.token == Some(srv_token)
        })
        .await;
        pm.remove(token, 5).await.expect("remove");
        let rem = wait_event(&mut events, 5, "removed", |e| {
            e.kind == PmEventKind::Removed && e.token == Some(srv_token)
        })
        .await;
        assert_eq!(rem.rem_id, Some(5));

        // commands on an unknown token are typed kernel errors
        let err = pm.remove(token ^ 0x5a5a, 5).await.expect_err("bad token");
        eprintln!("bad token: {err}");
        assert!(err.errno().is_some(), "{err}");

        drop(client);
        drop(accepted);
        wait_event(&mut events, 5, "closed (client)", |e| {
            e.kind == PmEventKind::Closed && e.token == Some(token)
        })
        .await;
    });
}
