//! `monitor`'s decoding, one line per signal.

use super::*;
use mptcp_policy_dbus::names::{CONNECTION_INTERFACE, INTERFACE_INTERFACE, MANAGER_INTERFACE};
use mptcp_policy_dbus::SubflowInfo;
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

fn signal<B>(path: &str, iface: &str, member: &str, b: &B) -> Message
where
    B: serde::Serialize + zbus::wire::DynamicType,
{
    Message::signal(path, iface, member)
        .build(b)
        .expect("message")
}

fn line(msg: &Message) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
    decode(msg, false).expect("decode").expect("event").line(t)
}

fn sf(backup: bool) -> SubflowInfo {
    SubflowInfo {
        local_address: "10.2.0.2".into(),
        local_port: 40001,
        remote_address: "10.9.0.1".into(),
        remote_port: 5201,
        backup,
        interface: "wwan0".into(),
    }
}

#[test]
fn manager_signals_become_one_line_each() {
    let m = |member: &str| (MANAGER_PATH, MANAGER_INTERFACE, member.to_string());
    let cases: Vec<(Message, &str)> = vec![
        (
            {
                let (p, i, n) = m("ConnectionCreated");
                signal(p, i, &n, &(7u32, "10.1.0.2", 40000u16, "10.9.0.1", 5201u16))
            },
            "connection-created token=7 10.1.0.2:40000 -> 10.9.0.1:5201",
        ),
        (
            {
                let (p, i, n) = m("ConnectionEstablished");
                signal(p, i, &n, &(7u32, "2001:db8::1", 1u16, "2001:db8::2", 2u16))
            },
            "connection-established token=7 [2001:db8::1]:1 -> [2001:db8::2]:2",
        ),
        (
            {
                let (p, i, n) = m("ConnectionClosed");
                signal(p, i, &n, &7u32)
            },
            "connection-closed token=7",
        ),
        (
            {
                let (p, i, n) = m("SubflowEstablished");
                signal(p, i, &n, &(7u32, sf(true)))
            },
            "subflow-established token=7 10.2.0.2:40001 -> 10.9.0.1:5201 dev=wwan0 backup",
        ),
        (
            {
                let (p, i, n) = m("SubflowPriority");
                signal(p, i, &n, &(7u32, sf(false)))
            },
            "subflow-priority token=7 10.2.0.2:40001 -> 10.9.0.1:5201 dev=wwan0 active",
        ),
        (
            {
                let (p, i, n) = m("AddressAnnounced");
                signal(p, i, &n, &(7u32, 2u8, "10.2.0.9", 0u16))
            },
            "address-announced token=7 id=2 10.2.0.9",
        ),
        (
            {
                let (p, i, n) = m("AddressRemoved");
                signal(p, i, &n, &(7u32, 2u8))
            },
            "address-removed token=7 id=2",
        ),
        (
            {
                let (p, i, n) = m("PolicyChanged");
                signal(p, i, &n, &())
            },
            "policy-changed",
        ),
        (
            {
                let (p, i, n) = m("BudgetWarning");
                signal(p, i, &n, &("wwan0", 8u64 << 27, 1u64 << 30))
            },
            "budget-warning wwan0 used=1.0 GiB budget=1.0 GiB (100%)",
        ),
        (
            {
                let (p, i, n) = m("BudgetExhausted");
                signal(p, i, &n, &("wwan0", 3u64 << 30, 2u64 << 30))
            },
            "budget-exhausted wwan0 used=3.0 GiB budget=2.0 GiB (150%)",
        ),
    ];
    for (msg, expected) in cases {
        assert_eq!(line(&msg), format!("2024-02-29T12:34:56.789Z {expected}"));
    }
}

