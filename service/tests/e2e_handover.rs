//! End-to-end: WiFi goes away mid-stream (link down) and comes back; the
//! daemon moves the connection to LTE and back without the application
//! seeing an error. Prints the delivery gap the user would feel.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::clock::{monotonic_us, sleep_until_us};
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::WLAN_V4;
use mptcp_policy_tests::{Testbed, TestbedOpts};

fn handover(direction: Direction) {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let mut daemon = Daemon::start(&tb, WIFI_FIRST).expect("daemon");
    wait_endpoints(&tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let tx = direction == Direction::Upload;

    let spec = StreamSpec {
        direction,
        duration_ms: 9000,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");

    sleep_until_us(t0 + 2_000_000);
    let cut = tb.link_down("wlan0").expect("link down");
    // The daemon deletes the WiFi endpoint.
    wait_endpoints(&tb, "WiFi endpoint removed", |eps| {
        endpoint(eps, WLAN_V4).is_none()
    })
    .expect("removed");
    daemon
        .wait_log("reaction_us=", Duration::from_secs(5))
        .expect("reaction logged");
    sleep_until_us(cut + 1_000_000);
    let on_lte_from = radio_bytes(&tb, tx).expect("counters");
    sleep_until_us(cut + 2_000_000);
    let on_lte_to = radio_bytes(&tb, tx).expect("counters");

    let up = tb.link_up("wlan0").expect("link up");
    wait_endpoints(&tb, "WiFi endpoint back", |eps| {
        endpoint(eps, WLAN_V4).is_some()
    })
    .expect("back");
    // Give the new WiFi subflow a moment to join, then measure a window.
    sleep_until_us(up + 2_000_000);
    let back_from = radio_bytes(&tb, tx).expect("counters");
    sleep_until_us(up + 3_500_000);
    let back_to = radio_bytes(&tb, tx).expect("counters");

    let result = run.wait(Duration::from_secs(30)).expect("stream finished");
    result
        .check()
        .expect("the stream continued without error and lost nothing");
    let rx = &result.receiver;
    let gap_ms = rx.gap_after(cut) as f64 / 1000.0;
    let steady_ms = rx.cut_to_steady(cut).map(|us| us as f64 / 1000.0);
    println!(
        "{}: gap after WiFi link-down {gap_ms:.1} ms, cut->steady {steady_ms:?} ms, wlan0 share while down {:.1} %, after return {:.1} %",
        direction.name(),
        wlan_share(on_lte_from, on_lte_to) * 100.0,
        wlan_share(back_from, back_to) * 100.0
    );
    println!("daemon log:\n{}", daemon.log());
    assert!(
        wlan_share(on_lte_from, on_lte_to) < 0.05,
        "data still on wlan0 while it is down"
    );
    assert!(
        on_lte_to.1 - on_lte_from.1 > 100_000,
        "LTE did not carry the stream while WiFi was down"
    );
    assert!(
        wlan_share(back_from, back_to) >= 0.9,
        "traffic did not return to wlan0: share {:.2}",
        wlan_share(back_from, back_to)
    );
    assert!(
        rx.reads.iter().any(|r| r.0 > up + 3_000_000),
        "stream ended early"
    );
}

#[test]
fn upload_survives_wifi_link_down_and_returns() {
    handover(Direction::Upload);
}

#[test]
fn download_survives_wifi_link_down_and_returns() {
    handover(Direction::Download);
}
