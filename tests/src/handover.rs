//! One handover measurement: fresh testbed, stream, cut WiFi (link down or
//! silent loss), measure; shared by `handover-bench` and `health-bench`.

use crate::clock::{monotonic_us, sleep_until_us};
use crate::process::{wait_for, BgProcess};
use crate::stats::Summary;
use crate::stream::{Direction, StreamRun, StreamSpec};
use crate::testbed::{Testbed, TestbedOpts, WLAN_V4, WWAN_V4};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// The daemon's policy for the `daemon` scenario.
pub const DAEMON_POLICY: &str = r#"[limits]
subflows = 4
add_addr_accepted = 4
[[interface]]
type = "wifi"
role = "preferred"
[[interface]]
type = "cellular"
role = "backup"
"#;

/// Who manages the client's endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scenario {
    /// Endpoints set by hand (WiFi `subflow`, LTE `subflow backup`), no daemon.
    Static,
    /// mptcp-policyd in the client namespace.
    Daemon,
    /// mptcp-policyd with the userspace path manager: it opens the LTE
    /// subflow of each connection as backup and closes the WiFi one itself.
    Userspace,
}

impl Scenario {
    /// "static" / "daemon".
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Static => "static",
            Scenario::Daemon => "daemon",
            Scenario::Userspace => "daemon (userspace PM)",
        }
    }
}

/// How WiFi is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Cut {
    /// `ip link set wlan0 down` (the daemon must log `reaction_us=`).
    LinkDown,
    /// [`Testbed::blackhole`]: every WiFi packet dropped, link up (a daemon
    /// line with `health` and `reaction_us=` is reported when present).
    Blackhole,
}

/// Parameters of one run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub scenario: Scenario,
    pub direction: Direction,
    pub cut: Cut,
    pub cut_after_ms: u64,
    pub after_cut_ms: u64,
    pub stream_bin: PathBuf,
    pub delayer_bin: PathBuf,
    pub daemon_bin: Option<PathBuf>,
    /// Policy file text for the daemon (None: [`DAEMON_POLICY`]).
    pub policy: Option<String>,
}

/// What one run measured (ms).
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub gap_ms: f64,
    pub longest_gap_ms: f64,
    pub cut_to_steady_ms: Option<f64>,
    pub reaction_ms: Option<f64>,
    pub bytes: u64,
}

/// A fresh testbed with the client's endpoints managed per [`Scenario`]:
/// static endpoints, or the daemon (stopped before the testbed goes).
#[derive(Debug)]
pub struct Bed {
    // Field order = drop order: the daemon before the namespaces.
    pub daemon: Option<BgProcess>,
    pub tb: Testbed,
}

/// Lengths of the daemon's stdout/stderr logs at some moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMark {
    out: usize,
    err: usize,
}

impl Bed {
    /// Build the testbed (IPv4 only) and set up the scenario; for
    /// [`Scenario::Daemon`] wait until the daemon added both endpoints.
    pub fn new(cfg: &RunConfig) -> Result<Self> {
        Self::with_opts(cfg, TestbedOpts::default())
    }

    /// [`Bed::new`] on a testbed built from `opts` (IPv4 only, the
    /// configured delayer).
    pub fn with_opts(cfg: &RunConfig, opts: TestbedOpts) -> Result<Self> {
        let tb = Testbed::new(TestbedOpts {
            ipv6: false,
            delayer: Some(cfg.delayer_bin.clone()),
            ..opts
        })?;
        let daemon = match cfg.scenario {
            Scenario::Static => {
                tb.set_static_endpoints()?;
                None
            }
            Scenario::Daemon | Scenario::Userspace => Some(start_daemon(&tb, cfg)?),
        };
        Ok(Self { daemon, tb })
    }

