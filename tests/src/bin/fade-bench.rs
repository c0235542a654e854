//! `fade-bench`: walking out of WiFi range (issue 16). The kernel alone
//! (static endpoints: WiFi `subflow`, LTE `subflow backup`) and
//! mptcp-policyd in the same run, each on fresh testbeds (WiFi 10 ms, LTE
//! 40 ms RTT), both directions, min/median/max over N runs:
//! - loss ramp (5 → 95 % every 0.4 s, then silence) under a 1 KiB/ms
//!   stream: longest gap, slow time (100-ms windows under half the rate
//!   before the silence), silence → steady;
//! - the blackhole (silent at once): cut → steady;
//! - request/response (1 KiB each way every 20 ms) through the loss ramp
//!   and through a delay ramp (WiFi RTT 10 → 400 ms over 3 s): p50 / p99;
//! - false promotions per minute (daemon): steady 2 % loss, idle, on/off.

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};
use mptcp_policy_tests::bins::{default_daemon_bin, find_bin};
use mptcp_policy_tests::fade::{fade_rr, false_promotions, loss_ramp_stream, Calm};
use mptcp_policy_tests::handover::{run_once, Cut, RunConfig, Scenario};
use mptcp_policy_tests::netns::cleanup_stale_namespaces;
use mptcp_policy_tests::stats::Summary;
use mptcp_policy_tests::Direction;
use std::path::PathBuf;

/// One kind of measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Measure {
    /// Loss ramp under a paced stream, both directions.
    LossRamp,
    /// Blackhole (silent at once), both directions.
    Blackhole,
    /// Request/response through the loss ramp.
    RrLoss,
    /// Request/response through the delay ramp.
    RrDelay,
}

#[derive(Parser, Debug)]
#[command(
    about = "WiFi fade benchmark: loss ramp, delay ramp, blackhole, false promotions \
                   (needs root, nftables, iptables)"
)]
struct Args {
    /// Runs per measurement.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// mptcp-policyd binary (default: env MPTCP_POLICYD, else next to this binary).
    #[arg(long, env = "MPTCP_POLICYD")]
    daemon: Option<PathBuf>,
    /// Also measure the daemon with the userspace path manager.
    #[arg(long)]
    userspace: bool,
    /// Length of each false-promotion run (s).
    #[arg(long, default_value_t = 60)]
    false_secs: u64,
    /// Skip the false-promotion runs.
    #[arg(long)]
    no_false: bool,
    /// Only these measurements (repeatable; default: all).
    #[arg(long, value_enum)]
    only: Vec<Measure>,
}

impl Args {
    fn wants(&self, m: Measure) -> bool {
        self.only.is_empty() || self.only.contains(&m)
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("fade-bench: {e:#}");
        std::process::exit(1);
    }
}

/// One table line: a measurement, one cell per scenario.
struct Line {
    what: String,
    cells: Vec<String>,
}

