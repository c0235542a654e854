//! The daemon with real NetworkManager (`NmTestbed`): NetworkManager manages
//! `eth1` and `eth2` of a test namespace (DHCP from dnsmasq, connectivity
//! check against a server in the peer namespace), its dispatcher runs the
//! project's hook, and the daemon shares their private bus.
//!
//! - the drop-in keeps NetworkManager's own endpoints off and the daemon's
//!   endpoints survive `nmcli connection up`/`down`/`device reapply`;
//!   without it NetworkManager's endpoints are reported as foreign, as
//!   NetworkManager's;
//! - `connection.metered yes` and an `ANDROID_METERED` lease make the
//!   interface metered and backup in the kernel (the user's `SetMetered`
//!   wins);
//! - a captive portal (wrong check body → PORTAL → hook) demotes the link to
//!   backup within 1 s; the right body (FULL) restores it;
//! - `nmcli device disconnect` of the preferred link: endpoints follow and a
//!   running MPTCP stream moves to the other link;
//! - the hook with the daemon stopped exits 0 within its time-out; unknown
//!   actions and missing variables change nothing;
//! - NetworkManager's device type through the hook's path decides the type.
//!
//! The NetworkManager testbeds run one at a time (each is a NetworkManager,
//! a dispatcher, a bus, polkitd, dnsmasq and two namespaces).

mod common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mptcp_policy_tests::nm::{Endpoint, NmOpts, NmTestbed, CHECK_OK, NM_SERVER};
use mptcp_policy_tests::process::{run_output, wait_for, BgProcess};
use mptcp_policy_tests::{link_bytes, Record};

use common::{daemon_bin, stream_bin};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Generous wait for things NetworkManager does (activation, DHCP).
const NM_WAIT: Duration = Duration::from_secs(30);
/// The issue's bound for the hook → kernel reaction.
const HOOK_BOUND: Duration = Duration::from_secs(1);

const ETH1_PREFERRED_ETH2_BACKUP: &str = r#"
[limits]
subflows = 4
add_addr_accepted = 4
[[interface]]
name = "eth1"
role = "preferred"
[[interface]]
name = "eth2"
role = "backup"
"#;

const BOTH_PREFERRED: &str = r#"
[limits]
subflows = 4
add_addr_accepted = 4
[[interface]]
name = "eth*"
role = "preferred"
"#;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn start(opts: NmOpts) -> NmTestbed {
    NmTestbed::start(opts).expect("NetworkManager testbed")
}

/// The usual set-up: drop-in and hook installed, the daemon running `policy`.
fn start_with_daemon(policy: &str) -> NmTestbed {
    let mut tb = start(NmOpts {
        dropin: true,
        hook: true,
        ..NmOpts::default()
    });
    tb.start_daemon(&daemon_bin(), policy).expect("daemon");
    tb
}

/// Runs `f`; on failure prints the daemon's, NetworkManager's and the
/// dispatcher's logs before failing.
fn with_logs(tb: &mut NmTestbed, f: impl FnOnce(&mut NmTestbed) -> Result<()>) {
    if let Err(e) = f(tb) {
        eprintln!("--- daemon log:\n{}", tb.daemon_log());
        eprintln!("--- NetworkManager log (tail):\n{}", tb.nm_stderr_tail());
        eprintln!("--- dispatcher log:\n{}", tb.dispatcher_log());
        panic!("{e:#}");
    }
}

fn on(eps: &[Endpoint], dev: &str) -> Vec<Endpoint> {
    eps.iter().filter(|e| e.dev == dev).cloned().collect()
}

/// What the daemon publishes of one interface.
struct IfaceState {
    role: String,
    metered: bool,
    hints: HashMap<String, (String, String)>,
    kind: String,
    type_source: String,
}

