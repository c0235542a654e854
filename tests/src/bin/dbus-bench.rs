//! `dbus-bench`: latencies of mptcp-policyd's D-Bus API, measured against the
//! release daemon on a private system bus with the real polkitd, in a fresh
//! testbed (see `daemon_env`). As root (polkit allows root everything):
//!
//! - property read: `org.freedesktop.DBus.Properties.Get` of
//!   `org.mptcp.Policy1.Interface.Role` on wlan0 (a real round trip, no
//!   client-side cache);
//! - role change: `SetInterfaceRole wlan0 backup|preferred` (alternating),
//!   call → return, and return → the kernel's endpoint showing the new flag
//!   (`mptcp_pm` endpoint dump from a thread inside the client namespace,
//!   polled until it shows the flag; the first dump after the return already
//!   does when the daemon keeps its promise);
//! - signal delivery: short MPTCP connections from the client namespace to a
//!   listener in the server namespace; `ConnectionCreated` received by the
//!   client, timed from connect() returning, and from the kernel's own
//!   `created` event as a second `mptcp_pm` event listener (next to the
//!   daemon's) receives it. All clocks are CLOCK_MONOTONIC.
//!
//! Prints metric, n, median, p99, max in ms, or JSON with `--json`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures::StreamExt;
use mptcp_policy_dbus::names::{interface_path, BUS_NAME, INTERFACE_INTERFACE};
use mptcp_policy_dbus::ManagerProxy;
use mptcp_policy_netlink::{PmEventKind, PmHandle};
use mptcp_policy_tests::daemon_env::DaemonEnv;
use mptcp_policy_tests::handover::DAEMON_POLICY;
use mptcp_policy_tests::netns::{cleanup_stale_namespaces, in_ns};
use mptcp_policy_tests::testbed::{SERVER_V4, WLAN_V4};
use mptcp_policy_tests::{monotonic_us, sock};
use serde::Serialize;

/// Port of the benchmark's listener in the server namespace.
const PORT: u16 = 7301;
/// Longest wait for one expected event (kernel flag, signal).
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Parser, Debug)]
#[command(about = "Latency of mptcp-policyd's D-Bus API (needs root)")]
struct Args {
    /// Iterations per metric.
    #[arg(long, short = 'n', default_value_t = 200)]
    iterations: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// mptcp-policyd binary (default: env MPTCP_POLICYD, else next to this binary).
    #[arg(long, env = "MPTCP_POLICYD")]
    daemon: Option<PathBuf>,
}

/// One row of the table (all times in ms).
#[derive(Debug, Serialize)]
struct Metric {
    metric: &'static str,
    n: usize,
    median_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Metric {
    /// From samples in microseconds (p99 by nearest rank).
    fn of(metric: &'static str, samples_us: &[i64]) -> Metric {
        let mut v: Vec<f64> = samples_us.iter().map(|&us| us as f64 / 1000.0).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let at = |q: f64| -> f64 {
            if n == 0 {
                return f64::NAN;
            }
            let rank = (q * n as f64).ceil() as usize;
            v[rank.clamp(1, n) - 1]
        };
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        // Microsecond resolution is all the samples have.
        let round = |ms: f64| (ms * 1000.0).round() / 1000.0;
        Metric {
            metric,
            n,
            median_ms: round(median),
            p99_ms: round(at(0.99)),
            max_ms: round(at(1.0)),
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    iterations: usize,
    metrics: Vec<Metric>,
    /// Role changes whose new flag the first endpoint dump after the
    /// call's return already showed.
    role_visible_at_first_dump: usize,
}

/// Raw samples (µs) gathered in the client namespace.
#[derive(Debug, Default)]
struct Samples {
    get_role: Vec<i64>,
    set_role_call: Vec<i64>,
    set_role_to_kernel: Vec<i64>,
    visible_at_first_dump: usize,
    connect_to_signal: Vec<i64>,
    event_to_signal: Vec<i64>,
}

/// One connection made by the connector thread.
#[derive(Debug)]
struct Connected {
    local_port: u16,
    returned_us: u64,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("dbus-bench: {e:#}");
        std::process::exit(1);
    }
}

fn default_daemon() -> PathBuf {
    // target/release/dbus-bench → target/release/mptcp-policyd
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("mptcp-policyd")))
        .unwrap_or_else(|| PathBuf::from("target/release/mptcp-policyd"))
}

