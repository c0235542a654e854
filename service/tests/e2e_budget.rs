//! End-to-end metered budget: both radios preferred, WiFi rate-limited so
//! LTE carries part of an upload; a 3 MiB monthly budget on wwan0 with
//! `when_exhausted = "off"`. The daemon must remove the LTE endpoint within
//! one second of the counters crossing the budget, and afterwards (almost)
//! no MPTCP payload may cross wwan0.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::clock::{monotonic_us, sleep_until_us};
use mptcp_policy_tests::daemon_env::DaemonEnv;
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::TestbedOpts;

const BUDGET: u64 = 3 << 20;
/// What may still cross wwan0 after the demotion: data already in flight
/// on the LTE subflow when its endpoint goes (at most a window's worth).
const AFTER_LIMIT: u64 = 256 << 10;

const POLICY: &str = r#"[limits]
subflows = 4
add_addr_accepted = 4
[[interface]]
type = "wifi"
role = "preferred"
[[interface]]
type = "cellular"
role = "preferred"
metered = true
budget = { bytes = "3MiB", period = "monthly", warn_at = [0.5, 0.8], when_exhausted = "off", daily_allowance = false }
"#;

#[test]
fn the_lte_endpoint_goes_within_a_second_of_the_budget_and_lte_stays_quiet() {
    let env = DaemonEnv::start_with(
        &daemon_bin(),
        POLICY,
        TestbedOpts {
            ipv6: false,
            wifi_rate_kbit: Some(8_000),
            ..TestbedOpts::default()
        },
    )
    .expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");

    let base = radio_bytes(&env.tb, true).expect("counters");
    let base_rx = radio_bytes(&env.tb, false).expect("counters");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 8000,
        chunk: 2048,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&env.tb, &stream_bin(), &spec).expect("stream");
    // Sample wwan0's counters (what the carrier counts: rx + tx) and the
    // endpoints every 20 ms.
    let mut crossed_at = None;
    let mut demoted_at = None;
    let mut wwan_at_demotion = 0;
    let mut tick = t0;
    while monotonic_us() < t0 + 9_000_000 && demoted_at.is_none() {
        tick += 20_000;
        sleep_until_us(tick);
        let tx = radio_bytes(&env.tb, true).expect("counters");
        let rx = radio_bytes(&env.tb, false).expect("counters");
        let wwan = (tx.1 - base.1) + (rx.1 - base_rx.1);
        if crossed_at.is_none() && wwan >= BUDGET {
            crossed_at = Some(monotonic_us());
        }
        let eps = endpoints(&env.tb).expect("eps");
        if endpoint(&eps, WWAN_V4).is_none() {
            demoted_at = Some(monotonic_us());
            wwan_at_demotion = wwan;
            assert!(
                endpoint(&eps, WLAN_V4).is_some(),
                "WiFi endpoint must stay: {eps:?}"
            );
        }
    }
    let result = run.wait(Duration::from_secs(60)).expect("stream");
    result.check().expect("the stream went on over WiFi");
    let tx = radio_bytes(&env.tb, true).expect("counters");
    let rx = radio_bytes(&env.tb, false).expect("counters");
    let wwan_end = (tx.1 - base.1) + (rx.1 - base_rx.1);

    let crossed = crossed_at.expect("LTE never carried the budget");
    let demoted = demoted_at.unwrap_or_else(|| panic!("never demoted\n{}", env.log()));
    let latency_ms = (demoted as f64 - crossed as f64) / 1000.0;
    let after = wwan_end - wwan_at_demotion;
    println!(
        "budget {BUDGET} B: crossed at +{:.0} ms, endpoint removed {latency_ms:.0} ms later; \
         wwan0 at removal {wwan_at_demotion} B, {after} B more until the end",
        (crossed - t0) as f64 / 1000.0
    );
    assert!(latency_ms <= 1000.0, "demotion took {latency_ms} ms");
    assert!(
        after <= AFTER_LIMIT,
        "{after} B crossed wwan0 after the demotion (limit {AFTER_LIMIT})"
    );
    // The MPTCP share of wwan0's bytes comes from the subflows' own counters.
    let (used, mptcp) = env
        .interface("wwan0", async |p| {
            (
                p.bytes_used().await.expect("BytesUsed"),
                p.mptcp_bytes_used().await.expect("MptcpBytesUsed"),
            )
        })
        .expect("bus");
    println!("wwan0: {used} B counted, {mptcp} B of it carried by MPTCP subflows");
    assert!(
        mptcp > BUDGET / 2 && mptcp <= used,
        "MPTCP share {mptcp} of {used}"
    );
    // ResetUsage restores the configured role at once: the endpoint is back
    // when the call returns.
    env.manager(async |m| m.reset_usage("wwan0").await)
        .expect("bus")
        .expect("ResetUsage");
    let eps = endpoints(&env.tb).expect("eps");
    let lte =
        endpoint(&eps, WWAN_V4).unwrap_or_else(|| panic!("LTE endpoint not restored: {eps:?}"));
    assert!(!lte.has("backup"), "{eps:?}");
    let log = env.log();
    assert!(log.contains("budget of 3145728 bytes exhausted"), "{log}");
    assert!(
        log.contains("50 % warning threshold crossed")
            && log.contains("80 % warning threshold crossed"),
        "{log}"
    );
}
