//! End-to-end over D-Bus: the daemon on a private system bus with the real
//! polkitd, in the testbed's client namespace, driven as root with the
//! project's proxies. Changes are visible in the kernel when a call
//! returns; bad input gets a named error and changes nothing; the live
//! introspection equals the shipped XML; state survives a restart.

mod common;

use std::time::Duration;

use common::bus_env::{self, BusEnv};
use common::*;
use mptcp_policy_dbus::names::{interface_path, BUS_NAME, MANAGER_INTERFACE, MANAGER_PATH};
use mptcp_policy_dbus::records::{InterfaceRecord, ManagerRecord};
use mptcp_policy_dbus::{introspection_xml, members, Error};
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use zbus::names::InterfaceName;

fn role_of(env: &BusEnv, ifname: &str) -> String {
    env.interface(ifname, async |p| p.role().await.expect("Role"))
        .expect("bus")
}

#[test]
fn root_changes_roles_and_the_kernel_follows_when_the_call_returns() {
    let env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");

    env.manager(async |m| m.set_interface_role("wlan0", "backup").await)
        .expect("bus")
        .expect("SetInterfaceRole wlan0 backup");
    let eps = endpoints(&env.tb).expect("endpoints");
    assert!(
        endpoint(&eps, WLAN_V4).expect("wlan0 ep").has("backup"),
        "{eps:?}"
    );
    assert_eq!(role_of(&env, "wlan0"), "backup");

    // By type: every cellular interface.
    env.manager(async |m| m.set_interface_role("cellular", "preferred").await)
        .expect("bus")
        .expect("SetInterfaceRole cellular preferred");
    let eps = endpoints(&env.tb).expect("endpoints");
    assert!(
        !endpoint(&eps, WWAN_V4).expect("wwan0 ep").has("backup"),
        "{eps:?}"
    );
    assert_eq!(role_of(&env, "wwan0"), "preferred");

    // Off removes the endpoint; GetPolicy shows the change.
    env.manager(async |m| m.set_interface_role("wlan0", "off").await)
        .expect("bus")
        .expect("SetInterfaceRole wlan0 off");
    assert!(endpoint(&endpoints(&env.tb).expect("eps"), WLAN_V4).is_none());
    let policy = env
        .manager(async |m| m.get_policy().await)
        .expect("bus")
        .expect("GetPolicy");
    assert!(
        policy.contains("name = \"wlan0\"") && policy.contains("role = \"off\""),
        "{policy}"
    );
    assert!(
        env.log().contains("D-Bus SetInterfaceRole wlan0 off"),
        "{}",
        env.log()
    );
}

