//! Make before break in `evaluate`: a degraded preferred path hands its
//! traffic to a healthy, allowed backup by swapping backup flags — both
//! keep their endpoints — bounded by roles, budgets and NetworkManager.

mod common;

use common::*;
use mptcp_policy::{evaluate, Desired, InterfaceType, ObservedInterface};

fn wlan() -> ObservedInterface {
    iface(2, "wlan0", InterfaceType::Wifi, true, &["10.1.0.2/24"])
}

fn wwan() -> ObservedInterface {
    iface(3, "wwan0", InterfaceType::Cellular, true, &["10.2.0.2/24"])
}

fn eth() -> ObservedInterface {
    iface(4, "eth0", InterfaceType::Ethernet, true, &["10.3.0.2/24"])
}

fn degraded(mut i: ObservedInterface) -> ObservedInterface {
    i.degraded =
        Some("31 of 290 data segments sent in the last 300 ms were retransmitted (11 %)".into());
    i
}

/// `(ifname, backup)` of every endpoint.
fn flags(d: &Desired) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = d
        .endpoints
        .iter()
        .map(|e| (e.ifname.clone(), e.flags.backup))
        .collect();
    v.sort();
    v
}

fn reason<'a>(d: &'a Desired, name: &str) -> &'a str {
    &d.interfaces
        .iter()
        .find(|v| v.name == name)
        .expect("verdict")
        .reason
}

fn pairs(list: &[(&str, bool)]) -> Vec<(String, bool)> {
    list.iter().map(|(n, b)| (n.to_string(), *b)).collect()
}

#[test]
fn degraded_wifi_swaps_flags_with_a_healthy_backup() {
    let p = policy(EXAMPLE);
    let healthy = evaluate(&p, &observed(vec![wlan(), wwan()]), &fixed_now());
    assert_eq!(flags(&healthy), pairs(&[("wlan0", false), ("wwan0", true)]));

    let d = evaluate(&p, &observed(vec![degraded(wlan()), wwan()]), &fixed_now());
    // Both keep their endpoint; only the backup flags swap.
    assert_eq!(flags(&d), pairs(&[("wlan0", true), ("wwan0", false)]));
    assert!(
        reason(&d, "wlan0").contains("path degraded (31 of 290")
            && reason(&d, "wlan0").contains("backup while wwan0 carries the traffic"),
        "{}",
        reason(&d, "wlan0")
    );
    assert!(reason(&d, "wwan0").contains("promoted: carries the traffic while wlan0 is degraded"));
    let wwan_v = d
        .interfaces
        .iter()
        .find(|v| v.name == "wwan0")
        .expect("wwan0");
    assert_eq!(wwan_v.stands_in_for, vec!["wlan0".to_string()]);
    // The roles themselves are unchanged (the user's words).
    assert_eq!(wwan_v.role, mptcp_policy::Role::Backup);
}

#[test]
fn a_healthy_preferred_path_takes_over_without_promoting_the_backup() {
    let p = policy(EXAMPLE);
    let d = evaluate(
        &p,
        &observed(vec![degraded(wlan()), wwan(), eth()]),
        &fixed_now(),
    );
    assert_eq!(
        flags(&d),
        pairs(&[("eth0", false), ("wlan0", true), ("wwan0", true)])
    );
    assert!(reason(&d, "wlan0").contains("backup while eth0 carries the traffic"));
    assert!(!reason(&d, "wwan0").contains("promoted"));
}

#[test]
fn nothing_allowed_to_take_over_leaves_the_degraded_path_carrying() {
    let rows: Vec<(&str, String, Vec<ObservedInterface>)> = vec![
        ("no backup at all", EXAMPLE.to_string(), vec![degraded(wlan())]),
        (
            "backup off",
            EXAMPLE.replace("role = \"backup\"", "role = \"off\""),
            vec![degraded(wlan()), wwan()],
        ),
        // A budget that is spent lowers the role to its when_exhausted;
        // backup by budget is not promotable.
        (
            "budget spent",
            format!(
                "{EXAMPLE}budget = {{ bytes = \"1MB\", period = \"monthly\", when_exhausted = \"backup\" }}\n"
            ),
            vec![degraded(wlan()), spent(wwan())],
        ),
        ("backup degraded too", EXAMPLE.to_string(), vec![degraded(wlan()), degraded(wwan())]),
        ("backup down", EXAMPLE.to_string(), vec![degraded(wlan()), {
            let mut w = wwan();
            w.up = false;
            w
        }]),
    ];
    for (name, text, ifaces) in rows {
        let p = policy(&text);
        let d = evaluate(&p, &observed(ifaces), &fixed_now());
        let wlan_flags = d
            .endpoints
            .iter()
            .find(|e| e.ifname == "wlan0")
            .map(|e| e.flags.backup);
        assert_eq!(wlan_flags, Some(false), "{name}: {:?}", flags(&d));
        assert!(
            d.endpoints
                .iter()
                .all(|e| e.ifname != "wwan0" || e.flags.backup),
            "{name}: {:?}",
            flags(&d)
        );
        assert!(
            reason(&d, "wlan0").contains("no healthy path may take over"),
            "{name}: {}",
            reason(&d, "wlan0")
        );
    }
}

fn spent(mut i: ObservedInterface) -> ObservedInterface {
    i.usage = Some(mptcp_policy::BudgetInput {
        used_in_period: 2_000_000,
        used_today: 0,
    });
    i
}

#[test]
fn a_stalled_path_still_goes_the_fast_way() {
    let p = policy(EXAMPLE);
    let mut w = degraded(wlan());
    w.stalled = Some("no ACK for 120 ms".into());
    let d = evaluate(&p, &observed(vec![w, wwan()]), &fixed_now());
    // No endpoint for the stalled path; the backup is simply the only one.
    assert_eq!(flags(&d), pairs(&[("wwan0", true)]));
}
