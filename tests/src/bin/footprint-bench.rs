//! `footprint-bench`: what the daemon costs a phone when nothing happens,
//! beside Debian's mptcpd 0.12 in the same run, in the testbed's phone
//! namespace (WiFi preferred, LTE backup; release build):
//! start → both endpoints in the kernel, RSS and threads after 3 s, CPU time
//! and wakeups (context switches of every thread) over an idle window, and
//! RSS after a load of MPTCP connections opened and closed from the phone.
//!
//! mptcpd is taken from Debian's archive with `apt-get download` and run
//! from a scratch directory (`dpkg -x`), so nothing is installed on the
//! host; without network it is left out. It is started the way it adds
//! endpoints at all (`addr_adv`, flags `subflow`, `notify-flags=existing`).
//!
//! Start times are read from a thread inside the phone namespace that dumps
//! the kernel's endpoints over its own generic-netlink socket every ~50 µs
//! (an `ip` process per poll took ~2 ms, the old figures' resolution), the
//! same for every daemon. It takes one of the machine's cores and its dumps
//! meet the daemon's own netlink commands in the kernel: the figures are
//! for comparing daemons in one run, not absolute.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use mptcp_policy_netlink::PmHandle;
use mptcp_policy_tests::bins::default_daemon_bin;
use mptcp_policy_tests::bus::{BusOptions, PrivateBus};
use mptcp_policy_tests::handover::DAEMON_POLICY;
use mptcp_policy_tests::netns::in_ns;
use mptcp_policy_tests::stats::Summary;
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{BgProcess, Testbed, TestbedOpts};

#[derive(Parser)]
#[command(about = "Idle footprint of mptcp-policyd beside mptcpd (needs root)")]
struct Args {
    /// Starts measured per daemon (median, min–max).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The idle window for CPU time and wakeups, seconds.
    #[arg(long, default_value_t = 60)]
    idle_secs: u64,
    /// MPTCP connections opened and closed before the last RSS reading.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Leave mptcpd out.
    #[arg(long)]
    no_mptcpd: bool,
    /// The daemon binary.
    #[arg(long)]
    daemon: Option<PathBuf>,
    /// Only these daemons (repeatable; default: all).
    #[arg(long, value_enum)]
    only: Vec<Variant>,
    /// Leave IPv6 on in the testbed (off by default: mptcpd's endpoints
    /// would then differ from the daemon's). scripts/hot-functions.sh uses
    /// it to see the daemon's IPv6 code run.
    #[arg(long)]
    ipv6: bool,
}

/// LTE backup with a budget whose spending turns it off: the counters are
/// read as often as the link, at its fastest, could reach the budget.
/// (`DAEMON_POLICY`'s last entry is the cellular one.)
const BUDGET_LINE: &str = "budget = { bytes = \"10 GB\", period = \"monthly\", \
    when_exhausted = \"off\", daily_allowance = false }\n";

/// The connection load's server (event-bench's `serve`).
const LOAD_ADDR: &str = "10.9.0.1:7100";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
enum Variant {
    Mptcpd,
    NoDbus,
    Bus,
    Budget,
}

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Mptcpd => "mptcpd 0.12 (`addr_adv`, flags `subflow`)",
            Variant::NoDbus => "mptcp-policyd `--no-dbus`",
            Variant::Bus => "mptcp-policyd on a bus",
            Variant::Budget => {
                "mptcp-policyd `--no-dbus`, LTE budget 10 GB (`when_exhausted = off`)"
            }
        }
    }
}