#[test]
fn bad_input_gets_a_named_error_and_changes_nothing() {
    let mut env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let eps_before = endpoints(&env.tb).expect("eps");
    let state_before = env.state_files();
    let policy_before = env
        .manager(async |m| m.get_policy().await)
        .expect("bus")
        .expect("GetPolicy");

    let bad = "[[interface]]\ntype = \"wifi\"\nrole = \"sometimes\"\n";
    let errors = env
        .manager(async |m| m.validate_policy(bad).await)
        .expect("bus")
        .expect("validate");
    assert!(
        errors.len() == 1 && errors[0].starts_with("3:8:"),
        "{errors:?}"
    );
    match env.manager(async |m| m.set_policy(bad).await).expect("bus") {
        Err(Error::InvalidPolicy(msg)) => assert!(msg.contains("3:8:"), "{msg}"),
        other => panic!("expected InvalidPolicy, got {other:?}"),
    }

    // 1 MiB of garbage (valid UTF-8, as D-Bus strings must be).
    let garbage: String = (0..1024 * 1024)
        .map(|i| char::from(b'!' + (i * 7 % 90) as u8))
        .collect();
    match env
        .manager(async |m| m.set_policy(&garbage).await)
        .expect("bus")
    {
        Err(Error::InvalidPolicy(msg)) => assert!(msg.contains("at most"), "{msg}"),
        other => panic!("expected InvalidPolicy, got {other:?}"),
    }
    let errors = env
        .manager(async |m| m.validate_policy(&garbage[..100_000]).await)
        .expect("bus")
        .expect("validate");
    assert!(!errors.is_empty());

    match env
        .manager(async |m| m.set_interface_role("nosuch0", "backup").await)
        .expect("bus")
    {
        Err(Error::UnknownInterface(msg)) => {
            assert!(msg.contains("wlan0") && msg.contains("wifi"), "{msg}")
        }
        other => panic!("expected UnknownInterface, got {other:?}"),
    }
    match env
        .manager(async |m| m.set_interface_role("wlan0", "sometimes").await)
        .expect("bus")
    {
        Err(Error::InvalidArgument(msg)) => {
            assert!(msg.contains("preferred, backup, off or default"), "{msg}")
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    match env
        .manager(async |m| m.set_budget("wwan0", 1 << 30, "fortnightly").await)
        .expect("bus")
    {
        Err(Error::InvalidArgument(msg)) => {
            assert!(msg.contains("daily, weekly or monthly"), "{msg}")
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    match env
        .manager(async |m| m.set_metered("../../etc", true).await)
        .expect("bus")
    {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("not an interface name"), "{msg}"),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    // Wrong argument types: the bus library refuses them before our code runs.
    let wrong = env
        .manager(async |m| {
            m.inner()
                .connection()
                .call_method(
                    Some(BUS_NAME),
                    MANAGER_PATH,
                    Some(MANAGER_INTERFACE),
                    "SetInterfaceRole",
                    &(7u32, true),
                )
                .await
        })
        .expect("bus");
    match wrong {
        Err(zbus::Error::FDO(e)) => match *e {
            zbus::fdo::Error::InvalidArgs(msg) => assert!(msg.contains("expected `(ss)`"), "{msg}"),
            other => panic!("expected InvalidArgs, got {other:?}"),
        },
        other => panic!("expected InvalidArgs, got {other:?}"),
    }

    assert!(env.daemon_alive(), "the daemon died:\n{}", env.log());
    assert_eq!(
        endpoints(&env.tb).expect("eps"),
        eps_before,
        "the kernel changed"
    );
    assert_eq!(
        env.state_files(),
        state_before,
        "the state directory changed"
    );
    let policy_after = env
        .manager(async |m| m.get_policy().await)
        .expect("bus")
        .expect("GetPolicy");
    assert_eq!(policy_after, policy_before, "the policy changed");
}

#[test]
fn live_introspection_equals_the_shipped_xml() {
    let env = bus_env::start(WIFI_FIRST).expect("env");
    let shipped = members(introspection_xml()).expect("shipped XML");
    let live_xml = |path: String| {
        env.bus
            .busctl(&[
                "call",
                BUS_NAME,
                &path,
                "org.freedesktop.DBus.Introspectable",
                "Introspect",
                "--json=short",
            ])
            .expect("introspect")
    };
    let parse = |json: String| -> String {
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        v["data"][0].as_str().expect("xml string").to_string()
    };
    let manager = members(&parse(live_xml(MANAGER_PATH.into()))).expect("live manager");
    let iface = members(&parse(live_xml(interface_path("wlan0")))).expect("live interface");
    assert_eq!(
        manager.get("org.mptcp.Policy1"),
        shipped.get("org.mptcp.Policy1")
    );
    assert_eq!(
        iface.get("org.mptcp.Policy1.Interface"),
        shipped.get("org.mptcp.Policy1.Interface")
    );
    assert!(manager.contains_key("org.freedesktop.DBus.ObjectManager"));
    // The live objects carry every property of the contract's records, with
    // the records' types (the records equal the XML: dbus/src/records).
    let (manager_props, objects) = env
        .manager(async |m| {
            let conn = m.inner().connection();
            let props = zbus::fdo::PropertiesProxy::builder(conn)
                .destination(BUS_NAME)
                .path(MANAGER_PATH)
                .build()
                .await
                .expect("proxy")
                .get_all(InterfaceName::try_from(MANAGER_INTERFACE).expect("name"))
                .await
                .expect("GetAll");
            let objects = zbus::fdo::ObjectManagerProxy::builder(conn)
                .destination(BUS_NAME)
                .path(MANAGER_PATH)
                .build()
                .await
                .expect("proxy")
                .get_managed_objects()
                .await
                .expect("GetManagedObjects");
            (props, objects)
        })
        .expect("bus");
    assert_eq!(ManagerRecord::missing(&manager_props), Vec::<&str>::new());
    let m = ManagerRecord::from_props(MANAGER_PATH, &manager_props).expect("manager record");
    assert_eq!(m.version, env!("CARGO_PKG_VERSION"));
    let wlan = interface_path("wlan0");
    let props = objects
        .iter()
        .find(|(p, _)| p.as_str() == wlan)
        .and_then(|(_, ifaces)| {
            ifaces
                .iter()
                .find(|(i, _)| i.as_str() == InterfaceRecord::INTERFACE)
                .map(|(_, props)| props)
        })
        .expect("wlan0 in GetManagedObjects");
    assert_eq!(InterfaceRecord::missing(props), Vec::<&str>::new());
    let r = InterfaceRecord::from_props(&wlan, props).expect("interface record");
    assert_eq!((r.name.as_str(), r.kind.as_str()), ("wlan0", "wifi"));
}

#[test]
fn roles_budgets_and_usage_survive_a_restart() {
    let mut env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    env.manager(async |m| {
        m.set_interface_role("wlan0", "backup").await?;
        // Preferred: spending its budget would demote it, so its counters
        // are read while the ping runs (a budgeted link whose demotion
        // changes nothing is read only now and then; mptcp_policy::schedule).
        m.set_interface_role("wwan0", "preferred").await?;
        m.set_budget("wwan0", 5 << 20, "monthly").await?;
        m.set_metered("wwan0", true).await
    })
    .expect("bus")
    .expect("changes");
    // Some traffic over wwan0, then wait for it to be counted.
    let ns = env.tb.client_ns().to_string();
    mptcp_policy_tests::ns_exec(
        &ns,
        "ping",
        &[
            "-q", "-c", "20", "-i", "0.01", "-s", "1000", "-I", WWAN_V4, "10.9.0.1",
        ],
    )
    .expect("ping over wwan0");
    let used = |env: &BusEnv| {
        env.interface("wwan0", async |p| {
            (
                p.bytes_used().await.expect("BytesUsed"),
                p.budget_bytes().await.expect("BudgetBytes"),
                p.metered().await.expect("Metered"),
            )
        })
        .expect("bus")
    };
    mptcp_policy_tests::wait_for("usage counted", Duration::from_secs(5), || {
        Ok(used(&env).0 > 20_000)
    })
    .expect("counted");
    let (before, _, _) = used(&env);

    env.stop_daemon().expect("stop");
    env.start_daemon().expect("restart");
    let (after, budget, metered) = used(&env);
    assert!(after >= before, "usage lost: {before} -> {after}");
    assert_eq!(budget, 5 << 20);
    assert!(metered);
    assert_eq!(role_of(&env, "wlan0"), "backup");
    let eps = endpoints(&env.tb).expect("eps");
    assert!(
        endpoint(&eps, WLAN_V4).expect("wlan0").has("backup"),
        "{eps:?}"
    );

    env.manager(async |m| m.reset_usage("wwan0").await)
        .expect("bus")
        .expect("ResetUsage");
    assert!(used(&env).0 < before, "ResetUsage did not reset");
}
