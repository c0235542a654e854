//! `evaluate`: roles, flags, address filtering, ranking and the cap.

mod common;

use common::{addr, fixed_now, iface, observed, policy, EXAMPLE};
use mptcp_policy::{evaluate, Desired, InterfaceType as T, Role, MAX_ENDPOINTS};

/// (addr, ifname, flags) for compact comparison.
fn eps(d: &Desired) -> Vec<(String, String, String)> {
    d.endpoints
        .iter()
        .map(|e| (e.addr.to_string(), e.ifname.clone(), e.flags.to_string()))
        .collect()
}

fn row(a: &str, i: &str, f: &str) -> (String, String, String) {
    (a.to_owned(), i.to_owned(), f.to_owned())
}

#[test]
fn example_with_ipv4_ipv6_and_several_addresses() {
    let p = policy(EXAMPLE);
    let o = observed(vec![
        iface(
            3,
            "wwan0",
            T::Cellular,
            true,
            &["100.64.1.2/30", "2001:db8:c::5/64"],
        ),
        iface(
            2,
            "wlan0",
            T::Wifi,
            true,
            &[
                "2001:db8:a::2/64",
                "192.168.1.20/24",
                "192.168.1.21/24",
                "fe80::1/64",
            ],
        ),
        iface(4, "eth0", T::Ethernet, true, &["10.0.0.2/24"]),
        iface(1, "lo", T::Unknown, true, &["127.0.0.1/8", "::1/128"]),
    ]);
    let d = evaluate(&p, &o, &fixed_now());
    assert_eq!(
        eps(&d),
        vec![
            row("192.168.1.20", "wlan0", "subflow"),
            row("192.168.1.21", "wlan0", "subflow"),
            row("2001:db8:a::2", "wlan0", "subflow"),
            row("10.0.0.2", "eth0", "subflow"),
            row("100.64.1.2", "wwan0", "subflow backup"),
            row("2001:db8:c::5", "wwan0", "subflow backup"),
        ]
    );
    assert!(d.left_out.is_empty());
    assert_eq!((d.limits.subflows, d.limits.add_addr_accepted), (4, 4));
    let verdicts: Vec<(u32, &str, Role, Option<usize>)> = d
        .interfaces
        .iter()
        .map(|v| (v.index, v.name.as_str(), v.role, v.matched_entry))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            (1, "lo", Role::Off, None),
            (2, "wlan0", Role::Preferred, Some(0)),
            (3, "wwan0", Role::Backup, Some(2)),
            (4, "eth0", Role::Preferred, Some(1)),
        ]
    );
    assert_eq!(
        d.interfaces[0].reason,
        "no [[interface]] entry matches: left alone"
    );
    assert_eq!(
        d.interfaces[1].reason,
        "matched [[interface]] #1 (type = wifi) in test.toml:2"
    );
    assert_eq!(
        d.interfaces[1].skipped_addresses,
        vec![("fe80::1".parse().expect("ip"), "link-local".to_owned())]
    );
}

#[test]
fn announce_and_fullmesh_flags() {
    for (general, want_pref, want_backup) in [
        ("", "subflow", "subflow backup"),
        (
            "[general]\nannounce = true\n",
            "signal subflow",
            "signal subflow backup",
        ),
        (
            "[general]\nfullmesh = true\n",
            "subflow fullmesh",
            "subflow backup fullmesh",
        ),
    ] {
        let p = policy(&format!("{general}{EXAMPLE}"));
        let o = observed(vec![
            iface(2, "wlan0", T::Wifi, true, &["192.168.1.20"]),
            iface(3, "wwan0", T::Cellular, true, &["100.64.1.2"]),
        ]);
        let d = evaluate(&p, &o, &fixed_now());
        assert_eq!(d.endpoints[0].flags.to_string(), want_pref, "{general}");
        assert_eq!(d.endpoints[1].flags.to_string(), want_backup, "{general}");
    }
}

