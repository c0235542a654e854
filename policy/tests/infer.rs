//! `infer_type`: explicit config > NetworkManager (not generic ethernet) >
//! sysfs > name prefix > NetworkManager's ethernet > unknown.

use mptcp_policy::{infer_type, InterfaceType as T, Policy, TypeHints, TypeSource as S};

fn hints(nm: Option<T>, devtype: Option<&str>, wireless: bool) -> TypeHints {
    TypeHints {
        nm_type: nm,
        sysfs_devtype: devtype.map(str::to_owned),
        sysfs_wireless: wireless,
    }
}

#[test]
fn infer_type_table() {
    let policy = Policy::parse(
        "p.toml",
        "[interface_types]\n\"usb0\" = \"cellular\"\n\"usb*\" = \"ethernet\"\n\"wlan9\" = \"other\"\n\"u*\" = \"vpn\"\n",
    )
    .expect("parses");
    let none = hints(None, None, false);
    let table: &[(&str, TypeHints, (T, S))] = &[
        // explicit config beats everything, exact name before globs
        (
            "usb0",
            hints(Some(T::Ethernet), Some("wwan"), false),
            (T::Cellular, S::Config),
        ),
        ("usb1", none.clone(), (T::Ethernet, S::Config)),
        ("ux", none.clone(), (T::Vpn, S::Config)),
        (
            "wlan9",
            hints(Some(T::Wifi), Some("wlan"), true),
            (T::Other, S::Config),
        ),
        // NetworkManager next, unless it only says ethernet
        (
            "eth0",
            hints(Some(T::Cellular), None, false),
            (T::Cellular, S::NetworkManager),
        ),
        (
            "wwan0",
            hints(Some(T::Ethernet), None, false),
            (T::Cellular, S::Name),
        ),
        (
            "mystery",
            hints(Some(T::Ethernet), None, false),
            (T::Ethernet, S::NetworkManager),
        ),
        (
            "mystery",
            hints(Some(T::Unknown), None, false),
            (T::Unknown, S::None),
        ),
        (
            "mystery",
            hints(Some(T::Ethernet), Some("wwan"), false),
            (T::Cellular, S::Sysfs),
        ),
        // sysfs
        (
            "eth1",
            hints(None, Some("wlan"), false),
            (T::Wifi, S::Sysfs),
        ),
        (
            "foo",
            hints(None, Some("wwan"), false),
            (T::Cellular, S::Sysfs),
        ),
        ("foo", hints(None, None, true), (T::Wifi, S::Sysfs)),
        (
            "foo",
            hints(None, Some("bridge"), false),
            (T::Bridge, S::Sysfs),
        ),
        (
            "foo",
            hints(None, Some("wireguard"), false),
            (T::Vpn, S::Sysfs),
        ),
        (
            "foo",
            hints(None, Some("vlan"), false),
            (T::Unknown, S::None),
        ),
        // name prefix
        ("wlp2s0", none.clone(), (T::Wifi, S::Name)),
        ("wlan0", none.clone(), (T::Wifi, S::Name)),
        ("wwan0", none.clone(), (T::Cellular, S::Name)),
        ("wwp0s20f0u6", none.clone(), (T::Cellular, S::Name)),
        ("rmnet_data0", none.clone(), (T::Cellular, S::Name)),
        ("enp3s0", none.clone(), (T::Ethernet, S::Name)),
        ("eth0", none.clone(), (T::Ethernet, S::Name)),
        ("wg0", none.clone(), (T::Vpn, S::Name)),
        ("virbr0", none.clone(), (T::Bridge, S::Name)),
        ("lo", none.clone(), (T::Unknown, S::None)),
        ("dummy0", none.clone(), (T::Unknown, S::None)),
    ];
    for (name, h, want) in table {
        assert_eq!(infer_type(&policy, name, h), *want, "{name} {h:?}");
    }
}

#[test]
fn type_names_round_trip() {
    for t in T::ALL {
        assert_eq!(t.to_string().parse::<T>(), Ok(t));
    }
}
