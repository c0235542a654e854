//! End-to-end with the userspace path manager: the daemon steers each MPTCP
//! connection by its `[[rule]]` mode (real kernel, testbed namespaces), the
//! kernel shows the per-connection backup flags, a handover connection
//! survives WiFi going away, closed connections leave nothing behind, and
//! the namespace's path manager is restored when the daemon exits.

mod common;

use std::time::Duration;

use anyhow::Result;
use common::mptcp_ss::*;
use common::*;
use mptcp_policy_tests::cgroups::TestCgroup;
use mptcp_policy_tests::clock::{monotonic_us, sleep_until_us};
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{ns_exec, Testbed, TestbedOpts};

/// Both radios preferred (so the mode alone decides), port 5201 aggregate,
/// port 5202 handover.
const TWO_MODES: &str = r#"
[general]
path_manager = "userspace"

[[interface]]
name = "wlan0"
role = "preferred"

[[interface]]
name = "wwan0"
role = "preferred"

[[rule]]
remote_port = [5201]
mode = "aggregate"

[[rule]]
remote_port = [5202]
mode = "handover"
"#;

/// WiFi preferred, LTE backup, every connection handover (the default).
const WIFI_FIRST_USERSPACE: &str = r#"
[general]
path_manager = "userspace"

[[interface]]
name = "wlan0"
role = "preferred"

[[interface]]
name = "wwan0"
role = "backup"
"#;

fn path_manager(tb: &Testbed) -> Result<String> {
    Ok(
        ns_exec(tb.client_ns(), "sysctl", &["-n", "net.mptcp.path_manager"])?
            .trim()
            .to_string(),
    )
}

#[test]
fn two_connections_get_their_modes_and_the_kernel_shows_it() {
    let env = bus_env::start_with(
        TWO_MODES,
        TestbedOpts {
            ipv6: false,
            // Each radio alone is slower than the stream: aggregate must use both.
            wifi_rate_kbit: Some(8_000),
            lte_rate_kbit: Some(8_000),
            ..TestbedOpts::default()
        },
    )
    .expect("daemon on a private bus");
    let tb = &env.tb;
    assert_eq!(path_manager(tb).expect("sysctl"), "userspace");

    let spec = |port| StreamSpec {
        direction: Direction::Upload,
        duration_ms: 6000,
        chunk: 4096,
        interval_us: 1000,
        port,
        ..StreamSpec::default()
    };
    let aggregate = StreamRun::start(tb, &stream_bin(), &spec(5201)).expect("stream 5201");
    let handover = StreamRun::start(tb, &stream_bin(), &spec(5202)).expect("stream 5202");

    // Each connection gets a subflow on each radio; the flags differ.
    let conns = wait_until(
        "two subflows per connection",
        Duration::from_secs(5),
        || {
            let m = by_token(&ss_subflows(tb)?);
            Ok((m.len() == 2 && m.values().all(|v| v.len() == 2)).then_some(m))
        },
    )
    .unwrap_or_else(|e| panic!("{e}\ndaemon log:\n{}", env.log()));
    std::thread::sleep(Duration::from_secs(3));
    let sfs = by_token(&ss_subflows(tb).expect("ss"));
    println!("subflows: {sfs:#?}");

    let mode_of = |token: u32| -> String {
        let path = format!("/org/mptcp/Policy1/connection/{token}");
        env.bus
            .busctl(&[
                "get-property",
                "org.mptcp.Policy1",
                &path,
                "org.mptcp.Policy1.Connection",
                "Mode",
            ])
            .expect("Mode property")
    };
    let mut seen_modes = Vec::new();
    for token in conns.keys() {
        let subs = &sfs[token];
        let mode = mode_of(*token);
        seen_modes.push(mode.clone());
        let wlan = subs.iter().find(|s| on(s, WLAN_V4)).expect("wlan subflow");
        let wwan = subs.iter().find(|s| on(s, WWAN_V4)).expect("wwan subflow");
        if mode.contains("aggregate") {
            assert!(
                !wlan.backup_local && !wwan.backup_local,
                "aggregate: both subflows active in the kernel: {subs:?}"
            );
            assert!(
                wlan.bytes_acked > 500_000 && wwan.bytes_acked > 500_000,
                "aggregate: bytes over both links: {subs:?}"
            );
        } else {
            assert!(mode.contains("handover"), "mode {mode}");
            assert!(
                !wlan.backup_local && wwan.backup_local,
                "handover: WiFi active, LTE ready as backup: {subs:?}"
            );
            assert!(
                wwan.bytes_acked < wlan.bytes_acked / 10,
                "handover: the backup subflow carries (almost) nothing: {subs:?}"
            );
        }
    }
    seen_modes.sort();
    assert!(
        seen_modes[0].contains("aggregate") && seen_modes[1].contains("handover"),
        "{seen_modes:?}"
    );
    let log = env.log();
    assert!(
        log.contains("aggregate by [[rule]] #1 (remote_port = [5201])"),
        "{log}"
    );
    assert!(
        log.contains("handover by [[rule]] #2 (remote_port = [5202])"),
        "{log}"
    );

    for run in [aggregate, handover] {
        run.wait(Duration::from_secs(30))
            .expect("stream finished")
            .check()
            .expect("no error, nothing lost");
    }
    // Closed: no subflow in the kernel, no connection object, no daemon state.
    wait_until("subflows gone", Duration::from_secs(5), || {
        Ok(ss_subflows(tb)?.is_empty().then_some(()))
    })
    .expect("no subflow left");
    wait_until("connection objects gone", Duration::from_secs(5), || {
        let tree = env.bus.busctl(&["tree", "--list", "org.mptcp.Policy1"])?;
        Ok((!tree.contains("/connection/")).then_some(()))
    })
    .expect("no connection object left");
    let mut env = env;
    env.stop_daemon().expect("clean exit");
    let log = env.log();
    assert!(
        log.contains("userspace path manager off: 0 connection(s)"),
        "daemon state freed: {log}"
    );
    assert_eq!(
        path_manager(&env.tb).expect("sysctl"),
        "kernel",
        "the daemon's exit restored the path manager"
    );
}

