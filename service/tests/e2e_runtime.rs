//! End-to-end: changes while the daemon runs — roles flipped by editing the
//! file + SIGHUP move data on an existing connection (MP_PRIO, no
//! reconnect); a bad file keeps the last good policy; endpoints added by an
//! administrator survive reconciles and restarts; a SIGKILLed daemon
//! restarts without touching the kernel or the running stream.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::clock::{monotonic_us, sleep_until_us};
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{ip, Testbed, TestbedOpts};

fn testbed() -> Testbed {
    Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed")
}

fn upload(duration_ms: u64) -> StreamSpec {
    StreamSpec {
        direction: Direction::Upload,
        duration_ms,
        ..StreamSpec::default()
    }
}

#[test]
fn sighup_flips_roles_on_a_running_connection() {
    let tb = testbed();
    let mut daemon = Daemon::start(&tb, WIFI_FIRST).expect("daemon");
    let before_ids =
        wait_endpoints(&tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");

    let t0 = monotonic_us();
    let run = StreamRun::start(&tb, &stream_bin(), &upload(7000)).expect("stream");
    sleep_until_us(t0 + 1_000_000);
    let a = radio_bytes(&tb, true).expect("counters");
    sleep_until_us(t0 + 2_000_000);
    let b = radio_bytes(&tb, true).expect("counters");

    // Swap the roles in the file and reload.
    std::fs::write(&daemon.config, LTE_FIRST).expect("write policy");
    daemon.signal(libc::SIGHUP).expect("SIGHUP");
    let flipped = wait_endpoints(&tb, "flags flipped", |eps| {
        endpoint(eps, WLAN_V4).is_some_and(|e| e.has("backup"))
            && endpoint(eps, WWAN_V4).is_some_and(|e| !e.has("backup"))
    })
    .expect("flipped");
    let flip = monotonic_us();
    sleep_until_us(flip + 1_000_000);
    let c = radio_bytes(&tb, true).expect("counters");
    sleep_until_us(flip + 2_000_000);
    let d = radio_bytes(&tb, true).expect("counters");

    // A broken file: refused with its position, the last good policy stays.
    std::fs::write(
        &daemon.config,
        "[[interface]]\ntype = \"wifi\"\nrole = \"sometimes\"\n",
    )
    .expect("write");
    daemon.signal(libc::SIGHUP).expect("SIGHUP");
    daemon
        .wait_log("reload refused", Duration::from_secs(5))
        .expect("refused");
    let config = daemon.config.display().to_string();
    assert!(
        daemon.log().contains(&format!("{config}:3:8")),
        "no file:line:column in\n{}",
        daemon.log()
    );
    assert_eq!(
        endpoints(&tb).expect("endpoints"),
        flipped,
        "a bad file changed the kernel"
    );

    let result = run.wait(Duration::from_secs(30)).expect("stream finished");
    result
        .check()
        .expect("one connection, no error, nothing lost");
    let (wifi_before, lte_after) = (wlan_share(a, b), 1.0 - wlan_share(c, d));
    println!(
        "before reload: wlan0 carried {:.1} %; after: wwan0 carried {:.1} %",
        wifi_before * 100.0,
        lte_after * 100.0
    );
    assert!(
        wifi_before >= 0.9,
        "WiFi did not carry the data before the flip"
    );
    assert!(
        lte_after >= 0.9,
        "LTE did not take over after the flip: {:.2}",
        lte_after
    );
    // MP_PRIO on the same endpoints: same ids, no delete + add.
    let ids = |eps: &[Ep]| {
        eps.iter()
            .map(|e| (e.addr.clone(), e.id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&before_ids),
        ids(&flipped),
        "endpoints were recreated instead of re-flagged"
    );
    assert!(
        daemon.log().contains("ip mptcp endpoint change id"),
        "{}",
        daemon.log()
    );
}

#[test]
fn admin_endpoints_survive_reconciles_and_restarts() {
    let tb = testbed();
    let ns = tb.client_ns().to_string();
    // A third interface no [[interface]] entry matches, with the admin's own endpoint,
    // and an admin endpoint on an address the policy would want (wwan0).
    ip(&[
        "-n", &ns, "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p",
    ])
    .expect("veth");
    ip(&["-n", &ns, "addr", "add", "10.7.0.1/24", "dev", "eth9"]).expect("addr");
    ip(&["-n", &ns, "link", "set", "eth9", "up"]).expect("up");
    ip(&["-n", &ns, "link", "set", "eth9p", "up"]).expect("up");
    ip(&[
        "-n", &ns, "mptcp", "endpoint", "add", "10.7.0.1", "dev", "eth9", "signal", "id", "42",
    ])
    .expect("admin ep");
    ip(&[
        "-n", &ns, "mptcp", "endpoint", "add", WWAN_V4, "dev", "wwan0", "signal", "id", "43",
    ])
    .expect("admin ep");
    let admin = |eps: &[Ep]| {
        eps.iter()
            .filter(|e| e.id == 42 || e.id == 43)
            .cloned()
            .collect::<Vec<_>>()
    };
    let original = admin(&endpoints(&tb).expect("endpoints"));
    assert_eq!(original.len(), 2);

    let mut daemon = Daemon::start(&tb, WIFI_FIRST).expect("daemon");
    wait_endpoints(&tb, "WiFi endpoint", |eps| endpoint(eps, WLAN_V4).is_some()).expect("wifi");
    assert!(
        daemon.log().contains("not created by mptcp-policyd"),
        "{}",
        daemon.log()
    );
    assert!(
        daemon.log().contains("not adding endpoint 10.2.0.2"),
        "{}",
        daemon.log()
    );

    // Reconciles: a link flap, a reload, a restart (SIGTERM), a SIGKILL + start.
    tb.link_down("wlan0").expect("down");
    wait_endpoints(&tb, "WiFi endpoint gone", |eps| {
        endpoint(eps, WLAN_V4).is_none()
    })
    .expect("gone");
    tb.link_up("wlan0").expect("up");
    wait_endpoints(&tb, "WiFi endpoint back", |eps| {
        endpoint(eps, WLAN_V4).is_some()
    })
    .expect("back");
    assert_eq!(
        admin(&endpoints(&tb).expect("endpoints")),
        original,
        "after a link flap"
    );
    daemon.signal(libc::SIGHUP).expect("SIGHUP");
    daemon
        .wait_log("policy reloaded", Duration::from_secs(5))
        .expect("reloaded");
    assert_eq!(
        admin(&endpoints(&tb).expect("endpoints")),
        original,
        "after a reload"
    );
    daemon.stop().expect("stop");
    daemon.restart().expect("restart");
    assert_eq!(
        admin(&endpoints(&tb).expect("endpoints")),
        original,
        "after a restart"
    );
    daemon.kill9().expect("kill");
    daemon.restart().expect("restart");
    assert_eq!(
        admin(&endpoints(&tb).expect("endpoints")),
        original,
        "after SIGKILL + restart"
    );
}

#[test]
fn sigkill_and_restart_do_not_interrupt_the_stream() {
    let tb = testbed();
    let mut daemon = Daemon::start(&tb, WIFI_FIRST).expect("daemon");
    let before = wait_endpoints(&tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");

    let t0 = monotonic_us();
    let run = StreamRun::start(&tb, &stream_bin(), &upload(5000)).expect("stream");
    sleep_until_us(t0 + 2_000_000);
    daemon.kill9().expect("SIGKILL");
    let killed_at = monotonic_us();
    daemon.restart().expect("restart");
    let restarted_in_ms = (monotonic_us() - killed_at) as f64 / 1000.0;
    let result = run.wait(Duration::from_secs(30)).expect("stream finished");
    result.check().expect("stream intact");

    let after = endpoints(&tb).expect("endpoints");
    assert_eq!(
        before, after,
        "the restarted daemon changed the kernel's endpoints"
    );
    let log = daemon.log();
    assert!(
        !log.contains("endpoint add") && !log.contains("endpoint delete"),
        "the restarted daemon re-created endpoints:\n{log}"
    );
    let longest_ms = result.receiver.longest_gap() as f64 / 1000.0;
    println!("restart took {restarted_in_ms:.1} ms; longest delivery gap over the whole stream {longest_ms:.1} ms");
    assert!(longest_ms < 100.0, "the stream stalled for {longest_ms} ms");
}
