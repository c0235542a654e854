//! End-to-end: which endpoints the daemon counts as its own, in the two
//! cases the chaos run (`bench/chaos`) caught: an endpoint someone adds
//! for an address before the address appears (the daemon's add gets
//! `EEXIST`: it is not the daemon's and must stay untouched), and a plan
//! that deletes one endpoint and adds another, where the kernel hands the
//! freed id straight to the new endpoint (it is the daemon's).

mod common;

use common::*;
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{ns_exec, Testbed, TestbedOpts};

fn testbed() -> Testbed {
    Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed")
}

#[test]
fn an_endpoint_added_before_its_address_stays_foreign() {
    let tb = testbed();
    let _d = Daemon::start(&tb, WIFI_FIRST).expect("daemon");
    wait_endpoints(&tb, "the daemon's two", |eps| eps.len() == 2).expect("start");
    let ns = tb.client_ns();
    ns_exec(
        ns,
        "ip",
        &[
            "mptcp",
            "endpoint",
            "add",
            "10.1.0.99",
            "id",
            "42",
            "signal",
        ],
    )
    .expect("foreign endpoint");
    ns_exec(ns, "ip", &["addr", "add", "10.1.0.99/24", "dev", "wlan0"]).expect("address");
    // WiFi goes: the daemon deletes its own WiFi endpoint, not id 42.
    tb.link_down("wlan0").expect("down");
    let eps = wait_endpoints(&tb, "the WiFi endpoint gone", |eps| {
        endpoint(eps, WLAN_V4).is_none()
    })
    .expect("deleted");
    let foreign = endpoint(&eps, "10.1.0.99").expect("foreign endpoint still there");
    assert_eq!(
        (foreign.id, foreign.flags.clone()),
        (42, vec!["signal".to_string()])
    );
}

#[test]
fn an_id_reused_within_one_plan_is_ours() {
    let tb = testbed();
    let only_wifi = "[[interface]]\nname = \"wlan0\"\nrole = \"preferred\"\n[[interface]]\nname = \"wwan0\"\nrole = \"off\"\n";
    let only_lte = "[[interface]]\nname = \"wlan0\"\nrole = \"off\"\n[[interface]]\nname = \"wwan0\"\nrole = \"preferred\"\n";
    let d = Daemon::start(&tb, only_wifi).expect("daemon");
    wait_endpoints(&tb, "WiFi only", |eps| {
        eps.len() == 1 && endpoint(eps, WLAN_V4).is_some()
    })
    .expect("start");
    for (policy, addr) in [
        (only_lte, WWAN_V4),
        (only_wifi, WLAN_V4),
        (only_lte, WWAN_V4),
    ] {
        // One plan: delete the one endpoint, add the other (often with the
        // id just freed).
        std::fs::write(&d.config, policy).expect("write policy");
        d.signal(libc::SIGHUP).expect("SIGHUP");
        wait_endpoints(&tb, "switched", |eps| {
            eps.len() == 1 && endpoint(eps, addr).is_some()
        })
        .expect("switched");
    }
    assert_eq!(
        d.log_count("was not created by mptcp-policyd"),
        0,
        "{}",
        d.log()
    );
}
