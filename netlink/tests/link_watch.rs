//! The rtnetlink watch against the real kernel, in a throwaway namespace:
//! the initial dump, then link down/up, address add/remove as typed events.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::Netns;
use mptcp_policy_netlink::link::{LinkEvent, LinkWatch};

/// Waits (bounded) for the first event matching `pred`.
async fn wait_event(
    watch: &mut LinkWatch,
    what: &str,
    pred: impl Fn(&LinkEvent) -> bool,
) -> LinkEvent {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let e = watch.next().await.expect("watch alive");
            if pred(&e) {
                return e;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no event: {what}"))
}

#[test]
fn dump_then_link_and_address_events() {
    let ns = Netns::new();
    ns.veth(&["10.3.0.1/24"], &["10.3.0.2/24"]);
    let va = ns.ifindex("va");
    let name = ns.name.clone();
    ns.run(move || async move {
        let (mut watch, snap) = LinkWatch::open().await.expect("open watch");
        let link = snap.links.iter().find(|l| l.name == "va").expect("va in dump");
        assert_eq!(link.index, va);
        assert!(link.admin_up);
        assert_eq!(link.kind.as_deref(), Some("veth"));
        assert!(snap.links.iter().any(|l| l.name == "lo" && l.loopback));
        let a: IpAddr = "10.3.0.1".parse().expect("addr");
        let addr = snap.addresses.iter().find(|x| x.addr == a).expect("address in dump");
        assert_eq!((addr.index, addr.prefix_len), (va, 24));

        let ip = |args: &[&str]| {
            let mut all = vec!["-n", name.as_str()];
            all.extend_from_slice(args);
            let st = std::process::Command::new("ip").args(&all).status().expect("ip");
            assert!(st.success(), "ip {all:?}");
        };
        ip(&["link", "set", "va", "down"]);
        let e = wait_event(&mut watch, "va down", |e| {
            matches!(e, LinkEvent::Link { link, .. } if link.name == "va" && !link.admin_up)
        })
        .await;
        if let LinkEvent::Link { link, .. } = e {
            assert!(!link.usable());
        }
        ip(&["link", "set", "va", "up"]);
        wait_event(&mut watch, "va usable again", |e| {
            matches!(e, LinkEvent::Link { link, .. } if link.name == "va" && link.usable())
        })
        .await;

        ip(&["addr", "add", "fd00:3::1/64", "dev", "va", "nodad"]);
        let v6: IpAddr = "fd00:3::1".parse().expect("addr");
        wait_event(&mut watch, "v6 address added", |e| {
            matches!(e, LinkEvent::Addr { addr, .. } if addr.addr == v6 && !addr.tentative && addr.prefix_len == 64)
        })
        .await;
        ip(&["addr", "del", "10.3.0.1/24", "dev", "va"]);
        wait_event(&mut watch, "v4 address removed", |e| {
            matches!(e, LinkEvent::AddrRemoved { addr, .. } if addr.addr == a && addr.index == va)
        })
        .await;

        ip(&["link", "del", "va"]);
        wait_event(&mut watch, "va removed", |e| {
            matches!(e, LinkEvent::LinkRemoved { index, .. } if *index == va)
        })
        .await;
        let after = watch.dump().await.expect("dump");
        assert!(after.links.iter().all(|l| l.name != "va" && l.name != "vb"));
    });
}
