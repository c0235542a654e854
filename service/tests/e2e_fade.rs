//! End-to-end fades (issue 16): WiFi loss steps 5 → 95 % every 0.4 s, then
//! silence, both directions, in-kernel and userspace path manager. The
//! daemon sees WiFi degrade and hands the stream to LTE *before* WiFi goes
//! silent (make before break: the LTE subflow is already there, only the
//! backup flags swap), the connection survives, and WiFi carries it again
//! after it recovers. Steady 2 % loss promotes nothing.

mod common;

use std::time::Duration;

use common::mptcp_ss::{on, ss_subflows};
use common::*;
use mptcp_policy_tests::clock::{monotonic_us, sleep_until_us};
use mptcp_policy_tests::fade::{heal, loss_ramp};
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{Testbed, TestbedOpts};

const POLICY: &str = WIFI_FIRST_QUICK_RECOVERY;

fn policy(userspace: bool) -> String {
    if userspace {
        format!("[general]\npath_manager = \"userspace\"\n{POLICY}")
    } else {
        POLICY.to_owned()
    }
}

fn testbed() -> Testbed {
    Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed")
}

/// Whether LTE carries the traffic and WiFi stands by, as the path manager
/// in force shows it: endpoint flags (in-kernel) or the connection's
/// subflow flags (userspace).
fn handed_to_lte(tb: &Testbed, userspace: bool) -> bool {
    if userspace {
        let Ok(sfs) = ss_subflows(tb) else {
            return false;
        };
        let wlan = sfs.iter().find(|s| on(s, WLAN_V4));
        let wwan = sfs.iter().find(|s| on(s, WWAN_V4));
        matches!((wlan, wwan), (Some(w), Some(l)) if w.backup_local && !l.backup_local)
    } else {
        let Ok(eps) = endpoints(tb) else {
            return false;
        };
        matches!(
            (endpoint(&eps, WLAN_V4), endpoint(&eps, WWAN_V4)),
            (Some(w), Some(l)) if w.has("backup") && !l.has("backup")
        )
    }
}