fn run() -> Result<()> {
    let args = Args::parse();
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("needs root (network namespaces, netlink, polkitd)");
    }
    let daemon = args.daemon.clone().unwrap_or_else(default_daemon);
    if !daemon.is_file() {
        bail!(
            "daemon binary {} not found (cargo build --release -p mptcp-policyd, or --daemon PATH)",
            daemon.display()
        );
    }
    let _ = cleanup_stale_namespaces();

    let mut env = DaemonEnv::start(&daemon, DAEMON_POLICY)?;
    let result = bench(&env, args.iterations);
    if !env.daemon_alive() {
        eprintln!("dbus-bench: the daemon exited:\n{}", env.log());
    }
    let samples = result.with_context(|| format!("daemon log:\n{}", env.log()))?;
    drop(env);

    let report = Report {
        iterations: args.iterations,
        metrics: vec![
            Metric::of("property read (Get Interface.Role)", &samples.get_role),
            Metric::of("SetInterfaceRole call → return", &samples.set_role_call),
            Metric::of(
                "SetInterfaceRole return → kernel flag",
                &samples.set_role_to_kernel,
            ),
            Metric::of("kernel event → ConnectionCreated", &samples.event_to_signal),
            Metric::of(
                "connect() return → ConnectionCreated",
                &samples.connect_to_signal,
            ),
        ],
        role_visible_at_first_dump: samples.visible_at_first_dump,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &Report) {
    let w = r
        .metrics
        .iter()
        .map(|m| m.metric.chars().count())
        .max()
        .unwrap_or(6);
    println!(
        "{:<w$}  {:>5}  {:>8}  {:>8}  {:>8}",
        "metric", "n", "median", "p99", "max"
    );
    for m in &r.metrics {
        println!(
            "{:<w$}  {:>5}  {:>8.3}  {:>8.3}  {:>8.3}",
            m.metric, m.n, m.median_ms, m.p99_ms, m.max_ms
        );
    }
    println!(
        "(ms; role changes already in the kernel at the first dump after the return: {}/{})",
        r.role_visible_at_first_dump,
        r.metrics.get(1).map_or(0, |m| m.n)
    );
}

fn join<T>(h: JoinHandle<Result<T>>, what: &str) -> Result<T> {
    h.join()
        .map_err(|_| anyhow::anyhow!("{what} thread panicked"))?
}

fn bench(env: &DaemonEnv, n: usize) -> Result<Samples> {
    let server_ip: IpAddr = SERVER_V4.parse()?;
    let server = SocketAddr::new(server_ip, PORT);
    let stop = Arc::new(AtomicBool::new(false));

    // Listener in the server namespace: accepts and closes.
    let (ready_tx, ready_rx) = mpsc::channel();
    let stop_l = stop.clone();
    let listener = in_ns(env.tb.server_ns(), move || {
        let l = sock::listen(&server)?;
        l.set_nonblocking(true)?;
        let _ = ready_tx.send(());
        while !stop_l.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((s, _)) => drop(s),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => return Err(e).context("accept"),
            }
        }
        Ok(())
    });
    ready_rx
        .recv_timeout(STEP_TIMEOUT)
        .context("listener did not start")?;

    // Connector in the client namespace: one connection per `true`.
    let (go_tx, go_rx) = mpsc::channel::<bool>();
    let (conn_tx, conn_rx) = tokio::sync::mpsc::unbounded_channel::<Result<Connected>>();
    let connector = in_ns(env.tb.client_ns(), move || {
        let mut current = None;
        while let Ok(true) = go_rx.recv() {
            drop(current.take());
            let r = sock::connect(&server, None).and_then(|s| {
                let returned_us = monotonic_us();
                let local_port = s.local_addr()?.port();
                current = Some(s);
                Ok(Connected {
                    local_port,
                    returned_us,
                })
            });
            let failed = r.is_err();
            let _ = conn_tx.send(r);
            if failed {
                break;
            }
        }
        Ok(())
    });

    // The measuring client, also in the client namespace (for the netlink dumps).
    let address = env.bus.address().to_string();
    let client = in_ns(env.tb.client_ns(), move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(measure(&address, n, go_tx, conn_rx))
    });

    let samples = join(client, "client");
    stop.store(true, Ordering::Relaxed);
    let connector = join(connector, "connector");
    let listener = join(listener, "listener");
    let samples = samples?;
    connector?;
    listener?;
    Ok(samples)
}

/// Whether wlan0's endpoint has the backup flag (None: no such endpoint).
async fn wlan_backup(pm: &PmHandle) -> Result<Option<bool>> {
    let wlan: IpAddr = WLAN_V4.parse()?;
    Ok(pm
        .endpoint_dump()
        .await?
        .iter()
        .find(|e| e.addr == wlan)
        .map(|e| e.flags.backup))
}

async fn measure(
    address: &str,
    n: usize,
    go: mpsc::Sender<bool>,
    mut connected: tokio::sync::mpsc::UnboundedReceiver<Result<Connected>>,
) -> Result<Samples> {
    let result = measure_inner(address, n, &go, &mut connected).await;
    let _ = go.send(false);
    result
}