#[test]
fn address_filtering() {
    let p = policy(EXAMPLE);
    let mut wlan = iface(
        2,
        "wlan0",
        T::Wifi,
        true,
        &[
            "127.0.0.2/8",
            "169.254.3.4/16",
            "fe80::2/64",
            "fe90::1/64",
            "0.0.0.0/0",
            "224.0.0.1/4",
            "ff02::1/16",
            "::1/128",
            "::/0",
        ],
    );
    let mut flagged = |s: &str, t: bool, d: bool, f: bool| {
        let mut a = addr(s);
        (a.tentative, a.deprecated, a.dadfailed) = (t, d, f);
        wlan.addresses.push(a);
    };
    flagged("2001:db8::10/64", true, false, false);
    flagged("2001:db8::11/64", false, true, false);
    flagged("2001:db8::12/64", false, false, true);
    flagged("2001:db8::13/64", false, false, false);
    flagged("192.0.2.7/24", false, false, false);
    let d = evaluate(&p, &observed(vec![wlan]), &fixed_now());
    assert_eq!(
        eps(&d),
        vec![
            row("192.0.2.7", "wlan0", "subflow"),
            row("2001:db8::13", "wlan0", "subflow")
        ]
    );
    let skipped: Vec<(String, &str)> = d.interfaces[0]
        .skipped_addresses
        .iter()
        .map(|(a, why)| (a.to_string(), why.as_str()))
        .collect();
    let want: &[(&str, &str)] = &[
        ("0.0.0.0", "unspecified"),
        ("127.0.0.2", "loopback"),
        ("169.254.3.4", "link-local"),
        ("224.0.0.1", "multicast"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        (
            "2001:db8::10",
            "tentative (duplicate address detection running)",
        ),
        ("2001:db8::11", "deprecated"),
        ("2001:db8::12", "duplicate address detection failed"),
        ("fe80::2", "link-local"),
        ("fe90::1", "link-local"),
        ("ff02::1", "multicast"),
    ];
    let want: Vec<(String, &str)> = want.iter().map(|(a, w)| (a.to_string(), *w)).collect();
    assert_eq!(skipped, want);
}

#[test]
fn interfaces_appearing_disappearing_and_going_down() {
    let p = policy(EXAMPLE);
    let wlan = iface(2, "wlan0", T::Wifi, true, &["192.168.1.20"]);
    let wwan = iface(3, "wwan0", T::Cellular, true, &["100.64.1.2"]);
    let both = evaluate(
        &p,
        &observed(vec![wlan.clone(), wwan.clone()]),
        &fixed_now(),
    );
    assert_eq!(both.endpoints.len(), 2);

    // wlan0 goes down: its endpoint goes, the verdict says why.
    let mut down = wlan.clone();
    down.up = false;
    let d = evaluate(&p, &observed(vec![down, wwan.clone()]), &fixed_now());
    assert_eq!(eps(&d), vec![row("100.64.1.2", "wwan0", "subflow backup")]);
    assert_eq!(
        d.interfaces[0].reason,
        "matched [[interface]] #1 (type = wifi) in test.toml:2; interface down"
    );
    assert_eq!(d.interfaces[0].role, Role::Preferred);

    // wlan0 stalls (silent loss, link up): no endpoint, role kept, and the
    // reason says stalled with the monitor's evidence, not "down".
    let mut stalled = wlan.clone();
    stalled.stalled = Some("no ACK for 120 ms with 8 segments outstanding".into());
    let d = evaluate(&p, &observed(vec![stalled, wwan.clone()]), &fixed_now());
    assert_eq!(eps(&d), vec![row("100.64.1.2", "wwan0", "subflow backup")]);
    assert_eq!(
        d.interfaces[0].reason,
        "matched [[interface]] #1 (type = wifi) in test.toml:2; path stalled (no ACK for 120 ms with 8 segments outstanding): no endpoint until its probes answer again"
    );
    assert_eq!(d.interfaces[0].role, Role::Preferred);

    // wlan0 disappears entirely.
    let d = evaluate(&p, &observed(vec![wwan.clone()]), &fixed_now());
    assert_eq!(d.interfaces.len(), 1);
    assert_eq!(eps(&d), vec![row("100.64.1.2", "wwan0", "subflow backup")]);

    // wlan0 comes back up without an address yet.
    let bare = iface(2, "wlan0", T::Wifi, true, &[]);
    let d = evaluate(&p, &observed(vec![bare, wwan.clone()]), &fixed_now());
    assert_eq!(
        d.interfaces[0].reason,
        "matched [[interface]] #1 (type = wifi) in test.toml:2; no usable address"
    );
    assert_eq!(d.endpoints.len(), 1);

    // a new ethernet appears: ranked by entry order before the backup.
    let eth = iface(7, "eth1", T::Ethernet, true, &["10.0.0.2"]);
    let d = evaluate(&p, &observed(vec![wwan, eth, wlan]), &fixed_now());
    assert_eq!(
        eps(&d),
        vec![
            row("192.168.1.20", "wlan0", "subflow"),
            row("10.0.0.2", "eth1", "subflow"),
            row("100.64.1.2", "wwan0", "subflow backup"),
        ]
    );
}

#[test]
fn unmatched_and_off_interfaces_get_no_endpoint() {
    let p = policy("[[interface]]\ntype = \"vpn\"\nrole = \"off\"\n[[interface]]\nname = \"eth*\"\ntype = \"wifi\"\nrole = \"preferred\"\n");
    let o = observed(vec![
        iface(1, "wg0", T::Vpn, true, &["10.9.0.1"]),
        iface(2, "eth0", T::Ethernet, true, &["10.0.0.2"]), // name matches, type does not
        iface(3, "docker0", T::Bridge, true, &["172.17.0.1"]),
    ]);
    let d = evaluate(&p, &o, &fixed_now());
    assert!(d.endpoints.is_empty());
    assert_eq!(d.interfaces[0].role, Role::Off);
    assert_eq!(d.interfaces[0].matched_entry, Some(0));
    assert_eq!(d.interfaces[1].matched_entry, None);
    assert_eq!(
        d.interfaces[2].reason,
        "no [[interface]] entry matches: left alone"
    );
}

#[test]
fn first_matching_entry_decides() {
    let p = policy("[[interface]]\nname = \"wlan1\"\nrole = \"backup\"\n[[interface]]\ntype = \"wifi\"\nrole = \"preferred\"\n");
    let o = observed(vec![
        iface(1, "wlan0", T::Wifi, true, &["192.168.1.2"]),
        iface(2, "wlan1", T::Wifi, true, &["192.168.2.2"]),
    ]);
    let d = evaluate(&p, &o, &fixed_now());
    assert_eq!(
        eps(&d),
        vec![
            row("192.168.1.2", "wlan0", "subflow"),
            row("192.168.2.2", "wlan1", "subflow backup")
        ]
    );
}

#[test]
fn more_than_eight_endpoints_are_ranked_and_the_rest_left_out() {
    let p = policy(EXAMPLE);
    let o = observed(vec![
        iface(
            9,
            "wwan0",
            T::Cellular,
            true,
            &["100.64.1.2", "2001:db8:c::2/64"],
        ),
        iface(
            5,
            "eth1",
            T::Ethernet,
            true,
            &["10.1.0.2", "2001:db8:e1::2/64"],
        ),
        iface(
            4,
            "eth0",
            T::Ethernet,
            true,
            &["10.0.0.3", "10.0.0.2", "2001:db8:e0::2/64"],
        ),
        iface(
            2,
            "wlan0",
            T::Wifi,
            true,
            &["2001:db8:a::2/64", "192.168.1.20"],
        ),
    ]);
    let d = evaluate(&p, &o, &fixed_now());
    assert_eq!(d.endpoints.len(), MAX_ENDPOINTS);
    let order: Vec<String> = d.endpoints.iter().map(|e| e.addr.to_string()).collect();
    assert_eq!(
        order,
        [
            "192.168.1.20",
            "2001:db8:a::2",
            "10.0.0.2",
            "10.0.0.3",
            "2001:db8:e0::2",
            "10.1.0.2",
            "2001:db8:e1::2",
            "100.64.1.2"
        ]
    );
    let left: Vec<String> = d.left_out.iter().map(|e| e.addr.to_string()).collect();
    assert_eq!(left, ["2001:db8:c::2"]);
}

#[test]
fn same_address_on_two_interfaces_is_used_once() {
    let p = policy(EXAMPLE);
    let o = observed(vec![
        iface(2, "wlan0", T::Wifi, true, &["192.168.1.20"]),
        iface(4, "eth0", T::Ethernet, true, &["192.168.1.20"]),
    ]);
    let d = evaluate(&p, &o, &fixed_now());
    assert_eq!(eps(&d), vec![row("192.168.1.20", "wlan0", "subflow")]);
    assert_eq!(d.left_out.len(), 1);
}

#[test]
fn output_does_not_depend_on_input_order() {
    let p = policy(EXAMPLE);
    let mut ifaces = vec![
        iface(
            3,
            "wwan0",
            T::Cellular,
            true,
            &["100.64.1.2", "2001:db8:c::5/64"],
        ),
        iface(
            2,
            "wlan0",
            T::Wifi,
            true,
            &["2001:db8:a::2/64", "192.168.1.20"],
        ),
        iface(4, "eth0", T::Ethernet, false, &["10.0.0.2"]),
    ];
    let first = evaluate(&p, &observed(ifaces.clone()), &fixed_now());
    ifaces.reverse();
    for i in &mut ifaces {
        i.addresses.reverse();
    }
    assert_eq!(evaluate(&p, &observed(ifaces), &fixed_now()), first);
}
