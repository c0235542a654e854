//! `handover-bench`: WiFi→LTE handover benchmark. For each scenario ×
//! direction, N runs on a fresh testbed each: stream ~1 KiB/ms, cut `wlan0`
//! after ~2 s, keep streaming ~3 s; print min/median/max of the gap, cut→steady
//! and (daemon scenario) the daemon's reaction time, as one table or JSON.

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};
use mptcp_policy_tests::bins::{default_daemon_bin, find_bin};
use mptcp_policy_tests::handover::{measure, print_rows, Cut, RunConfig, Scenario};
use mptcp_policy_tests::netns::cleanup_stale_namespaces;
use mptcp_policy_tests::Direction;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ScenarioArg {
    Static,
    Daemon,
    Userspace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DirArg {
    Upload,
    Download,
    Both,
}

#[derive(Parser, Debug)]
#[command(about = "WiFi→LTE handover benchmark (needs root)")]
struct Args {
    /// Runs per scenario × direction.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only these scenarios (repeatable; default: all).
    #[arg(long, value_enum)]
    scenario: Vec<ScenarioArg>,
    /// Direction(s) to measure.
    #[arg(long, value_enum, default_value = "both")]
    direction: DirArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// mptcp-policyd binary (default: env MPTCP_POLICYD, else target/release/mptcp-policyd).
    #[arg(long, env = "MPTCP_POLICYD")]
    daemon: Option<PathBuf>,
    /// Cut WiFi this long after the stream starts (ms).
    #[arg(long, default_value_t = 2000)]
    cut_after_ms: u64,
    /// Keep streaming this long after the cut (ms).
    #[arg(long, default_value_t = 3000)]
    after_cut_ms: u64,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("handover-bench: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args = Args::parse();
    let scenarios: Vec<Scenario> = if args.scenario.is_empty() {
        vec![Scenario::Static, Scenario::Daemon, Scenario::Userspace]
    } else {
        let mut v = Vec::new();
        for s in [
            ScenarioArg::Static,
            ScenarioArg::Daemon,
            ScenarioArg::Userspace,
        ] {
            if args.scenario.contains(&s) {
                v.push(match s {
                    ScenarioArg::Static => Scenario::Static,
                    ScenarioArg::Daemon => Scenario::Daemon,
                    ScenarioArg::Userspace => Scenario::Userspace,
                });
            }
        }
        v
    };
    let directions = match args.direction {
        DirArg::Upload => vec![Direction::Upload],
        DirArg::Download => vec![Direction::Download],
        DirArg::Both => vec![Direction::Upload, Direction::Download],
    };
    let daemon_bin = args.daemon.clone().unwrap_or_else(default_daemon_bin);
    if scenarios.iter().any(|s| *s != Scenario::Static) && !daemon_bin.is_file() {
        bail!(
            "daemon binary not found at {} (build it, pass --daemon PATH or set MPTCP_POLICYD; \
             --scenario static runs without it)",
            daemon_bin.display()
        );
    }
    let stale = cleanup_stale_namespaces()?;
    if stale > 0 {
        eprintln!("handover-bench: removed {stale} stale testbed namespace(s)");
    }
    let stream_bin = find_bin("mptcp-stream", "MPTCP_STREAM")?;
    let delayer_bin = find_bin("mptcp-delayer", "MPTCP_DELAYER")?;
    let mut rows = Vec::new();
    for &scenario in &scenarios {
        for &direction in &directions {
            let cfg = RunConfig {
                scenario,
                direction,
                cut: Cut::LinkDown,
                cut_after_ms: args.cut_after_ms,
                after_cut_ms: args.after_cut_ms,
                stream_bin: stream_bin.clone(),
                delayer_bin: delayer_bin.clone(),
                daemon_bin: Some(daemon_bin.clone()),
                policy: None,
            };
            rows.push(measure(&cfg, args.runs));
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_rows(
            &format!(
                "WiFi (10 ms) → LTE (40 ms) handover on link down; median (min–max) of {} runs, ms",
                args.runs
            ),
            &rows,
        );
    }
    let failed: usize = rows.iter().map(|r| r.failures.len()).sum();
    if failed > 0 {
        bail!("{failed} run(s) failed");
    }
    Ok(())
}