#[test]
fn handover_connection_survives_wifi_link_down_and_returns() {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let mut daemon = Daemon::start(&tb, WIFI_FIRST_USERSPACE).expect("daemon");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 9000,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");
    wait_until("a backup subflow on LTE", Duration::from_secs(5), || {
        let sfs = ss_subflows(&tb)?;
        Ok(sfs
            .iter()
            .any(|s| on(s, WWAN_V4) && s.backup_local)
            .then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));

    sleep_until_us(t0 + 2_000_000);
    let cut = tb.link_down("wlan0").expect("link down");
    daemon
        .wait_log("now active", Duration::from_secs(5))
        .expect("LTE subflow turned active");
    sleep_until_us(cut + 1_000_000);
    let sfs = ss_subflows(&tb).expect("ss");
    assert!(
        sfs.iter().all(|s| !on(s, WLAN_V4)),
        "the dead WiFi subflow was destroyed: {sfs:?}"
    );
    assert!(
        sfs.iter().any(|s| on(s, WWAN_V4) && !s.backup_local),
        "LTE carries the connection: {sfs:?}"
    );
    let lte_from = radio_bytes(&tb, true).expect("counters");
    sleep_until_us(cut + 2_000_000);
    let lte_to = radio_bytes(&tb, true).expect("counters");

    let up = tb.link_up("wlan0").expect("link up");
    sleep_until_us(up + 2_000_000);
    let back_from = radio_bytes(&tb, true).expect("counters");
    sleep_until_us(up + 3_500_000);
    let back_to = radio_bytes(&tb, true).expect("counters");
    let sfs = ss_subflows(&tb).expect("ss");

    let result = run.wait(Duration::from_secs(30)).expect("stream finished");
    result
        .check()
        .expect("the stream continued without error and lost nothing");
    let rx = &result.receiver;
    let gap_ms = rx.gap_after(cut) as f64 / 1000.0;
    let steady_ms = rx.cut_to_steady(cut).map(|us| us as f64 / 1000.0);
    println!(
        "userspace PM handover: gap after WiFi link-down {gap_ms:.1} ms, cut->steady {steady_ms:?} ms"
    );
    println!("daemon log:\n{}", daemon.log());
    assert!(
        lte_to.1 - lte_from.1 > 100_000,
        "LTE carried the stream while WiFi was down"
    );
    assert!(
        sfs.iter().any(|s| on(s, WLAN_V4) && !s.backup_local)
            && sfs.iter().any(|s| on(s, WWAN_V4) && s.backup_local),
        "WiFi back: a new WiFi subflow active, LTE backup again: {sfs:?}"
    );
    assert!(
        wlan_share(back_from, back_to) >= 0.9,
        "traffic returned to wlan0: share {:.2}",
        wlan_share(back_from, back_to)
    );
}

#[test]
fn exit_restores_the_path_manager_even_after_a_kill() {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    assert_eq!(path_manager(&tb).expect("sysctl"), "kernel");
    let mut daemon = Daemon::start(&tb, WIFI_FIRST_USERSPACE).expect("daemon");
    assert_eq!(path_manager(&tb).expect("sysctl"), "userspace");
    daemon.stop().expect("SIGTERM");
    assert_eq!(path_manager(&tb).expect("sysctl"), "kernel");

    // Killed while on: the next run still knows what the admin had.
    daemon.restart().expect("restart");
    daemon.kill9().expect("SIGKILL");
    assert_eq!(path_manager(&tb).expect("sysctl"), "userspace");
    daemon.restart().expect("restart after kill");
    daemon.stop().expect("SIGTERM");
    assert_eq!(
        path_manager(&tb).expect("sysctl"),
        "kernel",
        "log:\n{}",
        daemon.log()
    );
}

/// The daemon's "connection ... -> 10.9.0.1:PORT: MODE by RULE" lines, in order.
fn connection_modes(log: &str, port: u16) -> Vec<&str> {
    let needle = format!("-> 10.9.0.1:{port}:");
    log.lines().filter(|l| l.contains(&needle)).collect()
}

/// Each connection's line ends as expected (one line per connection).
fn assert_modes(log: &str, port: u16, want: &[String]) {
    let modes = connection_modes(log, port);
    println!("{}", modes.join("\n"));
    assert_eq!(modes.len(), want.len(), "{log}");
    for (line, end) in modes.iter().zip(want) {
        assert!(line.ends_with(end.as_str()), "want {end:?} in:\n{log}");
    }
}

/// An MPTCP server (Python, `mptcp_policy_tests::preload::SERVER_PY`) on
/// port 7000 of the server namespace, once it listens.
fn py_server(tb: &Testbed) -> mptcp_policy_tests::BgProcess {
    use mptcp_policy_tests::preload::{PYTHON, SERVER_PY};
    let server = mptcp_policy_tests::BgProcess::spawn_in_ns(
        tb.server_ns(),
        "py-server",
        std::path::Path::new(PYTHON),
        &[
            "-c".into(),
            SERVER_PY.into(),
            "0.0.0.0".into(),
            "7000".into(),
            "mptcp".into(),
        ],
        tb.tmp_dir(),
    )
    .expect("server");
    wait_until("server listening", Duration::from_secs(5), || {
        Ok(server.stdout().contains("listening").then_some(()))
    })
    .expect("server ready");
    server
}

const PY_CLIENT: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.connect(("10.9.0.1", int(sys.argv[1])))
for _ in range(30):
    s.send(b"x"); time.sleep(0.1)
s.close()
"#;

#[test]
fn rules_match_the_owning_uid_and_cgroup() {
    let cg = TestCgroup::new("rules").expect("test cgroup");
    let policy = format!(
        r#"{WIFI_FIRST_USERSPACE}
[[rule]]
uid = [65534]
mode = "aggregate"

[[rule]]
cgroup = ["{}"]
mode = "interactive"
"#,
        cg.path
    );
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let mut daemon = Daemon::start_with_cgroup2(&tb, &policy).expect("daemon");
    let dir = tb.tmp_dir();
    let _server = py_server(&tb);

    // root, root cgroup: no rule matches → [general] default_mode
    // nobody (uid 65534) → rule #1; root in the test cgroup → rule #2
    let ns = tb.client_ns().to_string();
    let cases: [(&str, String); 3] = [
        (
            "root",
            format!("exec ip netns exec {ns} /usr/bin/python3 -c \"$0\" 7000"),
        ),
        (
            "nobody",
            format!(
                "exec ip netns exec {ns} setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c \"$0\" 7000"
            ),
        ),
        (
            "cgroup",
            format!(
                "echo $$ > {}/cgroup.procs && exec ip netns exec {ns} /usr/bin/python3 -c \"$0\" 7000",
                cg.dir.display()
            ),
        ),
    ];
    let mut clients = Vec::new();
    for (who, script) in &cases {
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", script, PY_CLIENT]);
        clients.push(
            mptcp_policy_tests::BgProcess::spawn(&format!("client-{who}"), &mut cmd, dir)
                .expect("client"),
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    for c in &mut clients {
        c.wait_success(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("client: {e}\n{}", c.stderr()));
    }
    let log = daemon.log();
    assert_modes(
        &log,
        7000,
        &[
            "handover by [general] default_mode".into(),
            "aggregate by [[rule]] #1 (uid = [65534])".into(),
            format!("interactive by [[rule]] #2 (cgroup = [\"{}\"])", cg.path),
        ],
    );
    daemon.stop().expect("stop");
}

/// Issue "unmodified apps": two programs that know nothing of MPTCP (plain
/// `socket.socket()`), each started with `mptcp-policyctl run` in its own
/// cgroup — "the video app" and "the backup app" — get MPTCP from the
/// preload library and their own modes from the daemon's cgroup rules.
#[test]
fn unmodified_apps_get_their_modes_by_cgroup() {
    use mptcp_policy_tests::preload::{tools, CLIENT_PY, PYTHON};
    let video = TestCgroup::new("video").expect("video cgroup");
    let backup = TestCgroup::new("backup").expect("backup cgroup");
    let policy = format!(
        r#"{}
[[rule]]
cgroup = ["{}"]
mode = "interactive"

[[rule]]
cgroup = ["{}"]
mode = "handover"
"#,
        // unmatched connections: aggregate (default_mode is a [general] key)
        WIFI_FIRST_USERSPACE.replacen(
            "path_manager = \"userspace\"\n",
            "path_manager = \"userspace\"\ndefault_mode = \"aggregate\"\n",
            1
        ),
        video.path,
        backup.path
    );
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let mut daemon = Daemon::start_with_cgroup2(&tb, &policy).expect("daemon");
    let (ctl, lib) = tools().expect("mptcp-policyctl and the preload library");
    let dir = tb.tmp_dir();
    let _server = py_server(&tb);
    let mut apps = Vec::new();
    for (name, cg) in [("video", &video), ("backup", &backup)] {
        let script = format!(
            "echo $$ > {}/cgroup.procs && exec ip netns exec {} {} run --library {} -- {PYTHON} -c \"$0\" 10.9.0.1 7000 1",
            cg.dir.display(),
            tb.client_ns(),
            ctl.display(),
            lib.display()
        );
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", &script, CLIENT_PY]);
        apps.push(
            mptcp_policy_tests::BgProcess::spawn(&format!("app-{name}"), &mut cmd, dir)
                .expect("app"),
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    for a in &mut apps {
        a.wait_success(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("app: {e}\n{}", a.stderr()));
        assert!(a.stdout().contains("protocol=262"), "{}", a.stdout());
    }
    let log = daemon.log();
    assert_modes(
        &log,
        7000,
        &[
            format!("interactive by [[rule]] #1 (cgroup = [\"{}\"])", video.path),
            format!("handover by [[rule]] #2 (cgroup = [\"{}\"])", backup.path),
        ],
    );
    daemon.stop().expect("stop");
}

/// A killed daemon's successor takes over the connections that stayed
/// open (the kernel keeps them on the userspace PM) and steers them again.
#[test]
fn a_restarted_daemon_takes_over_open_connections() {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let mut daemon = Daemon::start(&tb, WIFI_FIRST_USERSPACE).expect("daemon");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 8000,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");
    wait_until("a backup subflow on LTE", Duration::from_secs(5), || {
        let sfs = ss_subflows(&tb)?;
        Ok(sfs
            .iter()
            .any(|s| on(s, WWAN_V4) && s.backup_local)
            .then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()));
    daemon.kill9().expect("SIGKILL");
    daemon.restart().expect("restart");
    daemon
        .wait_log(
            "1 open connection(s) taken over at start",
            Duration::from_secs(5),
        )
        .expect("taken over");
    tb.link_down("wlan0").expect("link down");
    daemon
        .wait_log("now active", Duration::from_secs(5))
        .expect("the new daemon steers the old connection");
    let moved = |sfs: &[_]| {
        sfs.iter().all(|s| !on(s, WLAN_V4)) && sfs.iter().any(|s| on(s, WWAN_V4) && !s.backup_local)
    };
    let _ = mptcp_policy_tests::wait_for(
        "WiFi subflow closed, LTE active",
        Duration::from_secs(5),
        || Ok(moved(&ss_subflows(&tb)?)),
    );
    let sfs = ss_subflows(&tb).expect("ss");
    assert!(
        moved(&sfs),
        "WiFi subflow closed, LTE active: {sfs:?}\n{}",
        daemon.log()
    );
    run.wait(Duration::from_secs(30))
        .expect("stream finished")
        .check()
        .expect("no error, nothing lost across the restart and the handover");
    daemon.stop().expect("stop");
}

/// `interactive` follows measured delay, not rank: with WiFi (first in the
/// policy) at 40 ms and LTE at 10 ms, the LTE subflow turns active and
/// WiFi becomes the backup once the RTTs are known.
#[test]
fn interactive_moves_to_the_lower_delay_path() {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        wifi_rtt_ms: 40,
        lte_rtt_ms: 10,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let policy = TWO_MODES.replace(
        "path_manager = \"userspace\"\n",
        "path_manager = \"userspace\"\ndefault_mode = \"interactive\"\n",
    );
    let mut daemon = Daemon::start(&tb, &policy).expect("daemon");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 12_000,
        port: 5300,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");
    // RTTs are sampled once a second; a join delayed on a loaded machine
    // is retried after 3 s: allow for both.
    let sfs = wait_until("LTE active, WiFi backup", Duration::from_secs(10), || {
        let sfs = ss_subflows(&tb)?;
        let lte_active = sfs.iter().any(|s| on(s, WWAN_V4) && !s.backup_local);
        let wifi_backup = sfs.iter().any(|s| on(s, WLAN_V4) && s.backup_local);
        Ok((lte_active && wifi_backup).then_some(sfs))
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}\nsubflows: {:?}\n{}",
            ss_subflows(&tb).unwrap_or_default(),
            daemon.log()
        )
    });
    println!("{sfs:#?}");
    let log = daemon.log();
    assert!(
        log.contains("interactive by [general] default_mode"),
        "{log}"
    );
    run.wait(Duration::from_secs(30))
        .expect("stream finished")
        .check()
        .expect("no error, nothing lost while switching paths");
    daemon.stop().expect("stop");
}
