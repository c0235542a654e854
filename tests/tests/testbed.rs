//! Self-test of the namespace testbed (needs root, nftables, iputils-ping):
//! RTTs, static endpoints, a 3 s upload, a WiFi cut mid-stream, silent loss
//! (blackhole, random loss) and the on/off and idle sender modes.

use mptcp_policy_tests::stream::{StreamResult, StreamSpec};
use mptcp_policy_tests::testbed::{SERVER_V4, SERVER_V6, WLAN_V4, WLAN_V6, WWAN_V4, WWAN_V6};
use mptcp_policy_tests::{link_bytes, ns_exec, Direction, StreamRun, Testbed, TestbedOpts};
use std::path::Path;
use std::time::Duration;

const STREAM: &str = env!("CARGO_BIN_EXE_mptcp-stream");
const DELAYER: &str = env!("CARGO_BIN_EXE_mptcp-delayer");

fn testbed() -> Testbed {
    Testbed::new(TestbedOpts {
        delayer: Some(DELAYER.into()),
        ..TestbedOpts::default()
    })
    .expect("testbed")
}

fn subflow_locals(tb: &Testbed, port: u16) -> String {
    let ss = ns_exec(tb.client_ns(), "ss", &["-ntiH", "state", "established"]).expect("ss");
    ss.lines()
        .filter(|l| l.contains(&format!("{SERVER_V4}:{port}")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn rtts_endpoints_and_upload() {
    let tb = testbed();
    let rtts = [
        (WLAN_V4, SERVER_V4, 8.0, 25.0),
        (WWAN_V4, SERVER_V4, 38.0, 60.0),
        (WLAN_V6, SERVER_V6, 8.0, 25.0),
        (WWAN_V6, SERVER_V6, 38.0, 60.0),
    ];
    for (local, dst, lo, hi) in rtts {
        let rtt = tb.ping_rtt_ms(local, dst, 10).expect("ping");
        println!("ping {local} -> {dst}: avg rtt {rtt:.2} ms");
        assert!(
            (lo..hi).contains(&rtt),
            "rtt {rtt} ms from {local} not in {lo}..{hi}"
        );
    }

    tb.set_static_endpoints().expect("endpoints");
    let eps = tb.client_endpoints().expect("endpoint show");
    println!("{eps}");
    assert!(eps.contains(WLAN_V4) && eps.contains(WWAN_V4), "{eps}");

    let before = link_bytes(tb.client_ns()).expect("counters");
    let spec = StreamSpec::default();
    let run = StreamRun::start(&tb, Path::new(STREAM), &spec).expect("start stream");
    // Mid-stream, once the LTE subflow has joined the WiFi one.
    let _ = mptcp_policy_tests::wait_for("both subflows", Duration::from_secs(5), || {
        let s = subflow_locals(&tb, spec.port);
        Ok(s.contains(WLAN_V4) && s.contains(WWAN_V4))
    });
    let subflows = subflow_locals(&tb, spec.port);
    let res: StreamResult = run.wait(Duration::from_secs(30)).expect("stream");
    let after = link_bytes(tb.client_ns()).expect("counters");
    println!("subflows mid-stream:\n{subflows}");
    res.check().expect("clean stream");
    assert_eq!(res.sender.bytes_sent, 3000 * 1024);
    // ss prints a device-bound local address as ADDR%IFNAME:PORT.
    let has = |a: &str| subflows.contains(&format!("{a}:")) || subflows.contains(&format!("{a}%"));
    assert!(has(WLAN_V4), "no WiFi subflow");
    assert!(has(WWAN_V4), "no LTE subflow");
    let tx = |i: &str| after[i].tx - before[i].tx;
    let (wifi, lte) = (tx("wlan0"), tx("wwan0"));
    let share = wifi as f64 / (wifi + lte) as f64;
    println!(
        "tx bytes: wlan0 {wifi}, wwan0 {lte} (WiFi share {:.1} %)",
        share * 100.0
    );
    assert!(share >= 0.95, "WiFi carried only {:.1} %", share * 100.0);
}

#[test]
fn wifi_cut_mid_stream_completes_over_lte() {
    for direction in [Direction::Upload, Direction::Download] {
        let tb = testbed();
        tb.set_static_endpoints().expect("endpoints");
        let spec = StreamSpec {
            direction,
            duration_ms: 4000,
            ..StreamSpec::default()
        };
        let run = StreamRun::start(&tb, Path::new(STREAM), &spec).expect("start stream");
        std::thread::sleep(Duration::from_millis(1500));
        let cut = tb.link_down("wlan0").expect("link down");
        let res = run.wait(Duration::from_secs(40)).expect("stream");
        res.check().expect("stream completes after the cut");
        let rx = &res.receiver;
        println!(
            "{}: gap after cut {:.1} ms, cut->steady {:?} ms, longest gap {:.1} ms, {} bytes",
            direction.name(),
            rx.gap_after(cut) as f64 / 1000.0,
            rx.cut_to_steady(cut).map(|us| us / 1000),
            rx.longest_gap() as f64 / 1000.0,
            rx.bytes_received
        );
        assert!(rx.cut_to_steady(cut).is_some(), "stream never steady again");
    }
}

#[test]
fn everything_removed_on_panic() {
    let names = std::sync::Mutex::new(None);
    let r = std::panic::catch_unwind(|| {
        let mut tb = testbed();
        let pids: Vec<u32> = tb.delayers().iter().filter_map(|d| d.pid()).collect();
        assert_eq!(pids.len(), 2, "a delayer on each side");
        *names.lock().expect("lock") = Some((
            tb.client_ns().to_string(),
            tb.server_ns().to_string(),
            tb.tmp_dir().to_path_buf(),
            pids,
        ));
        panic!("deliberate");
    });
    assert!(r.is_err());
    let (c, s, tmp, pids) = names.lock().expect("lock").take().expect("names");
    let list = mptcp_policy_tests::ip(&["netns", "list"]).expect("netns list");
    assert!(!list.contains(&c) && !list.contains(&s), "{list}");
    assert!(!tmp.exists(), "temp dir left: {}", tmp.display());
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "delayer {pid} still running"
        );
    }
}

#[test]
fn rate_limits_and_ipv6_stream() {
    let tb = Testbed::new(TestbedOpts {
        delayer: Some(DELAYER.into()),
        wifi_rate_kbit: Some(20_000),
        lte_rate_kbit: Some(5_000),
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let qd = mptcp_policy_tests::run(
        "tc",
        &["-n", tb.client_ns(), "qdisc", "show", "dev", "wlan0"],
        Duration::from_secs(5),
    )
    .expect("tc");
    assert!(qd.contains("tbf"), "{qd}");
    let spec = StreamSpec {
        direction: Direction::Download,
        duration_ms: 1000,
        ipv6: true,
        ..StreamSpec::default()
    };
    let res = StreamRun::start(&tb, Path::new(STREAM), &spec)
        .expect("start")
        .wait(Duration::from_secs(20))
        .expect("stream");
    res.check().expect("clean IPv6 stream");
    assert_eq!(res.receiver.bytes_received, 1000 * 1024);
}

/// Silent loss: blackholing wlan0 mid-stream drops its packets while the
/// link stays up; the kernel alone moves the stream to wwan0; unblackhole
/// heals the path. Random loss drops some, not all.
#[test]
fn blackhole_mid_stream_resumes_on_lte() {
    let tb = testbed();
    tb.set_static_endpoints().expect("endpoints");
    assert!(tb.ping_ok(WLAN_V4, SERVER_V4).expect("ping"), "wlan0 works");
    let spec = StreamSpec {
        duration_ms: 4000,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&tb, Path::new(STREAM), &spec).expect("start stream");
    std::thread::sleep(Duration::from_millis(1500));
    let cut = tb.blackhole("wlan0").expect("blackhole");
    let lte_before = link_bytes(tb.client_ns()).expect("counters")["wwan0"].tx;
    assert!(tb.link_is_up("wlan0").expect("link state"), "link stays up");
    assert!(
        !tb.ping_ok(WLAN_V4, SERVER_V4).expect("ping"),
        "ping over a blackholed wlan0 must fail"
    );
    assert!(
        tb.ping_ok(WWAN_V4, SERVER_V4).expect("ping"),
        "wwan0 unaffected"
    );
    let res = run.wait(Duration::from_secs(40)).expect("stream");
    res.check().expect("stream completes after the blackhole");
    let lte_after = link_bytes(tb.client_ns()).expect("counters")["wwan0"].tx;
    let rx = &res.receiver;
    println!(
        "blackhole: gap after cut {:.1} ms, cut->steady {:?} ms, {} bytes on wwan0 after the cut, \
         {} packets dropped",
        rx.gap_after(cut) as f64 / 1000.0,
        rx.cut_to_steady(cut).map(|us| us / 1000),
        lte_after - lte_before,
        tb.dropped_packets("wlan0").expect("counters")
    );
    assert!(rx.cut_to_steady(cut).is_some(), "stream never steady again");
    assert!(
        lte_after - lte_before > 1_000_000,
        "the stream did not move to wwan0"
    );
    assert!(tb.link_is_up("wlan0").expect("link state"));

    let healed = tb.unblackhole("wlan0").expect("unblackhole");
    assert!(healed >= cut);
    assert!(tb.ping_ok(WLAN_V4, SERVER_V4).expect("ping"), "healed");
    tb.unblackhole("wlan0")
        .expect("unblackhole twice is a no-op");

    tb.random_loss("wlan0", 30).expect("loss");
    let out = mptcp_policy_tests::run_output(
        std::process::Command::new("ip").args([
            "netns",
            "exec",
            tb.client_ns(),
            "ping",
            "-n",
            "-q",
            "-c",
            "40",
            "-i",
            "0.01",
            "-W",
            "1",
            "-I",
            WLAN_V4,
            SERVER_V4,
        ]),
        Duration::from_secs(20),
    )
    .expect("ping");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!(
        "30 % loss: {}",
        text.lines().find(|l| l.contains("loss")).unwrap_or("")
    );
    assert!(
        text.contains(" received") && !text.contains(" 0 received"),
        "{text}"
    );
    assert!(!text.contains(" 0% packet loss"), "{text}");
    tb.random_loss("wlan0", 0).expect("no loss");
    assert!(tb.ping_ok(WLAN_V4, SERVER_V4).expect("ping"));
}

/// The on/off and idle sender modes of mptcp-stream.
#[test]
fn on_off_and_idle_streams() {
    let tb = testbed();
    tb.set_static_endpoints().expect("endpoints");
    let spec = StreamSpec {
        direction: Direction::Download,
        duration_ms: 2500,
        on_ms: 500,
        off_ms: 500,
        ..StreamSpec::default()
    };
    let res = StreamRun::start(&tb, Path::new(STREAM), &spec)
        .expect("start")
        .wait(Duration::from_secs(20))
        .expect("stream");
    res.check().expect("clean on/off stream");
    // 3 on-phases of 500 chunks each: 0–0.5, 1–1.5, 2–2.5 s.
    assert_eq!(res.sender.bytes_sent, 1500 * 1024);
    let gap = res.receiver.longest_gap();
    println!("on/off: longest gap {} ms", gap / 1000);
    assert!((450_000..700_000).contains(&gap), "pause of {gap} µs");

    let spec = StreamSpec {
        duration_ms: 1500,
        idle: true,
        port: 5202,
        ..StreamSpec::default()
    };
    let res = StreamRun::start(&tb, Path::new(STREAM), &spec)
        .expect("start")
        .wait(Duration::from_secs(20))
        .expect("stream");
    res.check().expect("clean idle connection");
    assert_eq!(res.sender.bytes_sent, 0);
    let rx = &res.receiver;
    assert!(
        rx.end_us - rx.start_us >= 1_400_000,
        "idle for the duration"
    );
}

/// WiFi 10 ms → 200 ms RTT over 1 s (the fade benchmark's delay ramp), LTE
/// untouched, back at once on reset.
#[test]
fn wifi_delay_ramp() {
    use mptcp_policy_tests::clock::sleep_until_us;
    let plain = testbed();
    let err = plain.start_delay_ramp().expect_err("no ramp configured");
    assert!(format!("{err}").contains("wifi_delay_ramp"), "{err}");
    drop(plain);

    let tb = Testbed::new(TestbedOpts {
        delayer: Some(DELAYER.into()),
        wifi_delay_ramp: Some((200, 1000)),
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let wifi = |n| tb.ping_rtt_ms(WLAN_V4, SERVER_V4, n).expect("ping");
    let before = wifi(5);
    let t0 = tb.start_delay_ramp().expect("start ramp");
    sleep_until_us(t0 + 500_000);
    let mid = wifi(1);
    sleep_until_us(t0 + 1_500_000);
    let ramped = wifi(5);
    let lte = tb.ping_rtt_ms(WWAN_V4, SERVER_V4, 5).expect("ping");
    tb.reset_delay_ramp().expect("reset ramp");
    let after = wifi(5);
    println!(
        "WiFi RTT: {before:.1} ms before, {mid:.1} at 0.5 s, {ramped:.1} at 1.5 s, \
         {after:.1} after reset; LTE {lte:.1} during the ramp"
    );
    assert!((8.0..25.0).contains(&before), "before: {before}");
    assert!((60.0..170.0).contains(&mid), "mid-ramp: {mid}");
    assert!((150.0..260.0).contains(&ramped), "ramped: {ramped}");
    assert!((38.0..60.0).contains(&lte), "LTE: {lte}");
    assert!((8.0..25.0).contains(&after), "after reset: {after}");
}

/// Request/response (1 KiB each way every 20 ms) over WiFi at 10 ms RTT:
/// every request answered, response times ≈ WiFi's RTT.
#[test]
fn request_response() {
    use mptcp_policy_tests::stream::RR_MODE;
    let tb = testbed();
    let spec = StreamSpec {
        duration_ms: 2000,
        rr_interval_ms: 20,
        ..StreamSpec::default()
    };
    let res = StreamRun::start(&tb, Path::new(STREAM), &spec)
        .expect("start")
        .wait(Duration::from_secs(20))
        .expect("stream");
    res.check().expect("clean rr run");
    let c = &res.sender;
    assert_eq!(c.mode, RR_MODE);
    assert_eq!(c.responses.len(), 100);
    assert_eq!(c.bytes_sent, 100 * 1024);
    assert_eq!(res.receiver.bytes_sent, 100 * 1024);
    let mut t = c.response_times_us(0, u64::MAX);
    t.sort_unstable();
    let (p50, max) = (t[t.len() / 2], t[t.len() - 1]);
    println!("rr: {} requests, median {p50} µs, max {max} µs", t.len());
    assert!((9_000..20_000).contains(&p50), "median {p50} µs");
}
