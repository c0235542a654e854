//! `health-bench`: silent WiFi loss benchmark (issue 8). For each scenario ×
//! direction, N runs on a fresh testbed each: stream ~1 KiB/ms, blackhole
//! `wlan0` (every WiFi packet dropped, link up) after ~2 s, keep streaming
//! ~3 s; min/median/max of the gap, cut→steady and the daemon's reaction
//! (its `health … reaction_us=` log line, `-` when absent). Then, for the
//! daemon scenario only: false stalls (paced, idle, on/off, random WiFi loss),
//! recovery after the loss ends, and the daemon's CPU cost. One table, or JSON.

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};
use mptcp_policy_tests::bins::{default_daemon_bin, find_bin};
use mptcp_policy_tests::handover::{measure, print_rows, Cut, Row, RunConfig, Scenario};
use mptcp_policy_tests::health::{
    cost, false_stalls, recovery, CostResult, FalseStallResult, Load, RecoveryResult,
};
use mptcp_policy_tests::netns::cleanup_stale_namespaces;
use mptcp_policy_tests::Direction;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ScenarioArg {
    Static,
    Daemon,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DirArg {
    Upload,
    Download,
    Both,
}

#[derive(Parser, Debug)]
#[command(about = "Silent WiFi loss (path health) benchmark (needs root, nftables, iptables)")]
struct Args {
    /// Runs per scenario × direction for the cut.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only these scenarios (repeatable; default: both).
    #[arg(long, value_enum)]
    scenario: Vec<ScenarioArg>,
    /// Direction(s) to measure (cut, false stalls, recovery, cost).
    #[arg(long, value_enum, default_value = "both")]
    direction: DirArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// mptcp-policyd binary (default: env MPTCP_POLICYD, else next to this binary).
    #[arg(long, env = "MPTCP_POLICYD")]
    daemon: Option<PathBuf>,
    /// Policy file for the daemon (default: WiFi preferred, LTE backup).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Blackhole WiFi this long after the stream starts (ms).
    #[arg(long, default_value_t = 2000)]
    cut_after_ms: u64,
    /// Keep streaming this long after the cut (ms).
    #[arg(long, default_value_t = 3000)]
    after_cut_ms: u64,
    /// Length of each false-stall run (s; default 60, 10 with --quick).
    #[arg(long)]
    false_secs: Option<u64>,
    /// Random WiFi loss (%) of the false-stall loss run.
    #[arg(long, default_value_t = 2)]
    loss_percent: u32,
    /// Recovery: how long WiFi stays blackholed (ms).
    #[arg(long, default_value_t = 3000)]
    recovery_hold_ms: u64,
    /// Recovery: how long to wait for traffic back on WiFi after the heal (ms).
    #[arg(long, default_value_t = 10_000)]
    recovery_window_ms: u64,
    /// Cost: length of the busy and of the idle window (s).
    #[arg(long, default_value_t = 10)]
    cost_secs: u64,
    /// Short false-stall runs (10 s unless --false-secs).
    #[arg(long)]
    quick: bool,
    /// Only the cut table (no false stalls, recovery, cost).
    #[arg(long)]
    no_extras: bool,
}

#[derive(Serialize, Default)]
struct Report {
    cut: Vec<Row>,
    false_stalls: Vec<FalseStallResult>,
    recovery: Vec<RecoveryResult>,
    cost: Vec<CostResult>,
    /// Extras that failed: (what, error).
    extra_failures: Vec<(String, String)>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("health-bench: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args = Args::parse();
    let scenarios: Vec<Scenario> = [
        (ScenarioArg::Static, Scenario::Static),
        (ScenarioArg::Daemon, Scenario::Daemon),
    ]
    .into_iter()
    .filter(|(a, _)| args.scenario.is_empty() || args.scenario.contains(a))
    .map(|(_, s)| s)
    .collect();
    let directions = match args.direction {
        DirArg::Upload => vec![Direction::Upload],
        DirArg::Download => vec![Direction::Download],
        DirArg::Both => vec![Direction::Upload, Direction::Download],
    };
    let false_secs = args.false_secs.unwrap_or(if args.quick { 10 } else { 60 });
    let daemon_bin = args.daemon.clone().unwrap_or_else(default_daemon_bin);
    if scenarios.contains(&Scenario::Daemon) && !daemon_bin.is_file() {
        bail!(
            "daemon binary not found at {} (build it, pass --daemon PATH or set MPTCP_POLICYD; \
             --scenario static runs without it)",
            daemon_bin.display()
        );
    }
    let policy = match &args.policy {
        Some(p) => Some(std::fs::read_to_string(p)?),
        None => None,
    };
    let stale = cleanup_stale_namespaces()?;
    if stale > 0 {
        eprintln!("health-bench: removed {stale} stale testbed namespace(s)");
    }
    let base = RunConfig {
        scenario: Scenario::Static,
        direction: Direction::Upload,
        cut: Cut::Blackhole,
        cut_after_ms: args.cut_after_ms,
        after_cut_ms: args.after_cut_ms,
        stream_bin: find_bin("mptcp-stream", "MPTCP_STREAM")?,
        delayer_bin: find_bin("mptcp-delayer", "MPTCP_DELAYER")?,
        daemon_bin: Some(daemon_bin),
        policy,
    };
    let mut rep = Report::default();
    for &scenario in &scenarios {
        for &direction in &directions {
            let cfg = RunConfig {
                scenario,
                direction,
                ..base.clone()
            };
            rep.cut.push(measure(&cfg, args.runs));
        }
    }
    if scenarios.contains(&Scenario::Daemon) && !args.no_extras {
        extras(&args, &base, &directions, false_secs, &mut rep);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        print_report(&args, &rep, false_secs);
    }
    let failed: usize =
        rep.cut.iter().map(|r| r.failures.len()).sum::<usize>() + rep.extra_failures.len();
    if failed > 0 {
        bail!("{failed} run(s) failed");
    }
    Ok(())
}

fn extras(
    args: &Args,
    base: &RunConfig,
    directions: &[Direction],
    false_secs: u64,
    rep: &mut Report,
) {
    let daemon = |direction| RunConfig {
        scenario: Scenario::Daemon,
        direction,
        ..base.clone()
    };
    let mut fail = |what: String, e: anyhow::Error| {
        eprintln!("{what}: FAILED: {e:#}");
        rep.extra_failures.push((what, format!("{e:#}")));
    };
    // False stalls.
    let mut loads: Vec<(Load, Direction)> = Vec::new();
    for load in [Load::Paced, Load::OnOff, Load::Loss(args.loss_percent)] {
        loads.extend(directions.iter().map(|&d| (load, d)));
    }
    loads.push((Load::Idle, directions[0]));
    for (load, d) in loads {
        let what = format!("false stalls, {}, {}", load.label(), d.name());
        match false_stalls(&daemon(d), load, d, false_secs) {
            Ok(r) => {
                eprintln!(
                    "{what}: {} stall(s), {} suspect(s) in {false_secs} s, longest gap {:.0} ms",
                    r.stalls, r.suspects, r.longest_gap_ms
                );
                rep.false_stalls.push(r);
            }
            Err(e) => fail(what, e),
        }
    }
    // Recovery.
    for &d in directions {
        let what = format!("recovery, {}", d.name());
        match recovery(&daemon(d), args.recovery_hold_ms, args.recovery_window_ms) {
            Ok(r) => {
                eprintln!(
                    "{what}: back on WiFi after {:?} ms, same connection {}, gap {:.0} ms",
                    r.recovery_ms, r.same_connection, r.gap_ms
                );
                rep.recovery.push(r);
            }
            Err(e) => fail(what, e),
        }
    }
    // Cost.
    let mut costs: Vec<(bool, Direction)> = directions.iter().map(|&d| (false, d)).collect();
    costs.push((true, directions[0]));
    for (idle, d) in costs {
        let what = format!("cost, {}", if idle { "idle" } else { d.name() });
        match cost(&daemon(d), idle, args.cost_secs) {
            Ok(r) => {
                eprintln!("{what}: {:.2} % of a core", r.core_pct);
                rep.cost.push(r);
            }
            Err(e) => fail(what, e),
        }
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0} ms"))
}

fn print_report(args: &Args, rep: &Report, false_secs: u64) {
    print_rows(
        &format!(
            "Silent WiFi loss (every WiFi packet dropped, link up), WiFi 10 ms / LTE 40 ms; \
             median (min–max) of {} runs, ms",
            args.runs
        ),
        &rep.cut,
    );
    if rep.false_stalls.is_empty() && rep.recovery.is_empty() && rep.cost.is_empty() {
        if rep.extra_failures.is_empty() {
            return;
        }
    } else {
        println!();
        println!("daemon scenario");
        println!("{:<40} {:<9} {:>28}", "measure", "direction", "result");
    }
    for r in &rep.false_stalls {
        println!(
            "{:<40} {:<9} {:>28}",
            format!("false stalls in {false_secs} s: {}", r.load),
            r.direction.unwrap_or("-"),
            format!(
                "{} (suspect {}, gap {:.0} ms)",
                r.stalls, r.suspects, r.longest_gap_ms
            )
        );
    }
    for r in &rep.recovery {
        println!(
            "{:<40} {:<9} {:>28}",
            format!("recovery after {} ms loss", args.recovery_hold_ms),
            r.direction,
            format!(
                "{}{}",
                ms(r.recovery_ms),
                if r.same_connection {
                    ", same conn."
                } else {
                    ", CONN. BROKE"
                }
            )
        );
    }
    for r in &rep.cost {
        println!(
            "{:<40} {:<9} {:>28}",
            format!("cost: daemon CPU, {} {} s", r.what, r.secs),
            r.direction.unwrap_or("-"),
            format!("{:.2} % of a core", r.core_pct)
        );
    }
    for (what, e) in &rep.extra_failures {
        println!("FAILED {what}: {e}");
    }
}
