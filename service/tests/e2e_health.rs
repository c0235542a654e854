//! End-to-end path health: WiFi fails silently (every packet dropped, the
//! link stays up). The daemon notices from the subflows' counters, removes
//! the WiFi endpoint so the stream moves to LTE, probes WiFi, and restores
//! it once it answers again. Idle and pausing connections never trigger it.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::clock::{monotonic_us, sleep_until_us};
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::WLAN_V4;
use mptcp_policy_tests::{Testbed, TestbedOpts};

const POLICY: &str = WIFI_FIRST_QUICK_RECOVERY;

fn testbed() -> Testbed {
    Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed")
}

fn silent_loss(direction: Direction) {
    let tb = testbed();
    let mut daemon = Daemon::start(&tb, POLICY).expect("daemon");
    wait_endpoints(&tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let tx = direction == Direction::Upload;
    let spec = StreamSpec {
        direction,
        duration_ms: 10_000,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");
    sleep_until_us(t0 + 2_000_000);
    let cut = tb.blackhole("wlan0").expect("blackhole");
    wait_endpoints(&tb, "WiFi endpoint removed", |eps| {
        endpoint(eps, WLAN_V4).is_none()
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", daemon.log()));
    let demoted_ms = (monotonic_us() - cut) as f64 / 1000.0;
    daemon
        .wait_log("wlan0: health", Duration::from_secs(2))
        .expect("transition logged");
    // The link never went down: this was the health monitor.
    assert!(
        !daemon.log().contains("wlan0: up -> down"),
        "{}",
        daemon.log()
    );
    // The verdict (RoleReason) says stalled, with the monitor's evidence.
    daemon
        .wait_log("; path stalled (", Duration::from_secs(2))
        .expect("stalled verdict");
    check_stalled_reason(&daemon.log());

    sleep_until_us(cut + 2_500_000);
    let healed = tb.unblackhole("wlan0").expect("unblackhole");
    wait_endpoints(&tb, "WiFi endpoint restored", |eps| {
        endpoint(eps, WLAN_V4).is_some()
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", daemon.log()));
    let restored_ms = (monotonic_us() - healed) as f64 / 1000.0;
    // Traffic back on WiFi on the same connection.
    sleep_until_us(healed + restored_ms as u64 * 1000 + 1_000_000);
    let a = radio_bytes(&tb, tx).expect("counters");
    sleep_until_us(monotonic_us() + 1_000_000);
    let b = radio_bytes(&tb, tx).expect("counters");

    let result = run.wait(Duration::from_secs(60)).expect("stream");
    result.check().expect("the stream survived the silent loss");
    let rx = &result.receiver;
    println!(
        "{}: WiFi endpoint removed {demoted_ms:.0} ms after the cut; gap {:.0} ms, cut->steady {:?} ms; \
         restored {restored_ms:.0} ms after the loss ended; wlan0 share after {:.0} %",
        direction.name(),
        rx.gap_after(cut) as f64 / 1000.0,
        rx.cut_to_steady(cut).map(|us| us / 1000),
        wlan_share(a, b) * 100.0
    );
    println!("daemon log:\n{}", daemon.log());
    assert!(daemon.log().contains("-> stalled"), "{}", daemon.log());
    assert!(wlan_share(a, b) >= 0.9, "traffic did not return to WiFi");
    daemon.stop().expect("clean exit");
}

/// The verdict of a stalled wlan0 names the stall and the evidence the
/// health transition logged, never "interface down".
fn check_stalled_reason(log: &str) {
    let evidence = log
        .lines()
        .find_map(|l| {
            let rest = l.split("wlan0: health ").nth(1)?;
            let rest = rest.split(" -> stalled (").nth(1)?;
            rest.strip_suffix(')').map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no stall transition with evidence:\n{log}"));
    let verdict = log
        .lines()
        .find(|l| l.contains("wlan0 (wifi): Preferred") && l.contains("; path stalled ("))
        .unwrap_or_else(|| panic!("no stalled verdict:\n{log}"));
    assert!(
        verdict.contains(&format!("; path stalled ({evidence})")),
        "{verdict}\nevidence: {evidence}"
    );
    assert!(!verdict.contains("interface down"), "{verdict}");
}

#[test]
fn silent_wifi_loss_on_upload_is_detected_demoted_and_restored() {
    silent_loss(Direction::Upload);
}

#[test]
fn silent_wifi_loss_on_download_is_detected_demoted_and_restored() {
    silent_loss(Direction::Download);
}

#[test]
fn idle_and_pausing_connections_never_stall_a_path() {
    let tb = testbed();
    let daemon = Daemon::start(&tb, POLICY).expect("daemon");
    wait_endpoints(&tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    for (what, spec) in [
        (
            "idle",
            StreamSpec {
                idle: true,
                duration_ms: 3000,
                port: 5301,
                ..StreamSpec::default()
            },
        ),
        (
            "on/off upload",
            StreamSpec {
                on_ms: 1000,
                off_ms: 1000,
                duration_ms: 5000,
                port: 5302,
                ..StreamSpec::default()
            },
        ),
        (
            "on/off download",
            StreamSpec {
                direction: Direction::Download,
                on_ms: 1000,
                off_ms: 1000,
                duration_ms: 5000,
                port: 5303,
                ..StreamSpec::default()
            },
        ),
    ] {
        let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");
        run.wait(Duration::from_secs(30))
            .expect(what)
            .check()
            .expect(what);
    }
    let log = daemon.log();
    assert!(!log.contains("-> stalled"), "a false stall:\n{log}");
    assert_eq!(endpoints(&tb).expect("eps").len(), 2, "endpoints changed");
}
