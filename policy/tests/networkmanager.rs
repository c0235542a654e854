//! The NetworkManager hint table and the hook's input check
//! (`mptcp_policy::networkmanager`), as tables.
use std::collections::HashMap;

use mptcp_policy::networkmanager::*;
use mptcp_policy::{Connectivity, InterfaceHints, InterfaceType, NmMetered};

fn hints(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn dev(iface: &str, activated: bool, metered: u32, conn: u32, kind: u32) -> NmDevice {
    NmDevice {
        iface: iface.into(),
        device_type: mptcp_policy::type_from_nm_device_type(kind),
        metered: NmMetered::from_nm(metered),
        connectivity: Connectivity::from_nm(conn),
        managed: true,
        activated,
    }
}

#[test]
fn bad_notify_input_is_named_table() {
    #[allow(clippy::type_complexity)]
    #[rustfmt::skip]
    let cases: &[(&str, &str, &[(&str, &str)], &str)] = &[
        ("wlan0", "hostname", &[], "unknown NetworkManager dispatcher action \"hostname\""),
        ("wlan0", "", &[], "unknown NetworkManager dispatcher action \"\""),
        ("", "up", &[], "action \"up\" needs an interface name"),
        ("a/b", "up", &[], "\"a/b\" is not an interface name"),
        ("sixteen-chars-xx", "up", &[], "is not an interface name"),
        ("wl an", "up", &[], "is not an interface name"),
        ("wlan0", "up", &[("colour", "red")], "unknown hint \"colour\""),
        ("wlan0", "connectivity-change", &[("connectivity", "SORTA")], "unknown connectivity state \"SORTA\""),
        ("wlan0", "up", &[("device-type", "wi fi")], "device type \"wi fi\" is not a type name"),
    ];
    for (iface, action, h, want) in cases {
        let e = parse_notify(iface, action, &hints(h)).expect_err(want);
        assert!(e.0.contains(want), "{iface} {action}: {e}");
    }
}

#[test]
fn hook_events_table() {
    // (events, then hints of wlan0 as (connectivity, type))
    let up_full = [("connectivity", "FULL")];
    #[allow(clippy::type_complexity)]
    #[rustfmt::skip]
    let cases: &[(&[(&str, &str, &[(&str, &str)])], Option<Connectivity>, Option<InterfaceType>)] = &[
        (&[("wlan0", "up", &[("device-type", "wifi")])], None, Some(InterfaceType::Wifi)),
        (&[("wlan0", "up", &[("device-type", "ethernet")])], None, Some(InterfaceType::Ethernet)),
        (&[("wlan0", "up", &[("device-type", "generic")])], None, None),
        (&[("wlan0", "connectivity-change", &[("connectivity", "PORTAL")])], Some(Connectivity::Portal), None),
        (&[("wlan0", "connectivity-change", &[("connectivity", "UNKNOWN")])], None, None),
        (&[("wlan0", "connectivity-change", &[("connectivity", "PORTAL")]), ("wlan0", "up", &up_full)], Some(Connectivity::Full), None),
        (&[("wlan0", "connectivity-change", &[("connectivity", "LIMITED")]), ("wlan0", "down", &[])], None, None),
        // global state without NetworkManager's device list: the up interfaces
        (&[("", "connectivity-change", &[("connectivity", "PORTAL")])], Some(Connectivity::Portal), None),
        (&[("", "connectivity-change", &[("connectivity", "PORTAL")]), ("", "connectivity-change", &up_full)], None, None),
    ];
    for (i, (events, conn, kind)) in cases.iter().enumerate() {
        let mut t = HintTable::default();
        for (iface, action, h) in events.iter() {
            let n = parse_notify(iface, action, &hints(h)).expect("valid");
            t.apply_notify(&n, &["wlan0".to_string()]);
        }
        assert_eq!(t.policy_hints("wlan0").connectivity, *conn, "case {i}");
        assert_eq!(t.device_type("wlan0").map(|s| s.value), *kind, "case {i}");
    }
}

#[test]
fn watcher_and_hook_together() {
    let mut t = HintTable::default();
    // NetworkManager's view: eth1 activated, metered guess-yes, portal
    let changes = t.apply_devices(&[dev("eth1", true, 3, 2, 1), dev("eth2", true, 0, 4, 20)]);
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(
        t.policy_hints("eth1"),
        InterfaceHints {
            metered: Some(NmMetered::GuessYes),
            connectivity: Some(Connectivity::Portal)
        }
    );
    assert_eq!(
        t.published("eth1")["metered"],
        ("guess-yes".to_string(), "networkmanager".to_string())
    );
    // The same again changes nothing.
    assert!(t
        .apply_devices(&[dev("eth1", true, 3, 2, 1), dev("eth2", true, 0, 4, 20)])
        .is_empty());
    // While NetworkManager is watched, the hook's connectivity (global
    // or not, possibly late) changes nothing: NetworkManager is re-read.
    let portal = parse_notify(
        "",
        "connectivity-change",
        &hints(&[("connectivity", "PORTAL")]),
    )
    .expect("ok");
    assert!(t.apply_notify(&portal, &["eth2".into()]).is_empty());
    let n = parse_notify(
        "eth2",
        "connectivity-change",
        &hints(&[("connectivity", "LIMITED")]),
    )
    .expect("ok");
    assert!(t.apply_notify(&n, &["eth2".into()]).is_empty());
    assert_eq!(
        t.published("eth2")["connectivity"],
        ("full".to_string(), "networkmanager".to_string())
    );
    // A deactivated device has no connectivity hint.
    t.apply_device(&dev("eth1", false, 3, 1, 1));
    assert_eq!(t.policy_hints("eth1").connectivity, None);
    // NetworkManager leaves: its values go; what the hook says on the
    // way out (NONE) is stale.
    t.forget_watcher();
    assert_eq!(t.policy_hints("eth1"), InterfaceHints::default());
    assert_eq!(t.policy_hints("eth2"), InterfaceHints::default());
    assert!(t.apply_notify(&portal, &["eth2".into()]).is_empty());
    // A daemon that never saw NetworkManager's devices has only the
    // hook's word: the global PORTAL reaches the up interfaces.
    let mut blind = HintTable::default();
    blind.apply_notify(&portal, &["eth2".into()]);
    assert_eq!(
        blind.published("eth2")["connectivity"],
        ("portal".to_string(), "networkmanager-hook".to_string())
    );
    // A specific type from the hook survives NetworkManager's generic
    // ethernet (veth), not a specific one.
    let n = parse_notify("eth2", "up", &hints(&[("device-type", "wifi")])).expect("ok");
    t.apply_notify(&n, &[]);
    t.apply_device(&dev("eth2", true, 0, 4, 20));
    assert_eq!(
        t.device_type("eth2").map(|s| (s.value, s.source)),
        Some((InterfaceType::Wifi, "networkmanager-hook"))
    );
    t.apply_device(&dev("eth2", true, 0, 4, 8));
    assert_eq!(
        t.device_type("eth2").map(|s| (s.value, s.source)),
        Some((InterfaceType::Cellular, "networkmanager"))
    );
    // An unmanaged device's metered value is not used.
    let mut d = dev("eth3", false, 1, 0, 2);
    d.managed = false;
    t.apply_device(&d);
    assert_eq!(t.policy_hints("eth3").metered, None);
    assert_eq!(
        t.device_type("eth3").map(|s| s.value),
        Some(InterfaceType::Wifi)
    );
}