struct Row {
    variant: Variant,
    start_ms: Vec<f64>,
    rss_kib: u64,
    threads: u64,
    idle_cpu_ms: f64,
    idle_wakeups: u64,
    rss_after_load_kib: Option<u64>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let daemon = args.daemon.clone().unwrap_or_else(default_daemon_bin);
    let tb = Testbed::new(TestbedOpts {
        ipv6: args.ipv6,
        ..TestbedOpts::default()
    })?;
    let dir = tb.tmp_dir().to_path_buf();
    let mptcpd = if args.no_mptcpd {
        None
    } else {
        match fetch_mptcpd(&dir.join("mptcpd")) {
            Ok(root) => Some(root),
            Err(e) => {
                eprintln!("mptcpd left out: {e:#}");
                None
            }
        }
    };
    let bus = PrivateBus::start_with(&BusOptions {
        conf_files: &[],
        root_may_own_any: true,
    })?;
    let mut variants = vec![Variant::NoDbus, Variant::Bus, Variant::Budget];
    if mptcpd.is_some() {
        variants.insert(0, Variant::Mptcpd);
    }
    if !args.only.is_empty() {
        variants.retain(|v| args.only.contains(v));
    }
    // The policy files are written before any start is timed (a file
    // written between t0 and the exec was 0.1 ms of the daemon's figure).
    for variant in &variants {
        let text = if *variant == Variant::Budget {
            format!("{DAEMON_POLICY}{BUDGET_LINE}")
        } else {
            DAEMON_POLICY.to_string()
        };
        std::fs::write(dir.join(format!("policy-{variant:?}.toml")), text)?;
    }
    // A fresh state directory per start (a reused one would hold the last
    // start's endpoints and counters), made before the start is timed, as
    // systemd makes the service's StateDirectory= before its exec.
    let state_of = |variant: Variant, run: usize| dir.join(format!("state-{variant:?}-{run}"));
    let launch = |variant: Variant, run: usize| -> Result<BgProcess> {
        let state = state_of(variant, run);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", tb.client_ns()]);
        match variant {
            Variant::Mptcpd => {
                let root = mptcpd.as_deref().context("mptcpd")?;
                let lib = root.join("usr/lib/x86_64-linux-gnu");
                cmd.env("LD_LIBRARY_PATH", &lib)
                    .arg(root.join("usr/libexec/mptcpd"))
                    .arg("--log=stderr")
                    .arg(format!("--plugin-dir={}", lib.join("mptcpd").display()))
                    .args([
                        "--path-manager=addr_adv",
                        "--addr-flags=subflow",
                        "--notify-flags=existing,skip_link_local,skip_loopback",
                    ]);
            }
            _ => {
                let policy = dir.join(format!("policy-{variant:?}.toml"));
                cmd.arg(&daemon).arg("--config").arg(&policy);
                cmd.arg("--state-dir").arg(&state);
                if variant == Variant::Bus {
                    cmd.env("DBUS_SYSTEM_BUS_ADDRESS", bus.address());
                } else {
                    cmd.arg("--no-dbus");
                }
            }
        }
        BgProcess::spawn(&format!("{variant:?}-{run}"), &mut cmd, &dir)
    };
    // Start times: the daemons take turns in every round, so a slow moment
    // of the machine falls on all of them alike.
    // A start with no endpoints in the kernel: the daemon and the time to
    // both endpoints (ms).
    let start = |variant: Variant, run: usize| -> Result<(BgProcess, f64)> {
        flush_endpoints(&tb)?;
        if variant != Variant::Mptcpd {
            std::fs::create_dir_all(state_of(variant, run))?;
        }
        let watch = watch_both_endpoints(&tb)?;
        let t0 = Instant::now();
        let d = launch(variant, run)?;
        match watch.join() {
            Ok(seen) => Ok((d, seen.duration_since(t0).as_secs_f64() * 1000.0)),
            Err(e) => bail!("{}: {e:#}\n{}", variant.label(), d.stderr()),
        }
    };
    let mut start_ms: BTreeMap<Variant, Vec<f64>> = BTreeMap::new();
    for run in 0..args.runs {
        for &variant in &variants {
            let (mut d, ms) = start(variant, run)?;
            start_ms.entry(variant).or_default().push(ms);
            d.stop();
        }
    }
    let mut rows = Vec::new();
    for variant in variants {
        eprintln!("{}", variant.label());
        // The idle measurement: a fresh start, 3 s to settle, then the window.
        let (mut d, _) = start(variant, args.runs)?;
        std::thread::sleep(Duration::from_secs(3));
        let pid = d.pid().context("pid")?;
        let (rss_kib, threads) = rss_and_threads(pid)?;
        let before = thread_counters(pid)?;
        std::thread::sleep(Duration::from_secs(args.idle_secs));
        let (idle_cpu_ns, idle_wakeups) = idle_cost(&before, &thread_counters(pid)?);
        eprintln!("  after 3 s: {}", rss_split(pid)?);
        let rss_after_load_kib = if args.connections > 0 {
            connection_load(&tb, &dir, args.connections)?;
            std::thread::sleep(Duration::from_secs(2));
            eprintln!(
                "  after {} connections: {}",
                args.connections,
                rss_split(pid)?
            );
            Some(rss_and_threads(pid)?.0)
        } else {
            None
        };
        d.stop();
        rows.push(Row {
            variant,
            start_ms: start_ms.remove(&variant).unwrap_or_default(),
            rss_kib,
            threads,
            idle_cpu_ms: idle_cpu_ns as f64 / 1e6,
            idle_wakeups,
            rss_after_load_kib,
        });
    }
    flush_endpoints(&tb)?;
    print_table(&rows, &args);
    Ok(())
}