    /// The daemon's log lengths now (reactions before it are not ours).
    pub fn log_mark(&self) -> LogMark {
        let len = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len() as usize);
        self.daemon
            .as_ref()
            .map_or(LogMark::default(), |d| LogMark {
                out: len(d.stdout_path()),
                err: len(d.stderr_path()),
            })
    }

    /// The daemon's log (stderr, then stdout) written since `mark`; empty
    /// without a daemon.
    pub fn log_since(&self, mark: LogMark) -> String {
        let Some(d) = &self.daemon else {
            return String::new();
        };
        let (err, out) = (d.stderr(), d.stdout());
        let mut s = err.get(mark.err..).unwrap_or("").to_string();
        s.push_str(out.get(mark.out..).unwrap_or(""));
        s
    }

    /// Cut WiFi the [`Cut`] way; CLOCK_MONOTONIC µs of the cut.
    pub fn cut(&self, cut: Cut) -> Result<u64> {
        match cut {
            Cut::LinkDown => self.tb.link_down("wlan0"),
            Cut::Blackhole => self.tb.blackhole("wlan0"),
        }
    }
}

/// Run one measurement on a fresh testbed (removed before returning).
pub fn run_once(cfg: &RunConfig) -> Result<RunResult> {
    let bed = Bed::new(cfg)?;
    let spec = StreamSpec {
        direction: cfg.direction,
        duration_ms: cfg.cut_after_ms + cfg.after_cut_ms,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&bed.tb, &cfg.stream_bin, &spec)?;
    sleep_until_us(t0 + cfg.cut_after_ms * 1000);
    let mark = bed.log_mark();
    let cut = bed.cut(cfg.cut)?;
    let res = run.wait(Duration::from_millis(spec.duration_ms + 30_000))?;
    res.check()?;
    let rx = &res.receiver;
    if !rx.reads.iter().any(|r| r.0 < cut) {
        bail!("nothing was received before the cut");
    }
    let reaction_ms = match (&bed.daemon, cfg.cut) {
        (None, _) => None,
        (Some(_), Cut::LinkDown) => {
            let us = parse_reaction_us(&bed.log_since(mark))
                .context("daemon logged no reaction_us=<N> after the cut")?;
            Some(us as f64 / 1000.0)
        }
        (Some(_), Cut::Blackhole) => {
            parse_health_reaction_us(&bed.log_since(mark)).map(|us| us as f64 / 1000.0)
        }
    };
    Ok(RunResult {
        gap_ms: rx.gap_after(cut) as f64 / 1000.0,
        longest_gap_ms: rx.longest_gap() as f64 / 1000.0,
        cut_to_steady_ms: rx.cut_to_steady(cut).map(|us| us as f64 / 1000.0),
        reaction_ms,
        bytes: rx.bytes_received,
    })
}

/// One table row: N runs of one scenario × direction.
#[derive(Debug, Serialize)]
pub struct Row {
    pub scenario: &'static str,
    pub direction: &'static str,
    pub runs: Vec<RunResult>,
    pub failures: Vec<String>,
    pub gap_ms: Option<Summary>,
    pub cut_to_steady_ms: Option<Summary>,
    pub reaction_ms: Option<Summary>,
}

/// `n` runs of `cfg` (progress on stderr), summarised.
pub fn measure(cfg: &RunConfig, n: usize) -> Row {
    let (mut runs, mut failures) = (Vec::new(), Vec::new());
    for i in 1..=n {
        let label = format!(
            "{} {} run {i}/{n}",
            cfg.scenario.name(),
            cfg.direction.name()
        );
        match run_once(cfg) {
            Ok(r) => {
                eprintln!(
                    "{label}: gap {:.1} ms, cut→steady {:?} ms, reaction {:?} ms",
                    r.gap_ms, r.cut_to_steady_ms, r.reaction_ms
                );
                runs.push(r);
            }
            Err(e) => {
                eprintln!("{label}: FAILED: {e:#}");
                failures.push(format!("{e:#}"));
            }
        }
    }
    let col = |f: fn(&RunResult) -> Option<f64>| {
        Summary::of(&runs.iter().filter_map(f).collect::<Vec<_>>())
    };
    Row {
        scenario: cfg.scenario.name(),
        direction: cfg.direction.name(),
        gap_ms: col(|r| Some(r.gap_ms)),
        cut_to_steady_ms: col(|r| r.cut_to_steady_ms),
        reaction_ms: col(|r| r.reaction_ms),
        runs,
        failures,
    }
}

