//! `mptcp_pm` endpoints, limits and kernel errors against the real kernel,
//! each test in its own throwaway namespace.

mod common;

use std::net::IpAddr;

use common::Netns;
use mptcp_policy_netlink::{EndpointFlags, Limits, PmError, PmHandle};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn flags(s: &str) -> EndpointFlags {
    let mut f = EndpointFlags::default();
    for w in s.split_whitespace() {
        match w {
            "signal" => f.signal = true,
            "subflow" => f.subflow = true,
            "backup" => f.backup = true,
            "fullmesh" => f.fullmesh = true,
            other => panic!("flag {other}"),
        }
    }
    f
}

/// `ip mptcp endpoint show` lines, normalised to "ADDR id N FLAGS [dev X]".
fn ip_show(ns: &Netns) -> Vec<String> {
    ns.ip(&["mptcp", "endpoint", "show"])
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn add_get_dump_change_delete_flush() {
    let ns = Netns::new();
    ns.veth(
        &["10.1.0.1/24", "10.1.1.1/24", "10.1.2.1/24"],
        &["10.1.0.2/24"],
    );
    let va = ns.ifindex("va");
    let out = ns.run(move || async move {
        let pm = PmHandle::connect().await.expect("connect");
        pm.endpoint_flush().await.expect("flush");
        // without id: the kernel picks 1
        pm.endpoint_add(ip("10.1.0.1"), None, None, None, flags("subflow"))
            .await
            .expect("add 1");
        // with id, ifindex and backup
        pm.endpoint_add(
            ip("10.1.1.1"),
            Some(7),
            None,
            Some(va),
            flags("subflow backup"),
        )
        .await
        .expect("add 7");
        // signal with a port
        pm.endpoint_add(ip("10.1.2.1"), Some(9), Some(10_000), None, flags("signal"))
            .await
            .expect("add 9");

        let e7 = pm.endpoint_get(7).await.expect("get 7");
        assert_eq!(e7.addr, ip("10.1.1.1"));
        assert_eq!(e7.ifindex, Some(va));
        assert_eq!(e7.flags, flags("subflow backup"));
        let e9 = pm.endpoint_get(9).await.expect("get 9");
        assert_eq!(e9.port, Some(10_000));
        assert!(e9.flags.signal);

        let mut all = pm.endpoint_dump().await.expect("dump");
        all.sort_by_key(|e| e.id);
        let ids: Vec<u8> = all.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![1, 7, 9]);
        assert_eq!(all[0].addr, ip("10.1.0.1"));
        assert_eq!(all[0].flags, flags("subflow"));
        all
    });
    let _ = out;
    assert_eq!(
        ip_show(&ns),
        vec![
            "10.1.0.1 id 1 subflow",
            "10.1.1.1 id 7 subflow backup dev va",
            "10.1.2.1 port 10000 id 9 signal",
        ]
    );

    ns.run(|| async {
        let pm = PmHandle::connect().await.expect("connect");
        // change by id: 1 becomes backup
        pm.endpoint_set_flags(1, flags("subflow backup"))
            .await
            .expect("change id 1");
        // change by address: 7 loses backup, gains fullmesh
        pm.endpoint_set_flags_by_addr(ip("10.1.1.1"), flags("subflow fullmesh"))
            .await
            .expect("change 10.1.1.1");
        assert!(pm.endpoint_get(1).await.expect("get 1").flags.backup);
        let e7 = pm.endpoint_get(7).await.expect("get 7");
        assert!(e7.flags.fullmesh && !e7.flags.backup);
    });
    assert_eq!(
        ip_show(&ns),
        vec![
            "10.1.0.1 id 1 subflow backup",
            "10.1.1.1 id 7 subflow fullmesh dev va",
            "10.1.2.1 port 10000 id 9 signal",
        ]
    );

    ns.run(|| async {
        let pm = PmHandle::connect().await.expect("connect");
        pm.endpoint_del(7).await.expect("del 7");
        pm.endpoint_del_by_addr(ip("10.1.2.1"))
            .await
            .expect("del by addr");
        let left = pm.endpoint_dump().await.expect("dump");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, 1);
        // the kernel's id-0 address form succeeds and keeps endpoint 1
        pm.endpoint_del_addr(ip("10.1.0.1"))
            .await
            .expect("del id 0 addr");
        assert_eq!(pm.endpoint_dump().await.expect("dump").len(), 1);
        pm.endpoint_flush().await.expect("flush");
        assert!(pm.endpoint_dump().await.expect("dump").is_empty());
    });
    assert!(ip_show(&ns).is_empty());
}