fn print_table(rows: &[Row], args: &Args) {
    println!(
        "| daemon | start → both endpoints, ms | RSS after 3 s | threads | CPU in {} s idle | wakeups in {} s idle | RSS after {} connections |",
        args.idle_secs, args.idle_secs, args.connections
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.1} MB | {} | {:.2} ms | {} | {} |",
            r.variant.label(),
            Summary::of(&r.start_ms).map_or("-".into(), |s| format!(
                "{:.2} ({:.2}–{:.2})",
                s.median, s.min, s.max
            )),
            r.rss_kib as f64 / 1024.0,
            r.threads,
            r.idle_cpu_ms,
            r.idle_wakeups,
            r.rss_after_load_kib
                .map_or("-".into(), |k| format!("{:.1} MB", k as f64 / 1024.0)),
        );
    }
    print_start_pairs(rows);
}

/// Each daemon's start beside mptcpd's of the same round (they take turns,
/// so a pair shares the machine's moment): the median of the differences
/// and how many rounds it was as fast or faster. Steadier than comparing
/// the two medians, which move by a tenth of a millisecond between runs.
fn print_start_pairs(rows: &[Row]) {
    let Some(mptcpd) = rows.iter().find(|r| r.variant == Variant::Mptcpd) else {
        return;
    };
    println!();
    for r in rows.iter().filter(|r| r.variant != Variant::Mptcpd) {
        let diffs: Vec<f64> = r
            .start_ms
            .iter()
            .zip(&mptcpd.start_ms)
            .map(|(ours, theirs)| ours - theirs)
            .collect();
        let Some(s) = Summary::of(&diffs) else {
            continue;
        };
        let not_slower = diffs.iter().filter(|d| **d <= 0.0).count();
        println!(
            "start of {} − mptcpd's in the same round: median {:+.2} ms ({:+.2} to {:+.2}); as fast or faster in {} of {} rounds",
            r.variant.label(),
            s.median,
            s.min,
            s.max,
            not_slower,
            diffs.len()
        );
    }
}

/// Debian's mptcpd 0.12 unpacked (not installed) under `dir`.
fn fetch_mptcpd(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let ok = Command::new("apt-get")
        .current_dir(dir)
        .args([
            "download",
            "-q",
            "mptcpd",
            "libmptcpd3",
            "mptcpd-plugins",
            "libell0",
        ])
        .stdout(std::process::Stdio::null())
        .status()?
        .success();
    if !ok {
        bail!("apt-get download mptcpd failed");
    }
    let root = dir.join("root");
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "deb") {
            let st = Command::new("dpkg")
                .arg("-x")
                .arg(&path)
                .arg(&root)
                .status()?;
            if !st.success() {
                bail!("dpkg -x {} failed", path.display());
            }
        }
    }
    Ok(root)
}

fn flush_endpoints(tb: &Testbed) -> Result<()> {
    let st = Command::new("ip")
        .args(["-n", tb.client_ns(), "mptcp", "endpoint", "flush"])
        .status()?;
    if !st.success() {
        bail!("ip mptcp endpoint flush failed");
    }
    Ok(())
}

/// A thread in the phone namespace, its netlink socket open, dumping the
/// endpoints until both daemons' addresses are there: [`EndpointWatch::join`]
/// gives the moment it saw them.
struct EndpointWatch(std::thread::JoinHandle<Result<Instant>>);

impl EndpointWatch {
    fn join(self) -> Result<Instant> {
        self.0
            .join()
            .map_err(|_| anyhow::anyhow!("endpoint watcher panicked"))?
    }
}