/// Print rows as the handover table (after a `title` line), then failures.
pub fn print_rows(title: &str, rows: &[Row]) {
    println!("{title}");
    println!(
        "{:<8} {:<9} {:>4} {:>4} {:>20} {:>20} {:>20}",
        "scenario", "direction", "ok", "fail", "gap", "cut→steady", "daemon reaction"
    );
    for r in rows {
        println!(
            "{:<8} {:<9} {:>4} {:>4} {:>20} {:>20} {:>20}",
            r.scenario,
            r.direction,
            r.runs.len(),
            r.failures.len(),
            Summary::cell(r.gap_ms),
            Summary::cell(r.cut_to_steady_ms),
            Summary::cell(r.reaction_ms)
        );
    }
    for r in rows {
        for f in &r.failures {
            println!("FAILED {} {}: {f}", r.scenario, r.direction);
        }
    }
}

fn start_daemon(tb: &Testbed, cfg: &RunConfig) -> Result<BgProcess> {
    let bin = cfg.daemon_bin.as_ref().context("no daemon binary given")?;
    if !bin.is_file() {
        bail!("daemon binary not found at {}", bin.display());
    }
    let conf = tb.tmp_dir().join("policy.toml");
    let userspace = format!("[general]\npath_manager = \"userspace\"\n{DAEMON_POLICY}");
    let policy = match (cfg.policy.as_deref(), cfg.scenario) {
        (Some(p), _) => p,
        (None, Scenario::Userspace) => &userspace,
        (None, _) => DAEMON_POLICY,
    };
    std::fs::write(&conf, policy).context("writing daemon policy")?;
    let state = tb.tmp_dir().join("state");
    std::fs::create_dir_all(&state)?;
    let args: Vec<String> = [
        "--config",
        &conf.display().to_string(),
        "--no-dbus",
        "--state-dir",
        &state.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut d = BgProcess::spawn_in_ns(tb.client_ns(), "daemon", bin, &args, tb.tmp_dir())?;
    wait_for(
        "daemon to add both endpoints",
        Duration::from_secs(10),
        || {
            if let Some(st) = d.try_status()? {
                bail!("daemon exited ({st}): {}", d.stderr().trim());
            }
            let eps = tb.client_endpoints()?;
            Ok(eps.contains(WLAN_V4) && eps.contains(WWAN_V4))
        },
    )?;
    Ok(d)
}

/// `reaction_us=<N>` on the first line of `log` that mentions `health`
/// (any case), e.g. `wlan0: health good -> stalled (…) reaction_us=57000`.
pub fn parse_health_reaction_us(log: &str) -> Option<u64> {
    log.lines()
        .filter(|l| l.to_ascii_lowercase().contains("health"))
        .find_map(parse_reaction_us)
}

/// The first `reaction_us=<N>` in a log excerpt.
pub fn parse_reaction_us(log: &str) -> Option<u64> {
    log.lines().find_map(|l| {
        let rest = &l[l.find("reaction_us=")? + "reaction_us=".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reaction() {
        let log =
            "INFO start\nINFO link wlan0 down: deleted endpoint reaction_us=1234 ok\nreaction_us=9";
        assert_eq!(super::parse_reaction_us(log), Some(1234));
        assert_eq!(super::parse_reaction_us("nothing"), None);
    }

    #[test]
    fn health_reaction() {
        let log = "INFO wlan0 down reaction_us=5\n\
                   INFO wlan0: health good -> stalled (last ack 60 ms, rtt 10 ms, unacked 12) reaction_us=57250\n";
        assert_eq!(super::parse_health_reaction_us(log), Some(57250));
        assert_eq!(
            super::parse_health_reaction_us("Health: stalled reaction_us=x"),
            None
        );
        assert_eq!(super::parse_health_reaction_us("reaction_us=3"), None);
    }
}