#[test]
fn limits_set_get() {
    let ns = Netns::new();
    ns.run(|| async {
        let pm = PmHandle::connect().await.expect("connect");
        let fresh = pm.limits_get().await.expect("limits");
        assert_eq!(
            fresh,
            Limits {
                subflows: 2,
                add_addr_accepted: 0
            }
        );
        let want = Limits {
            subflows: 5,
            add_addr_accepted: 3,
        };
        pm.limits_set(want).await.expect("set");
        assert_eq!(pm.limits_get().await.expect("get"), want);
        // above MPTCP_PM_ADDR_MAX (8)
        let err = pm
            .limits_set(Limits {
                subflows: 9,
                add_addr_accepted: 0,
            })
            .await
            .expect_err("too many subflows");
        assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
        eprintln!("limits error: {err}");
    });
    let shown = ns.ip(&["mptcp", "limits", "show"]);
    assert!(shown.contains("add_addr_accepted 3 subflows 5"), "{shown}");
}

#[test]
fn kernel_errors_are_typed() {
    let ns = Netns::new();
    ns.veth(&["10.2.0.1/24"], &["10.2.0.2/24"]);
    ns.run(|| async {
        let pm = PmHandle::connect().await.expect("connect");
        let sub = flags("subflow");
        pm.endpoint_add(ip("10.2.0.1"), None, None, None, sub)
            .await
            .expect("add");

        // duplicate address
        let err = pm
            .endpoint_add(ip("10.2.0.1"), None, None, None, sub)
            .await
            .expect_err("duplicate");
        eprintln!("duplicate: {err}");
        assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");
        assert!(err.is_exists());
        assert!(
            err.to_string()
                .starts_with("mptcp_pm: endpoint add 10.2.0.1 subflow: File exists (EEXIST)"),
            "{err}"
        );

        // duplicate id on another address
        let err = pm
            .endpoint_add(ip("10.2.0.9"), Some(1), None, None, sub)
            .await
            .expect_err("duplicate id");
        eprintln!("duplicate id: {err}");
        assert_eq!(err.errno(), Some(libc::EBUSY), "{err}");

        // signal + fullmesh is refused by the kernel itself
        let err = pm
            .endpoint_add(ip("10.2.0.3"), None, None, None, flags("signal fullmesh"))
            .await
            .expect_err("bad flags");
        eprintln!("bad flags: {err}");
        assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
        let PmError::Kernel { message, .. } = &err else {
            panic!("not a kernel error: {err}")
        };
        assert!(message.is_some(), "extack text expected: {err}");

        // unknown id
        let err = pm.endpoint_del(77).await.expect_err("unknown id");
        eprintln!("unknown id: {err}");
        assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
        let err = pm.endpoint_get(77).await.expect_err("get unknown id");
        eprintln!("get unknown id: {err}");
        assert!(
            matches!(err.errno(), Some(libc::EINVAL) | Some(libc::ENOENT)),
            "{err}"
        );
        let err = pm
            .endpoint_set_flags(77, sub)
            .await
            .expect_err("change unknown");
        assert_eq!(err.errno(), Some(libc::EINVAL), "{err}");
        let err = pm
            .endpoint_del_by_addr(ip("10.9.9.9"))
            .await
            .expect_err("del unknown addr");
        assert!(err.is_not_found(), "{err}");

        // more than 8 endpoints
        for i in 2..=8u8 {
            pm.endpoint_add(ip(&format!("10.3.0.{i}")), None, None, None, sub)
                .await
                .expect("add up to 8");
        }
        let err = pm
            .endpoint_add(ip("10.3.0.99"), None, None, None, sub)
            .await
            .expect_err("ninth endpoint");
        eprintln!("ninth: {err}");
        assert_eq!(err.errno(), Some(libc::ERANGE), "{err}");
        assert_eq!(pm.endpoint_dump().await.expect("dump").len(), 8);
    });
}
