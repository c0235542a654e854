//! The signal table agrees with the XML, and every signal decodes.

use super::*;
use crate::names::MANAGER_PATH;

fn signal<B>(path: &str, iface: &str, member: &str, b: &B) -> Message
where
    B: serde::Serialize + zbus::wire::DynamicType,
{
    Message::signal(path, iface, member)
        .build(b)
        .expect("message")
}

fn manager<B>(member: &str, b: &B) -> Signal
where
    B: serde::Serialize + zbus::wire::DynamicType,
{
    let msg = signal(MANAGER_PATH, MANAGER_INTERFACE, member, b);
    match DaemonSignal::decode(&msg).expect("decodes") {
        Some(DaemonSignal::Manager(s)) => s,
        other => panic!("{member}: {other:?}"),
    }
}

#[test]
fn the_table_is_the_xml() {
    let members = crate::members(crate::introspection_xml()).expect("xml");
    let mut from_xml: Vec<(String, String)> = members[MANAGER_INTERFACE]
        .iter()
        .filter_map(|l| l.strip_prefix("signal "))
        .map(|l| {
            let (name, args) = l.split_once('(').expect("(");
            let sig: String = args
                .strip_suffix(')')
                .expect(")")
                .split(',')
                .filter(|a| !a.is_empty())
                .map(|a| a.split(':').nth(1).expect("type").to_string())
                .collect();
            (name.to_string(), sig)
        })
        .collect();
    from_xml.sort();
    let mut table: Vec<(String, String)> = SIGNALS
        .iter()
        .map(|(m, s)| (m.to_string(), s.to_string()))
        .collect();
    table.sort();
    assert_eq!(table, from_xml);
}

#[test]
fn every_signal_of_the_table_decodes_to_its_variant() {
    let sf = SubflowInfo {
        local_address: "10.2.0.2".into(),
        local_port: 1,
        remote_address: "10.9.0.1".into(),
        remote_port: 2,
        backup: true,
        interface: "wwan0".into(),
    };
    let ends = (7u32, "10.1.0.2", 3u16, "10.9.0.1", 4u16);
    let decoded = [
        manager("ConnectionCreated", &ends),
        manager("ConnectionEstablished", &ends),
        manager("ConnectionClosed", &7u32),
        manager("SubflowEstablished", &(7u32, sf.clone())),
        manager("SubflowClosed", &(7u32, sf.clone())),
        manager("SubflowPriority", &(7u32, sf.clone())),
        manager("AddressAnnounced", &(7u32, 2u8, "10.2.0.9", 0u16)),
        manager("AddressRemoved", &(7u32, 2u8)),
        manager("PolicyChanged", &()),
        manager("HealthChanged", &("wlan0", "stalled", "no ack")),
        manager("BudgetWarning", &("wwan0", 8u64, 10u64)),
        manager("BudgetExhausted", &("wwan0", 11u64, 10u64)),
    ];
    for (s, (member, _)) in decoded.iter().zip(SIGNALS) {
        assert_eq!(s.member(), member);
        assert!(!matches!(s, Signal::Unknown { .. }), "{member}");
    }
    assert_eq!(
        decoded[0],
        Signal::ConnectionCreated(Ends {
            token: 7,
            local_address: "10.1.0.2".into(),
            local_port: 3,
            remote_address: "10.9.0.1".into(),
            remote_port: 4,
        })
    );
    assert_eq!(
        decoded[5],
        Signal::SubflowPriority {
            token: 7,
            subflow: sf
        }
    );
}

#[test]
fn malformed_unknown_and_object_signals() {
    let msg = signal(MANAGER_PATH, MANAGER_INTERFACE, "ConnectionClosed", &"oops");
    let e = DaemonSignal::decode(&msg).expect_err("wrong body");
    assert_eq!(e.member, "ConnectionClosed");
    assert_eq!(
        manager("SomethingNew", &(1u32,)),
        Signal::Unknown {
            member: "SomethingNew".into(),
            signature: "u".into()
        }
    );
    let mut changed: HashMap<&str, zbus::wire::Variant> = HashMap::new();
    changed.insert("Role", zbus::wire::Variant::from("backup"));
    let msg = signal(
        "/org/mptcp/Policy1/interface/wlan0",
        "org.freedesktop.DBus.Properties",
        "PropertiesChanged",
        &(INTERFACE_INTERFACE, changed, vec!["Up"]),
    );
    match DaemonSignal::decode(&msg).expect("decodes") {
        Some(DaemonSignal::Changed {
            path,
            kind,
            changed,
            invalidated,
        }) => {
            assert_eq!(path, "/org/mptcp/Policy1/interface/wlan0");
            assert_eq!(kind, ObjectKind::Interface);
            assert!(changed.contains_key("Role"));
            assert_eq!(invalidated, vec!["Up".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    let msg = signal(
        MANAGER_PATH,
        "org.freedesktop.DBus.ObjectManager",
        "InterfacesRemoved",
        &(
            zbus::wire::ObjectPath::try_from("/org/mptcp/Policy1/connection/7").expect("path"),
            vec![CONNECTION_INTERFACE, "org.freedesktop.DBus.Properties"],
        ),
    );
    assert_eq!(
        DaemonSignal::decode(&msg).expect("decodes"),
        Some(DaemonSignal::Removed {
            path: "/org/mptcp/Policy1/connection/7".into(),
            kinds: vec![ObjectKind::Connection]
        })
    );
    let msg = signal("/x", "org.example.Other", "Thing", &());
    assert_eq!(DaemonSignal::decode(&msg).expect("ok"), None);
}