fn run() -> Result<()> {
    let args = Args::parse();
    let daemon_bin = args.daemon.clone().unwrap_or_else(default_daemon_bin);
    if !daemon_bin.is_file() {
        bail!(
            "daemon binary not found at {} (build it, pass --daemon PATH or set MPTCP_POLICYD)",
            daemon_bin.display()
        );
    }
    let stale = cleanup_stale_namespaces()?;
    if stale > 0 {
        eprintln!("fade-bench: removed {stale} stale testbed namespace(s)");
    }
    let base = RunConfig {
        scenario: Scenario::Static,
        direction: Direction::Upload,
        cut: Cut::Blackhole,
        cut_after_ms: 2_000,
        after_cut_ms: 3_000,
        stream_bin: find_bin("mptcp-stream", "MPTCP_STREAM")?,
        delayer_bin: find_bin("mptcp-delayer", "MPTCP_DELAYER")?,
        daemon_bin: Some(daemon_bin),
        policy: None,
    };
    let mut scenarios = vec![Scenario::Static, Scenario::Daemon];
    if args.userspace {
        scenarios.push(Scenario::Userspace);
    }
    let mut failures = Vec::new();
    let mut lines = Vec::new();
    let n = args.runs;
    let streams = args.wants(Measure::LossRamp) || args.wants(Measure::Blackhole);
    for direction in [Direction::Upload, Direction::Download]
        .into_iter()
        .filter(|_| streams)
    {
        let mut gap = Vec::new();
        let mut slow = Vec::new();
        let mut steady = Vec::new();
        let mut cut = Vec::new();
        for &scenario in &scenarios {
            let cfg = RunConfig {
                scenario,
                direction,
                ..base.clone()
            };
            let label = format!("{} {}", scenario.name(), direction.name());
            let ramps = if args.wants(Measure::LossRamp) {
                repeat(n, &format!("loss ramp, {label}"), &mut failures, || {
                    loss_ramp_stream(&cfg)
                })
            } else {
                Vec::new()
            };
            gap.push(cell(ramps.iter().map(|r| r.longest_gap_ms)));
            slow.push(cell(ramps.iter().map(|r| r.slow_ms)));
            steady.push(cell(ramps.iter().filter_map(|r| r.silence_to_steady_ms)));
            let cuts = if args.wants(Measure::Blackhole) {
                repeat(n, &format!("blackhole, {label}"), &mut failures, || {
                    run_once(&cfg)
                })
            } else {
                Vec::new()
            };
            cut.push(cell(cuts.iter().filter_map(|r| r.cut_to_steady_ms)));
        }
        let d = direction.name();
        let mut push = |what: String, cells: Vec<String>, m: Measure| {
            if args.wants(m) {
                lines.push(Line { what, cells });
            }
        };
        push(
            format!("loss ramp: longest gap, {d}"),
            gap,
            Measure::LossRamp,
        );
        push(
            format!("loss ramp: slow time, {d}"),
            slow,
            Measure::LossRamp,
        );
        push(
            format!("loss ramp: silence → steady, {d}"),
            steady,
            Measure::LossRamp,
        );
        push(
            format!("blackhole: cut → steady, {d}"),
            cut,
            Measure::Blackhole,
        );
    }
    let rr = [
        (false, "loss ramp", Measure::RrLoss),
        (true, "delay ramp 10 → 400 ms", Measure::RrDelay),
    ];
    for (delay, name, _) in rr.into_iter().filter(|r| args.wants(r.2)) {
        let (mut p50, mut p99) = (Vec::new(), Vec::new());
        for &scenario in &scenarios {
            let cfg = RunConfig {
                scenario,
                ..base.clone()
            };
            let label = format!("request/response, {name}, {}", scenario.name());
            let runs = repeat(n, &label, &mut failures, || fade_rr(&cfg, delay));
            p50.push(cell(runs.iter().map(|r| r.p50_ms)));
            p99.push(cell(runs.iter().map(|r| r.p99_ms)));
        }
        lines.push(Line {
            what: format!("{name}: request/response p50"),
            cells: p50,
        });
        lines.push(Line {
            what: format!("{name}: request/response p99"),
            cells: p99,
        });
    }
    let mut calm = Vec::new();
    if !args.no_false {
        for (load, direction) in [
            (Calm::Loss2, Direction::Upload),
            (Calm::Loss2, Direction::Download),
            (Calm::Idle, Direction::Upload),
            (Calm::OnOff, Direction::Upload),
            (Calm::OnOff, Direction::Download),
        ] {
            let cfg = RunConfig {
                scenario: Scenario::Daemon,
                direction,
                ..base.clone()
            };
            let what = format!("{}, {}", load.label(), direction.name());
            match false_promotions(&cfg, load, args.false_secs) {
                Ok(per_min) => {
                    eprintln!("false promotions, {what}: {per_min:.1}/min");
                    calm.push((what, format!("{per_min:.1}")));
                }
                Err(e) => {
                    eprintln!("false promotions, {what}: FAILED: {e:#}");
                    failures.push(format!("false promotions, {what}: {e:#}"));
                }
            }
        }
    }
    print_table(&args, &scenarios, &lines, &calm);
    for f in &failures {
        println!("FAILED {f}");
    }
    if !failures.is_empty() {
        bail!("{} run(s) failed", failures.len());
    }
    Ok(())
}

/// `n` runs of `f`, progress on stderr; the failures are collected.
fn repeat<T: std::fmt::Debug>(
    n: usize,
    label: &str,
    failures: &mut Vec<String>,
    mut f: impl FnMut() -> Result<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    for i in 1..=n {
        match f() {
            Ok(r) => {
                eprintln!("{label} run {i}/{n}: {r:?}");
                out.push(r);
            }
            Err(e) => {
                eprintln!("{label} run {i}/{n}: FAILED: {e:#}");
                failures.push(format!("{label}: {e:#}"));
            }
        }
    }
    out
}

fn cell(values: impl Iterator<Item = f64>) -> String {
    Summary::cell(Summary::of(&values.collect::<Vec<_>>()))
}

fn print_table(args: &Args, scenarios: &[Scenario], lines: &[Line], calm: &[(String, String)]) {
    println!(
        "WiFi fade, WiFi 10 ms / LTE 40 ms RTT; ms, median (min–max) of {} runs",
        args.runs
    );
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| match s {
            Scenario::Static => "kernel alone",
            Scenario::Daemon => "mptcp-policyd",
            Scenario::Userspace => "mptcp-policyd (userspace PM)",
        })
        .collect();
    println!("| | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    for l in lines {
        println!("| {} | {} |", l.what, l.cells.join(" | "));
    }
    if !calm.is_empty() {
        println!();
        println!(
            "False promotions per minute (mptcp-policyd, {} s each):",
            args.false_secs
        );
        println!("| load | per minute |");
        println!("|---|---|");
        for (what, v) in calm {
            println!("| {what} | {v} |");
        }
    }
}
