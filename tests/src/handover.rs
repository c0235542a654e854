//! One handover measurement: fresh testbed, stream, cut WiFi, measure.

use crate::clock::{monotonic_us, sleep_until_us};
use crate::process::{wait_for, BgProcess};
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
}

impl Scenario {
    /// "static" / "daemon".
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Static => "static",
            Scenario::Daemon => "daemon",
        }
    }
}

/// Parameters of one run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub scenario: Scenario,
    pub direction: Direction,
    pub cut_after_ms: u64,
    pub after_cut_ms: u64,
    pub stream_bin: PathBuf,
    pub delayer_bin: PathBuf,
    pub daemon_bin: Option<PathBuf>,
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

/// Run one measurement on a fresh testbed (removed before returning).
pub fn run_once(cfg: &RunConfig) -> Result<RunResult> {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        delayer: Some(cfg.delayer_bin.clone()),
        ..TestbedOpts::default()
    })?;
    let daemon = match cfg.scenario {
        Scenario::Static => {
            tb.set_static_endpoints()?;
            None
        }
        Scenario::Daemon => Some(start_daemon(&tb, cfg)?),
    };
    let spec = StreamSpec {
        direction: cfg.direction,
        duration_ms: cfg.cut_after_ms + cfg.after_cut_ms,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&tb, &cfg.stream_bin, &spec)?;
    sleep_until_us(t0 + cfg.cut_after_ms * 1000);
    // The daemon logs (stdout or stderr) up to the cut: reactions before it are not ours.
    let log_len = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len() as usize);
    let offsets = daemon
        .as_ref()
        .map(|d| (log_len(d.stdout_path()), log_len(d.stderr_path())));
    let cut = tb.link_down("wlan0")?;
    let res = run.wait(Duration::from_millis(spec.duration_ms + 30_000))?;
    res.check()?;
    let rx = &res.receiver;
    if !rx.reads.iter().any(|r| r.0 < cut) {
        bail!("nothing was received before the cut");
    }
    let reaction_ms = match (&daemon, offsets) {
        (Some(d), Some((o, e))) => {
            let err = d.stderr();
            let out = d.stdout();
            let us = parse_reaction_us(err.get(e..).unwrap_or(""))
                .or_else(|| parse_reaction_us(out.get(o..).unwrap_or("")))
                .context("daemon logged no reaction_us=<N> after the cut")?;
            Some(us as f64 / 1000.0)
        }
        _ => None,
    };
    Ok(RunResult {
        gap_ms: rx.gap_after(cut) as f64 / 1000.0,
        longest_gap_ms: rx.longest_gap() as f64 / 1000.0,
        cut_to_steady_ms: rx.cut_to_steady(cut).map(|us| us as f64 / 1000.0),
        reaction_ms,
        bytes: rx.bytes_received,
    })
}

fn start_daemon(tb: &Testbed, cfg: &RunConfig) -> Result<BgProcess> {
    let bin = cfg.daemon_bin.as_ref().context("no daemon binary given")?;
    if !bin.is_file() {
        bail!("daemon binary not found at {}", bin.display());
    }
    let conf = tb.tmp_dir().join("policy.toml");
    std::fs::write(&conf, DAEMON_POLICY).context("writing daemon policy")?;
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
}