/// Starts an [`EndpointWatch`]; returns once it polls.
fn watch_both_endpoints(tb: &Testbed) -> Result<EndpointWatch> {
    let want: [IpAddr; 2] = [WLAN_V4.parse()?, WWAN_V4.parse()?];
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = in_ns(tb.client_ns(), move || -> Result<Instant> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let pm = PmHandle::connect().await?;
            let _ = ready_tx.send(());
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let eps = pm.endpoint_dump().await?;
                if want.iter().all(|a| eps.iter().any(|e| e.addr == *a)) {
                    return Ok(Instant::now());
                }
                if Instant::now() > deadline {
                    bail!("no endpoints after 10 s: {eps:?}");
                }
                // Busy on one core; on a 2-core machine the daemon starts on the other.
                std::thread::sleep(Duration::from_micros(50));
            }
        })
    });
    match ready_rx.recv_timeout(Duration::from_secs(5)) {
        Ok(()) => Ok(EndpointWatch(handle)),
        Err(_) => {
            let why = EndpointWatch(handle).join().err();
            bail!("the endpoint watcher did not start: {why:?}")
        }
    }
}

fn rss_and_threads(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("Threads:")?))
}

/// "RSS (file F, anonymous A)" from /proc/PID/status, for the log.
fn rss_split(pid: u32) -> Result<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok(format!(
        "RSS {:.2} MB (file {:.2}, anonymous {:.2})",
        kib("VmRSS:") / 1024.0,
        kib("RssFile:") / 1024.0,
        kib("RssAnon:") / 1024.0
    ))
}

/// Per thread: CPU time (ns, `schedstat`) and context switches (voluntary
/// and not: each switch back in is a wakeup).
fn thread_counters(pid: u32) -> Result<BTreeMap<String, (u64, u64)>> {
    let mut out = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let task = task?;
        let path = task.path();
        let Ok(sched) = std::fs::read_to_string(path.join("schedstat")) else {
            continue; // the thread ended meanwhile
        };
        let cpu = sched
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        let switches = status
            .lines()
            .filter_map(|line| {
                line.strip_prefix("voluntary_ctxt_switches:")
                    .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            })
            .filter_map(|v| v.trim().parse::<u64>().ok())
            .sum();
        out.insert(
            task.file_name().to_string_lossy().into_owned(),
            (cpu, switches),
        );
    }
    Ok(out)
}

/// CPU time (ns) and wakeups between two readings: per thread, so that a
/// thread ending in between (tokio's idle blocking thread, after 10 s) does
/// not make the sum go backwards; a thread that ended counts what it did
/// before the first reading as nothing, one that started counts all it did.
fn idle_cost(
    before: &BTreeMap<String, (u64, u64)>,
    after: &BTreeMap<String, (u64, u64)>,
) -> (u64, u64) {
    after.iter().fold((0, 0), |(cpu, sw), (tid, &(c1, s1))| {
        let (c0, s0) = before.get(tid).copied().unwrap_or((0, 0));
        (cpu + c1.saturating_sub(c0), sw + s1.saturating_sub(s0))
    })
}

/// Opens and closes `connections` MPTCP connections from the phone, 500 at
/// a time (event-bench's two ends).
fn connection_load(tb: &Testbed, dir: &Path, connections: usize) -> Result<()> {
    let bench = std::env::current_exe()?
        .parent()
        .context("bin dir")?
        .join("event-bench");
    let ready = dir.join("serve.ready");
    let _ = std::fs::remove_file(&ready);
    let _server = BgProcess::spawn_in_ns(
        tb.server_ns(),
        "serve",
        &bench,
        &[
            "serve".into(),
            "--addr".into(),
            LOAD_ADDR.into(),
            "--ready".into(),
            ready.display().to_string(),
        ],
        dir,
    )?;
    mptcp_policy_tests::wait_for("server listening", Duration::from_secs(5), || {
        Ok(ready.exists())
    })?;
    let st = Command::new("ip")
        .args(["netns", "exec", tb.client_ns()])
        .arg(&bench)
        .args(["load", "--addr", LOAD_ADDR, "--batch", "500"])
        .args(["--connections", &connections.to_string()])
        .stdout(std::process::Stdio::null())
        .status()?;
    if !st.success() {
        bail!("connection load failed");
    }
    Ok(())
}