fn fade(direction: Direction, userspace: bool) {
    let tb = testbed();
    let mut daemon = Daemon::start(&tb, &policy(userspace)).expect("daemon");
    if !userspace {
        wait_endpoints(&tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    } else {
        daemon
            .wait_log("userspace path manager on", Duration::from_secs(5))
            .expect("userspace PM");
    }
    let tx = direction == Direction::Upload;
    let spec = StreamSpec {
        direction,
        duration_ms: 14_000,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");
    sleep_until_us(t0 + 2_000_000);
    let before = radio_bytes(&tb, tx).expect("counters");
    let ramp_start = monotonic_us();
    // The ramp runs beside; here: when did LTE take over?
    let (ramp, handed, at_silence) = std::thread::scope(|s| {
        let ramp = s.spawn(|| loss_ramp(&tb, "wlan0", ramp_start));
        let mut handed = None;
        while !ramp.is_finished() {
            if handed.is_none() && handed_to_lte(&tb, userspace) {
                handed = Some(monotonic_us());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let at_silence = radio_bytes(&tb, tx).expect("counters");
        (
            ramp.join().expect("ramp thread").expect("ramp"),
            handed,
            at_silence,
        )
    });
    let log = daemon.log();
    let handed =
        handed.unwrap_or_else(|| panic!("LTE never took over before WiFi went silent\n{log}"));
    assert!(handed < ramp.silent, "{log}");
    assert!(log.contains("wlan0: health good -> degraded ("), "{log}");
    // LTE carried a real share of the stream before the silence.
    let lte_share = 1.0 - wlan_share(before, at_silence);
    println!(
        "{} ({}): LTE took over {:.0} ms into the ramp ({} % loss step); LTE carried {:.0} % of the ramp's bytes",
        direction.name(),
        if userspace { "userspace PM" } else { "in-kernel PM" },
        (handed - ramp.start()) as f64 / 1000.0,
        ramp.steps.iter().rev().find(|(t, _)| *t <= handed).map_or(0, |s| s.1),
        lte_share * 100.0
    );
    assert!(
        lte_share >= 0.3,
        "LTE carried {lte_share:.2} of the ramp\n{log}"
    );

    // Silence, then WiFi comes back: it recovers and carries the stream again.
    sleep_until_us(ramp.silent + 1_500_000);
    heal(&tb, "wlan0").expect("heal");
    let back = wait_for_wifi_share(&tb, tx, 0.9, Duration::from_secs(8));
    let result = run.wait(Duration::from_secs(60)).expect("stream");
    result.check().expect("the stream survived the fade");
    let log = daemon.log();
    println!("daemon log:\n{log}");
    assert!(back, "traffic did not return to WiFi\n{log}");
    // The time LTE stood in for WiFi is logged when it ends.
    assert!(
        log.contains("wwan0: no longer standing in for a degraded path after "),
        "{log}"
    );
    daemon.stop().expect("clean exit");
}

/// Polls 1-s windows until at least `share` of the traffic crosses WiFi.
fn wait_for_wifi_share(tb: &Testbed, tx: bool, share: f64, within: Duration) -> bool {
    let end = monotonic_us() + within.as_micros() as u64;
    while monotonic_us() < end {
        let a = radio_bytes(tb, tx).expect("counters");
        std::thread::sleep(Duration::from_millis(1000));
        let b = radio_bytes(tb, tx).expect("counters");
        if wlan_share(a, b) >= share {
            return true;
        }
    }
    false
}

#[test]
fn upload_fade_in_kernel_pm_moves_to_lte_before_wifi_dies() {
    fade(Direction::Upload, false);
}

#[test]
fn download_fade_in_kernel_pm_moves_to_lte_before_wifi_dies() {
    fade(Direction::Download, false);
}

#[test]
fn upload_fade_userspace_pm_moves_to_lte_before_wifi_dies() {
    fade(Direction::Upload, true);
}

#[test]
fn download_fade_userspace_pm_moves_to_lte_before_wifi_dies() {
    fade(Direction::Download, true);
}

#[test]
fn steady_two_percent_loss_promotes_nothing_in_kernel_pm() {
    steady_two_percent_loss(false);
}

#[test]
fn steady_two_percent_loss_promotes_nothing_userspace_pm() {
    steady_two_percent_loss(true);
}

fn steady_two_percent_loss(userspace: bool) {
    let tb = testbed();
    let mut daemon = Daemon::start(&tb, &policy(userspace)).expect("daemon");
    if userspace {
        daemon
            .wait_log("userspace path manager on", Duration::from_secs(5))
            .expect("userspace PM");
    } else {
        wait_endpoints(&tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    }
    tb.random_loss("wlan0", 2).expect("loss");
    for direction in [Direction::Upload, Direction::Download] {
        let spec = StreamSpec {
            direction,
            duration_ms: 8_000,
            ..StreamSpec::default()
        };
        let tx = direction == Direction::Upload;
        let a = radio_bytes(&tb, tx).expect("counters");
        stream_under_loss(&tb, &spec, &daemon);
        let b = radio_bytes(&tb, tx).expect("counters");
        assert!(
            wlan_share(a, b) >= 0.9,
            "{}: WiFi carried only {:.2}\n{}",
            direction.name(),
            wlan_share(a, b),
            daemon.log()
        );
    }
    assert!(
        tb.dropped_packets("wlan0").expect("drops") > 0,
        "the loss rule dropped nothing"
    );
    let log = daemon.log();
    assert!(!log.contains("-> degraded"), "{log}");
    assert!(!log.contains("promoted"), "{log}");
    if !userspace {
        assert!(!handed_to_lte(&tb, false), "{log}");
    }
}

/// Streams `spec` over the lossy WiFi. Once (CI, both cores loaded) a
/// connection ended in a reset under 2 % loss with nothing logged by the
/// daemon; such a run is reported with both sides' errors and the daemon's
/// log and repeated once — but only when the daemon did nothing (no health
/// transition, no endpoint change): whatever the daemon does must leave the
/// stream whole.
fn stream_under_loss(tb: &Testbed, spec: &StreamSpec, daemon: &Daemon) {
    let run = || {
        let run = StreamRun::start(tb, &stream_bin(), spec).expect("stream");
        run.wait(Duration::from_secs(60)).expect("stream")
    };
    let result = run();
    let Err(e) = result.check() else {
        return;
    };
    let log = daemon.log();
    let errors = format!(
        "{}: {e:#} ({} {:?}, {} {:?})",
        spec.direction.name(),
        result.sender.role,
        result.sender.error,
        result.receiver.role,
        result.receiver.error
    );
    let acted = log.contains("health ")
        || log.contains("endpoint delete")
        || log.contains("endpoint change");
    assert!(!acted, "{errors}\n{log}");
    println!("stream failed with the daemon idle, repeated once: {errors}\n{log}");
    run()
        .check()
        .unwrap_or_else(|e| panic!("{}: again: {e:#}\n{}", spec.direction.name(), daemon.log()));
}

/// A fading WiFi on the bus: `HealthChanged(wlan0, "degraded", evidence)`
/// (as `mptcp-policyctl monitor` prints it), the `Health` property, the
/// role reason, and `mptcp-policyctl status`.
#[test]
fn degraded_is_published_on_the_bus_in_status_and_monitor() {
    use std::io::Read;
    use std::process::Stdio;

    let env = common::bus_env::start(POLICY).expect("daemon on a bus");
    let tb = &env.tb;
    wait_endpoints(tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let ctl = mptcp_policy_tests::bins::find_bin("mptcp-policyctl", "MPTCP_POLICYCTL")
        .expect("mptcp-policyctl built");
    let mut monitor = env
        .bus
        .command(&ctl)
        .arg("monitor")
        .stdout(Stdio::piped())
        .spawn()
        .expect("monitor");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 9_000,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(tb, &stream_bin(), &spec).expect("stream");
    let (health, reason, status) = std::thread::scope(|s| {
        let ramp = s.spawn(|| loss_ramp(tb, "wlan0", t0 + 2_000_000));
        let mut seen = None;
        while !ramp.is_finished() && seen.is_none() {
            let health = env
                .interface("wlan0", async |p| p.health().await)
                .expect("bus")
                .expect("Health");
            if health == "degraded" {
                let reason = env
                    .interface("wlan0", async |p| p.role_reason().await)
                    .expect("bus")
                    .expect("RoleReason");
                let out = env
                    .bus
                    .command(&ctl)
                    .arg("status")
                    .output()
                    .expect("status");
                seen = Some((
                    health,
                    reason,
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        ramp.join().expect("ramp thread").expect("ramp");
        seen.unwrap_or_else(|| panic!("Health never said degraded\n{}", env.log()))
    });
    assert_eq!(health, "degraded");
    assert!(reason.contains("; path degraded ("), "{reason}");
    assert!(
        status
            .lines()
            .any(|l| l.contains("wlan0") && l.contains("degraded")),
        "{status}"
    );
    let _ = run.wait(Duration::from_secs(60));
    let _ = monitor.kill();
    let mut printed = String::new();
    monitor
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut printed)
        .expect("monitor output");
    let _ = monitor.wait();
    assert!(
        printed
            .lines()
            .any(|l| l.contains("health-changed") && l.contains("wlan0 degraded (")),
        "{printed}"
    );
}