/// The daemon's interface properties over the bus.
/// Waits until the interface's published properties satisfy `ok` (the
/// bus is updated right after the kernel, not before it).
fn wait_props(
    tb: &NmTestbed,
    name: &str,
    what: &str,
    ok: impl Fn(&IfaceState) -> bool,
) -> Result<IfaceState> {
    let deadline = std::time::Instant::now() + NM_WAIT;
    loop {
        let st = iface_props(tb, name)?;
        if ok(&st) {
            return Ok(st);
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "{name}: {what}: role {}, metered {}, hints {:?}",
            st.role,
            st.metered,
            st.hints
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn iface_props(tb: &NmTestbed, name: &str) -> Result<IfaceState> {
    zbus::block_on(async {
        let conn = tb.bus.connect().await?;
        let p = mptcp_policy_dbus::InterfaceProxy::builder(&conn)
            .path(mptcp_policy_dbus::names::interface_path(name))
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?;
        Ok(IfaceState {
            role: p.role().await?,
            metered: p.metered().await?,
            hints: p.hints().await?,
            kind: p.kind().await?,
            type_source: p.type_source().await?,
        })
    })
}

fn foreign(tb: &NmTestbed) -> Result<Vec<(u8, String, String, String)>> {
    zbus::block_on(async {
        let conn = tb.bus.connect().await?;
        let m = mptcp_policy_dbus::ManagerProxy::builder(&conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?;
        Ok(m.foreign_endpoints().await?)
    })
}

#[test]
fn dropin_keeps_networkmanager_endpoints_off_and_daemon_endpoints_survive() {
    let _one = serial();
    let mut tb = start_with_daemon(ETH1_PREFERRED_ETH2_BACKUP);
    with_logs(&mut tb, |tb| {
        tb.add_profile("wifi1", "eth1", &[])?;
        tb.add_profile("lte1", "eth2", &[])?;
        tb.up("wifi1")?;
        tb.up("lte1")?;
        let a1 = tb.wait_addr("eth1")?.to_string();
        let a2 = tb.wait_addr("eth2")?.to_string();
        let want = |eps: &[Endpoint]| {
            eps.len() == 2
                && eps
                    .iter()
                    .any(|e| e.addr == a1 && e.dev == "eth1" && !e.has("backup"))
                && eps
                    .iter()
                    .any(|e| e.addr == a2 && e.dev == "eth2" && e.has("backup"))
        };
        let first = tb.wait_endpoints("the daemon's two endpoints", NM_WAIT, want)?;
        // Only the daemon's endpoints: nothing foreign, NetworkManager added none.
        wait_for("no foreign endpoints", NM_WAIT, || {
            Ok(foreign(tb)?.is_empty())
        })?;

        tb.nmcli(&["connection", "down", "lte1"])?;
        tb.wait_endpoints("eth2's endpoint gone", NM_WAIT, |e| {
            on(e, "eth2").is_empty() && on(e, "eth1").len() == 1
        })?;
        tb.up("lte1")?;
        let a2 = tb.wait_addr("eth2")?.to_string();
        tb.wait_endpoints("eth2's endpoint back", NM_WAIT, |e| {
            e.len() == 2 && e.iter().any(|x| x.addr == a2 && x.has("backup"))
        })?;
        // Reapply keeps the addresses: the very same endpoints stay.
        let steady = tb.wait_endpoints("both endpoints", NM_WAIT, want_two)?;
        tb.nmcli(&["device", "reapply", "eth1"])?;
        tb.nmcli(&["device", "reapply", "eth2"])?;
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(tb.endpoints()?, steady, "reapply changed nothing");
        // Re-activating an active profile renews the address: the daemon's
        // endpoint follows it, NetworkManager adds none.
        tb.nmcli(&["connection", "up", "wifi1"])?;
        tb.wait_addr("eth1")?;
        let eps = tb.wait_endpoints("both endpoints after up, eth1 preferred", NM_WAIT, |e| {
            want_two(e) && !on(e, "eth1")[0].has("backup") && on(e, "eth2")[0].has("backup")
        })?;
        // Give NetworkManager time to do what it would do, then look again.
        std::thread::sleep(Duration::from_secs(2));
        let after = tb.endpoints()?;
        assert!(want_two(&after), "{after:?}");
        assert!(
            after.iter().all(|e| !e.has("signal") || e.dev.is_empty()),
            "no endpoint of NetworkManager: {after:?}"
        );
        assert!(foreign(tb)?.is_empty(), "foreign: {:?}", foreign(tb)?);
        eprintln!("endpoints after up/down/reapply: {eps:?} (at first {first:?})");
        Ok(())
    });
}

fn ctl_bin() -> Result<String> {
    let p = mptcp_policy_tests::bins::find_bin("mptcp-policyctl", "MPTCP_POLICYCTL")?;
    Ok(p.to_str().context("path is not UTF-8")?.to_string())
}

fn want_two(eps: &[Endpoint]) -> bool {
    eps.len() == 2 && on(eps, "eth1").len() == 1 && on(eps, "eth2").len() == 1
}

#[test]
fn without_dropin_networkmanager_endpoints_are_reported_as_foreign() {
    let _one = serial();
    let mut tb = start(NmOpts::default());
    // No entry matches: the daemon leaves every interface alone.
    tb.start_daemon(
        &daemon_bin(),
        "[[interface]]\nname = \"wl*\"\nrole = \"preferred\"\n",
    )
    .expect("daemon");
    with_logs(&mut tb, |tb| {
        tb.add_profile("wifi1", "eth1", &[])?;
        tb.up("wifi1")?;
        let a1 = tb.wait_addr("eth1")?.to_string();
        tb.wait_endpoints("NetworkManager's own endpoint", NM_WAIT, |e| {
            e.iter().any(|x| x.addr == a1)
        })?;
        let mut seen = Vec::new();
        wait_for("the endpoint reported as NetworkManager's", NM_WAIT, || {
            seen = foreign(tb)?;
            Ok(seen
                .iter()
                .any(|(_, addr, _, origin)| *addr == a1 && origin == "networkmanager"))
        })
        .with_context(|| format!("ForeignEndpoints {seen:?}"))?;
        // mptcp-policyctl status says so too.
        let out = tb.exec(&ctl_bin()?, &["status"])?;
        assert!(out.contains("looks like NetworkManager's"), "{out}");
        Ok(())
    });
}

#[test]
fn metered_profile_and_android_metered_lease_make_the_link_metered_and_backup() {
    let _one = serial();
    let mut tb = start(NmOpts {
        dropin: true,
        hook: true,
        android_metered: [true, false],
    });
    tb.start_daemon(&daemon_bin(), BOTH_PREFERRED)
        .expect("daemon");
    with_logs(&mut tb, |tb| {
        tb.add_profile("wifi1", "eth1", &[])?;
        tb.add_profile("lte1", "eth2", &["connection.metered", "yes"])?;
        tb.up("wifi1")?;
        tb.up("lte1")?;
        tb.wait_addr("eth1")?;
        tb.wait_addr("eth2")?;
        // eth2: the profile says metered yes; eth1: the lease says ANDROID_METERED.
        let eps = tb.wait_endpoints("both links metered: backup", NM_WAIT, |e| {
            want_two(e) && e.iter().all(|x| x.has("backup"))
        })?;
        eprintln!("metered links in the kernel: {eps:?}");
        for (name, value) in [("eth1", "guess-yes"), ("eth2", "yes")] {
            let want = Some((value.to_string(), "networkmanager".to_string()));
            wait_props(tb, name, "metered backup from NetworkManager", |st| {
                st.role == "backup" && st.metered && st.hints.get("metered") == want.as_ref()
            })?;
        }
        // The user's word wins over NetworkManager's.
        let ctl = ctl_bin()?;
        let ctl = ctl.as_str();
        tb.exec(ctl, &["metered", "eth2", "off"])?;
        let eps = tb.endpoints()?;
        assert!(
            !on(&eps, "eth2")[0].has("backup"),
            "SetMetered off: {eps:?}"
        );
        assert!(on(&eps, "eth1")[0].has("backup"), "{eps:?}");
        wait_props(tb, "eth2", "the user's unmetered", |st| !st.metered)?;
        // NetworkManager changing its mind is followed: eth1's profile says no.
        tb.nmcli(&["connection", "modify", "wifi1", "connection.metered", "no"])?;
        tb.nmcli(&["device", "reapply", "eth1"])?;
        tb.wait_endpoints("eth1 unmetered: preferred", NM_WAIT, |e| {
            want_two(e) && !on(e, "eth1")[0].has("backup")
        })?;
        let status = tb.exec(ctl, &["status"])?;
        assert!(status.contains("NetworkManager hints:"), "{status}");
        assert!(status.contains("eth1: "), "{status}");
        Ok(())
    });
}

#[test]
fn captive_portal_demotes_to_backup_within_a_second_until_full() {
    let _one = serial();
    let mut tb = start_with_daemon(BOTH_PREFERRED);
    with_logs(&mut tb, |tb| {
        tb.add_profile("wifi1", "eth1", &[])?;
        tb.up("wifi1")?;
        let a1 = tb.wait_addr("eth1")?.to_string();
        assert_eq!(tb.check_connectivity()?, "full");
        tb.wait_endpoints("eth1 preferred", NM_WAIT, |e| {
            e.iter().any(|x| x.addr == a1 && !x.has("backup"))
        })?;

        tb.set_check_body(None, "Welcome to the hotel WiFi: log in first\n")?;
        let t0 = Instant::now();
        assert_eq!(tb.check_connectivity()?, "portal");
        let known = t0.elapsed();
        tb.wait_endpoints("eth1 demoted to backup", HOOK_BOUND, |e| {
            e.iter().any(|x| x.addr == a1 && x.has("backup"))
        })?;
        let demoted = t0.elapsed();
        tb.wait_daemon_log("NetworkManager hook: connectivity-change", NM_WAIT)?;
        // The bus follows the kernel; a moment later at most.
        wait_props(tb, "eth1", "backup behind the portal", |st| {
            st.role == "backup"
                && st.hints.get("connectivity").map(|h| h.0.as_str()) == Some("portal")
        })?;
        eprintln!(
            "portal: NetworkManager knew after {known:?}, eth1 backup in the kernel {demoted:?} after the check started"
        );

        for line in tb.daemon_log().lines().filter(|l| l.contains("reacted to")) {
            eprintln!("daemon: {line}");
        }

        tb.set_check_body(None, CHECK_OK)?;
        let t0 = Instant::now();
        assert_eq!(tb.check_connectivity()?, "full");
        tb.wait_endpoints("eth1 restored", HOOK_BOUND, |e| {
            e.iter().any(|x| x.addr == a1 && !x.has("backup"))
        })?;
        eprintln!(
            "full again: eth1 preferred {:?} after the check started",
            t0.elapsed()
        );
        // NetworkManager may still finish a check it started behind the
        // portal (wrong body) and recheck: what counts is where it settles.
        let mut last = None;
        wait_for("eth1 preferred with connectivity full", NM_WAIT, || {
            let st = iface_props(tb, "eth1")?;
            let done = st.role == "preferred"
                && st.hints.get("connectivity").map(|h| h.0.as_str()) == Some("full");
            last = Some((st.role, st.hints));
            Ok(done)
        })
        .with_context(|| format!("last seen: {last:?}"))?;
        for line in tb
            .daemon_log()
            .lines()
            .filter(|l| l.contains("connectivity"))
        {
            eprintln!("daemon: {line}");
        }
        Ok(())
    });
}

#[test]
fn disconnecting_the_preferred_link_moves_a_running_stream() {
    let _one = serial();
    let mut tb = start_with_daemon(ETH1_PREFERRED_ETH2_BACKUP);
    with_logs(&mut tb, |tb| {
        tb.add_profile("wifi1", "eth1", &[])?;
        tb.add_profile("lte1", "eth2", &[])?;
        tb.up("wifi1")?;
        tb.up("lte1")?;
        tb.wait_addr("eth1")?;
        tb.wait_addr("eth2")?;
        tb.wait_endpoints("eth1 subflow, eth2 backup", NM_WAIT, |e| {
            want_two(e) && on(e, "eth2")[0].has("backup")
        })?;
        let dir = tb.tmp_dir().to_path_buf();
        let addr = format!("{NM_SERVER}:5000");
        let (srec, crec, ready) = (
            dir.join("server.json"),
            dir.join("client.json"),
            dir.join("server.ready"),
        );
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let common = |rec: &std::path::Path, dir_flag: &str| {
            s(&[
                "--addr",
                &addr,
                dir_flag,
                "--duration-ms",
                "6000",
                "--idle-timeout-ms",
                "20000",
                "--record",
                rec.to_str().unwrap_or_default(),
            ])
        };
        let mut sargs = vec!["server".to_string()];
        sargs.extend(common(&srec, "--recv"));
        sargs.extend(s(&["--ready-file", ready.to_str().unwrap_or_default()]));
        let mut server =
            BgProcess::spawn_in_ns(tb.server_ns(), "stream-server", &stream_bin(), &sargs, &dir)?;
        wait_for("stream server", Duration::from_secs(5), || {
            Ok(ready.exists())
        })?;
        let mut cargs = vec!["client".to_string()];
        cargs.extend(common(&crec, "--send"));
        let mut client =
            BgProcess::spawn_in_ns(tb.client_ns(), "stream-client", &stream_bin(), &cargs, &dir)?;
        std::thread::sleep(Duration::from_millis(2000));
        let at_start = link_bytes(tb.client_ns())?;
        let t0 = Instant::now();
        tb.nmcli(&["device", "disconnect", "eth1"])?;
        let eps = tb.wait_endpoints("eth1's endpoint gone", NM_WAIT, |e| {
            on(e, "eth1").is_empty() && on(e, "eth2").len() == 1
        })?;
        eprintln!(
            "disconnect: eth1 endpoint gone {:?} after nmcli started; {eps:?}",
            t0.elapsed()
        );
        // What crosses the links from here on, once eth1's endpoint is gone.
        let before = link_bytes(tb.client_ns())?;
        std::thread::sleep(Duration::from_millis(1500));
        let after = link_bytes(tb.client_ns())?;
        let st = client.wait(Duration::from_secs(30))?;
        server.wait(Duration::from_secs(30))?;
        let sender = Record::load(&crec)?;
        let receiver = Record::load(&srec)?;
        assert!(st.success(), "client: {}", client.stderr());
        assert!(
            sender.error.is_none() && receiver.error.is_none(),
            "{:?} {:?}",
            sender.error,
            receiver.error
        );
        assert_eq!(
            sender.bytes_sent, receiver.bytes_received,
            "every byte arrived"
        );
        eprintln!(
            "longest gap at the receiver: {} ms",
            receiver.longest_gap() / 1000
        );
        let eth2_tx = after["eth2"].tx - before["eth2"].tx;
        let eth1_tx = after["eth1"].tx - before["eth1"].tx;
        let eth1_until_gone = before["eth1"].tx - at_start["eth1"].tx;
        eprintln!(
            "eth1 sent {eth1_until_gone} B from the disconnect until its endpoint went; \
             in the 1.5 s after: eth2 {eth2_tx} B, eth1 {eth1_tx} B"
        );
        // 1.5 s at 1 KiB/ms is ~1.5 MB: it must have gone over eth2.
        assert!(
            eth2_tx > 1_000_000,
            "the stream moved to eth2 ({eth2_tx} B)"
        );
        assert!(eth1_tx < 20_000, "eth1 no longer carries it ({eth1_tx} B)");
        Ok(())
    });
}

/// Runs the installed hook in NetworkManager's namespaces with `env`;
/// returns (exit success, stderr, wall time).
fn run_hook(
    tb: &NmTestbed,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(bool, String, Duration)> {
    let mut cmd = tb.command(tb.hook_path());
    cmd.args(args).env_clear().env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t0 = Instant::now();
    let out = run_output(&mut cmd, Duration::from_secs(10))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        t0.elapsed(),
    ))
}

#[test]
fn hook_exits_zero_when_the_daemon_is_absent_and_ignores_bad_events() {
    let _one = serial();
    let mut tb = start_with_daemon(BOTH_PREFERRED);
    with_logs(&mut tb, |tb| {
        tb.add_profile("wifi1", "eth1", &[])?;
        tb.up("wifi1")?;
        let a1 = tb.wait_addr("eth1")?.to_string();
        let before = tb.wait_endpoints("eth1 preferred", NM_WAIT, |e| {
            e.iter().any(|x| x.addr == a1 && !x.has("backup"))
        })?;
        // Timing with the daemon up (as NetworkManager calls it, plus --debug).
        let env = [
            ("NM_DISPATCHER_ACTION", "connectivity-change"),
            ("CONNECTIVITY_STATE", "FULL"),
        ];
        let mut times = Vec::new();
        for _ in 0..5 {
            let (ok, err, t) = run_hook(tb, &["--debug", "", "connectivity-change"], &env)?;
            assert!(ok && err.contains("total"), "{err}");
            times.push(t);
        }
        let up_env = [
            ("NM_DISPATCHER_ACTION", "up"),
            ("DEVICE_IFACE", "eth1"),
            ("CONNECTION_ID", "wifi1"),
        ];
        let (ok, err, t_up) = run_hook(tb, &["--debug", "eth1", "up"], &up_env)?;
        assert!(ok, "{err}");
        eprintln!("hook runtime, daemon up: connectivity-change {times:?}; up (with nmcli) {t_up:?}\n{err}");

        // Unknown actions and missing variables: exit 0, nothing reaches the
        // daemon (NetworkManager's own events may reach it meanwhile: look
        // for these ones by name).
        for (args, env, says) in [
            (
                vec!["--debug", "eth1", "hostname"],
                vec![],
                "action 'hostname' ignored",
            ),
            (
                vec!["--debug", "eth1", "vpn-up"],
                vec![("NM_DISPATCHER_ACTION", "vpn-up")],
                "action 'vpn-up' ignored",
            ),
            (
                vec!["--debug", "eth1", "pre-up"],
                vec![],
                "action 'pre-up' ignored",
            ),
            (vec!["--debug"], vec![], "action '' ignored"),
            (
                vec!["--debug", "", "up"],
                vec![("NM_DISPATCHER_ACTION", "up")],
                "needs an interface",
            ),
        ] {
            let (ok, err, _) = run_hook(tb, &args, &env)?;
            assert!(ok && err.contains(says), "{args:?}: {err}");
        }
        assert_eq!(tb.endpoints()?, before, "nothing changed in the kernel");
        let log = tb.daemon_log();
        for action in ["hostname", "vpn-up", "pre-up", "NetworkManager hook: up"] {
            assert!(!log.contains(action), "{action} reached the daemon:\n{log}");
        }

        // Bad input straight to the D-Bus method: a named error, nothing changes.
        let errors: Vec<String> = zbus::block_on(async {
            let conn = tb.bus.connect().await?;
            let m = mptcp_policy_dbus::ManagerProxy::new(&conn).await?;
            let mut out = Vec::new();
            for (iface, action, hints) in [
                ("eth1", "hostname", vec![]),
                ("", "up", vec![]),
                ("eth1/..", "up", vec![]),
                (
                    "eth1",
                    "connectivity-change",
                    vec![("connectivity", "SOMEWHAT")],
                ),
                ("eth1", "up", vec![("colour", "blue")]),
            ] {
                let hints: HashMap<&str, &str> = hints.into_iter().collect();
                match m.notify_network_manager(iface, action, hints).await {
                    Ok(r) => out.push(format!("accepted: {r}")),
                    Err(e) => out.push(e.to_string()),
                }
            }
            anyhow::Ok(out)
        })?;
        for e in &errors {
            assert!(e.contains("InvalidArgument"), "{errors:?}");
        }
        assert_eq!(tb.endpoints()?, before, "nothing changed in the kernel");

        // The daemon stopped: exit 0 within the hook's time-out, and logged.
        tb.stop_daemon()?;
        let (ok, err, t) = run_hook(tb, &["--debug", "", "connectivity-change"], &env)?;
        assert!(ok, "{err}");
        assert!(err.contains("not running"), "{err}");
        assert!(t < Duration::from_secs(4), "within its time-out: {t:?}");
        eprintln!("hook runtime, daemon absent: {t:?}");
        Ok(())
    });
}

#[test]
fn device_type_through_the_hook_path_decides_the_type() {
    let _one = serial();
    let mut tb = start(NmOpts {
        dropin: true,
        hook: true,
        ..NmOpts::default()
    });
    let policy = r#"
[[interface]]
type = "wifi"
role = "preferred"
[[interface]]
name = "eth*"
role = "backup"
"#;
    tb.start_daemon(&daemon_bin(), policy).expect("daemon");
    with_logs(&mut tb, |tb| {
        tb.add_profile("wifi1", "eth1", &[])?;
        tb.up("wifi1")?;
        let a1 = tb.wait_addr("eth1")?.to_string();
        // NetworkManager says ethernet for veth: generic, the name decides.
        tb.wait_endpoints("eth1 backup (ethernet by name)", NM_WAIT, |e| {
            e.iter().any(|x| x.addr == a1 && x.has("backup"))
        })?;
        wait_props(tb, "eth1", "ethernet by name", |st| {
            (st.kind.as_str(), st.type_source.as_str()) == ("ethernet", "name")
        })?;
        // What NetworkManager says of a WiFi device, through the hook's entry point.
        let mut cmd = tb.command(ctl_bin()?);
        cmd.args(["notify", "--debug", "--device-type", "wifi", "eth1", "up"])
            .env("CONNECTION_ID", "wifi1");
        let out = run_output(&mut cmd, Duration::from_secs(10))?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Applied when the call returns.
        let eps = tb.endpoints()?;
        assert!(
            eps.iter().any(|x| x.addr == a1 && !x.has("backup")),
            "eth1 preferred as wifi: {eps:?}"
        );
        let hook_says = ("wifi".to_string(), "networkmanager-hook".to_string());
        wait_props(tb, "eth1", "preferred wifi from the hook", |st| {
            (st.kind.as_str(), st.type_source.as_str(), st.role.as_str())
                == ("wifi", "networkmanager-hook", "preferred")
                && st.hints.get("device-type") == Some(&hook_says)
        })?;
        // The real hook on `up` asks nmcli (which says ethernet): generic,
        // the specific type stays.
        let (ok, err, _) = run_hook(
            tb,
            &["--debug", "eth1", "up"],
            &[("NM_DISPATCHER_ACTION", "up"), ("DEVICE_IFACE", "eth1")],
        )?;
        assert!(ok && err.contains("nmcli: eth1 is 'ethernet'"), "{err}");
        let _ = mptcp_policy_tests::wait_for("eth1 typed wifi", Duration::from_secs(5), || {
            Ok(iface_props(tb, "eth1")?.kind == "wifi")
        });
        assert_eq!(iface_props(tb, "eth1")?.kind, "wifi");
        Ok(())
    });
}

#[test]
fn networkmanager_leaving_and_coming_back_is_followed() {
    let _one = serial();
    let mut tb = start_with_daemon(BOTH_PREFERRED);
    with_logs(&mut tb, |tb| {
        tb.add_profile("wifi1", "eth1", &[])?;
        tb.add_profile("lte1", "eth2", &["connection.metered", "yes"])?;
        tb.up("wifi1")?;
        tb.up("lte1")?;
        tb.wait_addr("eth1")?;
        let a2 = tb.wait_addr("eth2")?.to_string();
        let eth2_backup = |want: bool| {
            let a2 = a2.clone();
            move |e: &[Endpoint]| e.iter().any(|x| x.addr == a2 && x.has("backup") == want)
        };
        tb.wait_endpoints("eth2 metered: backup", NM_WAIT, eth2_backup(true))?;
        // NetworkManager goes away (its links stay configured): what it said
        // no longer holds.
        tb.stop_nm()?;
        tb.wait_daemon_log("NetworkManager left the bus", NM_WAIT)?;
        tb.wait_endpoints(
            "eth2 preferred without NetworkManager",
            NM_WAIT,
            eth2_backup(false),
        )?;
        // (A device type the hook sent stays: it is about the hardware.)
        wait_props(tb, "eth2", "hints dropped", |st| {
            !st.metered
                && !st.hints.contains_key("metered")
                && !st.hints.contains_key("connectivity")
        })?;
        // It comes back, takes the links over again: followed again.
        tb.restart_nm()?;
        tb.wait_daemon_log("NetworkManager appeared", NM_WAIT)?;
        tb.wait_endpoints("eth2 metered again", NM_WAIT, eth2_backup(true))?;
        // (Backup may come first from the "none" connectivity NetworkManager
        // reports until its first check; Metered is read right after.)
        wait_props(tb, "eth2", "metered again", |st| st.metered)?;
        tb.wait_endpoints("eth2 metered: backup", NM_WAIT, eth2_backup(true))?;
        Ok(())
    });
}