#[test]
fn interface_property_changes_and_daemon_presence() {
    let mut changed: HashMap<&str, zbus::wire::Variant> = HashMap::new();
    changed.insert("Role", zbus::wire::Variant::from("backup"));
    changed.insert("Up", zbus::wire::Variant::from(false));
    let msg = signal(
        "/org/mptcp/Policy1/interface/eth0_2e100",
        "org.freedesktop.DBus.Properties",
        "PropertiesChanged",
        &(INTERFACE_INTERFACE, changed, Vec::<&str>::new()),
    );
    let ev = decode(&msg, false).expect("decode").expect("event");
    assert_eq!(ev.event, "interface-changed");
    assert_eq!(ev.text, "eth0.100 role=backup state=down");
    let j = ev.json(UNIX_EPOCH);
    assert_eq!(j["event"], "interface-changed");
    assert_eq!(j["interface"], "eth0.100");
    assert_eq!(j["changes"]["role"], "backup");
    assert_eq!(j["changes"]["up"], false);
    assert_eq!(j["time"], "1970-01-01T00:00:00.000Z");

    // Connection object bookkeeping is covered by the signals: no line.
    let msg = signal(
        "/org/mptcp/Policy1/connection/7",
        "org.freedesktop.DBus.Properties",
        "PropertiesChanged",
        &(
            CONNECTION_INTERFACE,
            HashMap::<&str, zbus::wire::Variant>::new(),
            Vec::<&str>::new(),
        ),
    );
    assert_eq!(decode(&msg, false).expect("decode"), None);

    let msg = signal(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameOwnerChanged",
        &(BUS_NAME, ":1.5", ""),
    );
    assert_eq!(
        decode(&msg, false).expect("d").expect("e").event,
        "daemon-stopped"
    );
    let msg = signal(
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameOwnerChanged",
        &(BUS_NAME, "", ":1.9"),
    );
    assert_eq!(
        line(&msg),
        "2024-02-29T12:34:56.789Z daemon-started owner=:1.9"
    );

    let msg = signal(
        MANAGER_PATH,
        "org.freedesktop.DBus.ObjectManager",
        "InterfacesRemoved",
        &(
            zbus::wire::ObjectPath::try_from("/org/mptcp/Policy1/interface/wlan0").expect("path"),
            vec![INTERFACE_INTERFACE],
        ),
    );
    assert_eq!(
        line(&msg),
        "2024-02-29T12:34:56.789Z interface-removed wlan0"
    );
}

#[test]
fn byte_counters_only_with_usage() {
    let mut changed: HashMap<&str, zbus::wire::Variant> = HashMap::new();
    changed.insert("BytesUsed", zbus::wire::Variant::from(1536u64));
    let msg = signal(
        "/org/mptcp/Policy1/interface/wwan0",
        "org.freedesktop.DBus.Properties",
        "PropertiesChanged",
        &(INTERFACE_INTERFACE, changed, Vec::<&str>::new()),
    );
    assert_eq!(decode(&msg, false).expect("decode"), None);
    let ev = decode(&msg, true).expect("decode").expect("event");
    assert_eq!(ev.text, "wwan0 used=1.5 KiB");
    assert_eq!(ev.fields["changes"]["bytes_used"], 1536);
}

#[test]
fn json_lines_carry_the_fields() {
    let msg = signal(
        MANAGER_PATH,
        MANAGER_INTERFACE,
        "SubflowClosed",
        &(9u32, sf(true)),
    );
    let j = decode(&msg, false).expect("d").expect("e").json(UNIX_EPOCH);
    assert_eq!(j["event"], "subflow-closed");
    assert_eq!(j["token"], 9);
    assert_eq!(j["subflow"]["backup"], true);
    assert_eq!(j["subflow"]["interface"], "wwan0");
    assert!(!j.to_string().contains('\n'));
}

#[test]
fn malformed_and_unknown_signals() {
    let msg = signal(MANAGER_PATH, MANAGER_INTERFACE, "ConnectionClosed", &"oops");
    assert!(decode(&msg, false).is_err());
    let msg = signal(MANAGER_PATH, MANAGER_INTERFACE, "SomethingNew", &(1u32,));
    let ev = decode(&msg, false).expect("d").expect("e");
    assert_eq!(ev.event, "something-new");
}

#[test]
fn names_convert() {
    assert_eq!(kebab("ConnectionCreated"), "connection-created");
    assert_eq!(snake("RoleReason"), "role_reason");
    assert_eq!(
        interface_name("/org/mptcp/Policy1/interface/wwan_5f0"),
        "wwan_0"
    );
}
