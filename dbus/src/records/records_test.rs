//! The records agree with the XML; diff, apply and round trips.

use super::*;
use crate::signals::Props;

/// `(name, signature)` of every property of `interface` in the shipped XML.
fn xml_properties(interface: &str) -> Vec<(String, String)> {
    let members = crate::members(crate::introspection_xml()).expect("xml");
    let mut out: Vec<(String, String)> = members[interface]
        .iter()
        .filter_map(|l| l.strip_prefix("property "))
        .map(|l| {
            let mut parts = l.split(':');
            let name = parts.next().expect("name").to_string();
            let sig = parts.next().expect("type").to_string();
            assert_eq!(parts.next(), Some("read"), "{l}: read-only");
            (name, sig)
        })
        .collect();
    out.sort();
    out
}

fn sorted(v: Vec<(&'static str, String)>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = v.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
    v.sort();
    v
}

#[test]
fn every_record_is_its_interface_in_the_xml() {
    assert_eq!(
        sorted(InterfaceRecord::properties()),
        xml_properties(InterfaceRecord::INTERFACE)
    );
    assert_eq!(
        sorted(ConnectionRecord::properties()),
        xml_properties(ConnectionRecord::INTERFACE)
    );
    assert_eq!(
        sorted(ManagerRecord::properties()),
        xml_properties(ManagerRecord::INTERFACE)
    );
}

fn props(changes: Changes) -> Props {
    changes
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

#[test]
fn a_change_is_the_diff_of_two_records_and_applies_back() {
    let old = InterfaceRecord {
        name: "wwan0".into(),
        kind: "cellular".into(),
        role: "backup".into(),
        addresses: vec!["10.2.0.2".into()],
        ..Default::default()
    };
    let mut new = old.clone();
    new.role = "preferred".into();
    new.hints
        .insert("metered".into(), ("yes".into(), "networkmanager".into()));
    let diff = old.diff(&new).expect("encodes");
    let names: Vec<&str> = diff.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["Role", "Hints"]);
    assert!(old.diff(&old).expect("encodes").is_empty());
    let mut client = old.clone();
    client.apply("/p", &props(diff)).expect("decodes");
    assert_eq!(client, new);
    // A full set round-trips and lacks nothing.
    let all = props(new.to_props().expect("encodes"));
    assert!(InterfaceRecord::missing(&all).is_empty());
    assert_eq!(
        InterfaceRecord::from_props("/p", &all).expect("decodes"),
        new
    );
    let c = ConnectionRecord {
        token: 7,
        promoted: vec!["wwan0".into()],
        ..Default::default()
    };
    let all = props(c.to_props().expect("encodes"));
    assert_eq!(
        ConnectionRecord::from_props("/c", &all).expect("decodes"),
        c
    );
    let m = ManagerRecord {
        limits: (4, 4),
        ..Default::default()
    };
    let all = props(m.to_props().expect("encodes"));
    assert_eq!(ManagerRecord::from_props("/m", &all).expect("decodes"), m);
}

#[test]
fn missing_unknown_and_wrongly_typed_properties() {
    let mut p = Props::new();
    p.insert("Role".into(), encode(&"off").expect("v"));
    p.insert("FromTheFuture".into(), encode(&1u8).expect("v"));
    let r = InterfaceRecord::from_props("/i", &p).expect("decodes");
    assert_eq!(r.role, "off");
    assert!(InterfaceRecord::missing(&p).contains(&"Up"));
    p.insert("Up".into(), encode(&"yes").expect("v"));
    let e = InterfaceRecord::from_props("/i", &p).expect_err("wrong type");
    assert_eq!(e.property, "Up");
    assert!(e.to_string().contains("/i"), "{e}");
}

#[test]
fn json_keeps_the_clients_shape() {
    let mut r = InterfaceRecord {
        kind: "wifi".into(),
        ..Default::default()
    };
    r.hints
        .insert("metered".into(), ("no".into(), "networkmanager".into()));
    let j = serde_json::to_value(&r).expect("json");
    assert_eq!(j["type"], "wifi");
    assert_eq!(j["hints"]["metered"]["source"], "networkmanager");
}
