//! End-to-end: the daemon in the client namespace of the testbed turns
//! "WiFi preferred, LTE backup" into the kernel's endpoints, and real MPTCP
//! traffic follows: WiFi carries the data, LTE holds a backup subflow.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{WLAN_V4, WLAN_V6, WWAN_V4, WWAN_V6};
use mptcp_policy_tests::{Testbed, TestbedOpts};

#[test]
fn endpoints_follow_the_policy_and_wifi_carries_the_data() {
    let tb = Testbed::new(TestbedOpts::default()).expect("testbed");
    let _daemon = Daemon::start(&tb, WIFI_FIRST).expect("daemon");

    // Exactly the endpoints the policy asks for, IPv4 and IPv6, nothing else.
    let eps = wait_endpoints(&tb, "four endpoints", |eps| eps.len() == 4).expect("endpoints");
    for (addr, dev, backup) in [
        (WLAN_V4, "wlan0", false),
        (WLAN_V6, "wlan0", false),
        (WWAN_V4, "wwan0", true),
        (WWAN_V6, "wwan0", true),
    ] {
        let ep = endpoint(&eps, addr).unwrap_or_else(|| panic!("no endpoint for {addr}: {eps:?}"));
        assert!(ep.has("subflow"), "{ep:?}");
        assert_eq!(ep.has("backup"), backup, "{ep:?}");
        assert!(!ep.has("signal") && !ep.has("fullmesh"), "{ep:?}");
        assert_eq!(ep.dev.as_deref(), Some(dev), "{ep:?}");
    }
    let limits =
        mptcp_policy_tests::ip(&["-n", tb.client_ns(), "mptcp", "limits", "show"]).expect("limits");
    assert!(
        limits.contains("subflows 4") && limits.contains("add_addr_accepted 4"),
        "{limits}"
    );

    // A real MPTCP upload: one WiFi subflow, one LTE subflow flagged backup,
    // and WiFi carries (almost) all of the payload.
    let before = radio_bytes(&tb, true).expect("counters");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 3000,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");
    // Both subflows up (the LTE one joins a round trip after WiFi's).
    mptcp_policy_tests::wait_for("a WiFi and an LTE subflow", Duration::from_secs(5), || {
        let subs = subflows(&tb)?;
        Ok(subs.iter().any(|(l, _)| l.starts_with(WLAN_V4))
            && subs.iter().any(|(l, _)| l.starts_with(WWAN_V4)))
    })
    .expect("subflows");
    let subs = subflows(&tb).expect("ss");
    let result = run.wait(Duration::from_secs(30)).expect("stream finished");
    result.check().expect("stream intact");
    let after = radio_bytes(&tb, true).expect("counters");

    let wifi_sub = subs.iter().find(|(local, _)| local.starts_with(WLAN_V4));
    let lte_sub = subs.iter().find(|(local, _)| local.starts_with(WWAN_V4));
    let (_, lte_flags) = lte_sub.unwrap_or_else(|| panic!("no LTE subflow in {subs:?}"));
    assert!(wifi_sub.is_some(), "no WiFi subflow in {subs:?}");
    assert!(
        lte_flags.contains('b'),
        "LTE subflow not flagged backup locally: {subs:?}"
    );
    let share = wlan_share(before, after);
    println!(
        "payload {} bytes; wlan0 share of tx bytes {:.1} % (wlan0 {} B, wwan0 {} B)",
        result.receiver.bytes_received,
        share * 100.0,
        after.0 - before.0,
        after.1 - before.1
    );
    assert!(
        share >= 0.95,
        "only {:.1} % of the bytes crossed wlan0",
        share * 100.0
    );
}

#[test]
fn dry_run_prints_commands_and_changes_nothing() {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let state = tb.tmp_dir().join("dry-state");
    let config = tb.tmp_dir().join("dry.toml");
    std::fs::write(&config, WIFI_FIRST).expect("write");
    let mut p = mptcp_policy_tests::BgProcess::spawn_in_ns(
        tb.client_ns(),
        "dry-run",
        &daemon_bin(),
        &[
            "--config".into(),
            config.display().to_string(),
            "--dry-run".into(),
            "--no-dbus".into(),
            "--state-dir".into(),
            state.display().to_string(),
        ],
        tb.tmp_dir(),
    )
    .expect("spawn");
    mptcp_policy_tests::process::wait_for("dry-run output", Duration::from_secs(10), || {
        Ok(p.stdout()
            .contains("would run: ip mptcp endpoint add 10.2.0.2 dev wwan0 subflow backup"))
    })
    .unwrap_or_else(|e| panic!("{e:#}\nstdout: {}\nstderr: {}", p.stdout(), p.stderr()));
    assert!(
        p.stdout()
            .contains("would run: ip mptcp endpoint add 10.1.0.2 dev wlan0 subflow\n"),
        "{}",
        p.stdout()
    );
    assert!(
        endpoints(&tb).expect("endpoints").is_empty(),
        "dry run changed the kernel"
    );
    p.stop();
}