async fn measure_inner(
    address: &str,
    n: usize,
    go: &mpsc::Sender<bool>,
    connected: &mut tokio::sync::mpsc::UnboundedReceiver<Result<Connected>>,
) -> Result<Samples> {
    let mut s = Samples::default();
    let conn = zbus::connection::Builder::address(address)
        .build()
        .await
        .context("connecting to the private bus")?;
    let manager = ManagerProxy::new(&conn).await?;
    let props = zbus::fdo::PropertiesProxy::builder(&conn)
        .destination(BUS_NAME)
        .path(interface_path("wlan0"))
        .build()
        .await?;
    let iface = zbus::names::InterfaceName::try_from(INTERFACE_INTERFACE)?;
    let pm = PmHandle::connect().await?;

    // The daemon has applied the policy: wlan0 preferred, in the kernel.
    let deadline = monotonic_us() + 10_000_000;
    while wlan_backup(&pm).await? != Some(false) {
        if monotonic_us() > deadline {
            bail!("wlan0's endpoint never appeared as preferred");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // (a) property reads.
    for i in 0..n + 10 {
        let t0 = monotonic_us();
        let v = props.get(iface.clone(), "Role").await?;
        let t1 = monotonic_us();
        let role = String::try_from(v).context("Role is not a string")?;
        if role != "preferred" {
            bail!("Role of wlan0 is {role:?}, expected \"preferred\"");
        }
        if i >= 10 {
            s.get_role.push((t1 - t0) as i64);
        }
    }

    // (b) role changes, alternating; the kernel is read right after each return.
    for i in 0..n {
        let backup = i % 2 == 0;
        let role = if backup { "backup" } else { "preferred" };
        let t0 = monotonic_us();
        manager
            .set_interface_role("wlan0", role)
            .await
            .with_context(|| format!("SetInterfaceRole wlan0 {role}"))?;
        let t1 = monotonic_us();
        let mut dumps = 0;
        loop {
            let seen = wlan_backup(&pm).await?;
            dumps += 1;
            if seen == Some(backup) {
                break;
            }
            if monotonic_us() - t1 > STEP_TIMEOUT.as_micros() as u64 {
                bail!("wlan0's endpoint did not become {role}: {seen:?}");
            }
        }
        let t2 = monotonic_us();
        s.set_role_call.push((t1 - t0) as i64);
        s.set_role_to_kernel.push((t2 - t1) as i64);
        if dumps == 1 {
            s.visible_at_first_dump += 1;
        }
    }
    if n % 2 == 1 {
        manager.set_interface_role("wlan0", "preferred").await?;
    }

    // (c) signal delivery: ConnectionCreated vs. connect() and the kernel event.
    let mut signals = manager.receive_connection_created().await?;
    let mut events = pm.subscribe_events()?;
    let mut signal_at: HashMap<u16, u64> = HashMap::new();
    let mut event_at: HashMap<u16, u64> = HashMap::new();
    for _ in 0..n {
        signal_at.clear();
        event_at.clear();
        go.send(true).context("connector thread gone")?;
        let mut mine: Option<Connected> = None;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            if let Some(c) = &mine {
                if let (Some(sig), Some(ev)) =
                    (signal_at.get(&c.local_port), event_at.get(&c.local_port))
                {
                    s.connect_to_signal.push(*sig as i64 - c.returned_us as i64);
                    s.event_to_signal.push(*sig as i64 - *ev as i64);
                    break;
                }
            }
            tokio::select! {
                sig = signals.next() => {
                    let at = monotonic_us();
                    let sig = sig.context("signal stream ended")?;
                    let a = sig.args()?;
                    signal_at.insert(a.local_port, at);
                }
                ev = events.next() => {
                    let at = monotonic_us();
                    let ev = ev.context("event stream ended")??;
                    if ev.kind == PmEventKind::Created {
                        if let Some(port) = ev.sport {
                            event_at.insert(port, at);
                        }
                    }
                }
                c = connected.recv(), if mine.is_none() => {
                    mine = Some(c.context("connector thread gone")??);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    bail!(
                        "no ConnectionCreated/created event within {STEP_TIMEOUT:?} for {mine:?}"
                    );
                }
            }
        }
        // Let the connection's other events (subflows, close) pass.
        let pause = tokio::time::Instant::now() + Duration::from_millis(20);
        loop {
            tokio::select! {
                Some(_) = signals.next() => {}
                Some(_) = events.next() => {}
                _ = tokio::time::sleep_until(pause) => break,
            }
        }
    }
    Ok(s)
}
