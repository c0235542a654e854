//! Path-health measurements beyond the cut itself (`health-bench`): false
//! stalls under benign loads, recovery after silent loss ends, and the
//! daemon's CPU cost. Each runs on a fresh [`Bed`] (testbed + daemon).

use crate::clock::{monotonic_us, sleep_until_us};
use crate::counters::link_bytes;
use crate::handover::{parse_health_reaction_us, Bed, Cut, RunConfig};
use crate::stream::{Direction, StreamRun, StreamSpec};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::time::Duration;

/// A benign load that must not make the daemon declare WiFi stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Load {
    /// 1 KiB every ms.
    Paced,
    /// 1 KiB every ms for 1 s, then 1 s of silence, repeated.
    OnOff,
    /// A connection that exchanges nothing.
    Idle,
    /// Paced, with this % random loss on WiFi (each direction).
    Loss(u32),
}

impl Load {
    /// Short label for tables.
    pub fn label(self) -> String {
        match self {
            Load::Paced => "paced stream".into(),
            Load::OnOff => "on/off 1 s/1 s".into(),
            Load::Idle => "idle connection".into(),
            Load::Loss(p) => format!("{p} % WiFi loss"),
        }
    }
}

/// Daemon log lines reporting a transition to `stalled`
/// (`… -> stalled …`, also `→ stalled`).
pub fn count_stalls(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("-> stalled") || l.contains("→ stalled"))
        .count()
}

/// Daemon log lines reporting a transition to `suspect`.
pub fn count_suspects(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("-> suspect") || l.contains("→ suspect"))
        .count()
}

/// What one false-stall run saw.
#[derive(Debug, Clone, Serialize)]
pub struct FalseStallResult {
    pub load: String,
    pub direction: Option<&'static str>,
    pub secs: u64,
    /// Transitions to `stalled` the daemon logged.
    pub stalls: usize,
    /// Transitions to `suspect` (informational).
    pub suspects: usize,
    /// Longest receive silence of the stream (ms; 0 for idle).
    pub longest_gap_ms: f64,
    pub bytes: u64,
}

fn stream_wait(run: StreamRun, spec: &StreamSpec) -> Result<crate::stream::StreamResult> {
    let res = run.wait(Duration::from_millis(spec.duration_ms + 30_000))?;
    res.check()?;
    Ok(res)
}

/// Run `load` for `secs` seconds (direction ignored for idle) and count the
/// daemon's transitions to `stalled`.
pub fn false_stalls(
    cfg: &RunConfig,
    load: Load,
    direction: Direction,
    secs: u64,
) -> Result<FalseStallResult> {
    let bed = Bed::new(cfg)?;
    if let Load::Loss(p) = load {
        bed.tb.random_loss("wlan0", p)?;
    }
    let mark = bed.log_mark();
    let mut spec = StreamSpec {
        direction,
        duration_ms: secs * 1000,
        ..StreamSpec::default()
    };
    match load {
        Load::OnOff => (spec.on_ms, spec.off_ms) = (1000, 1000),
        Load::Idle => spec.idle = true,
        Load::Paced | Load::Loss(_) => {}
    }
    let run = StreamRun::start(&bed.tb, &cfg.stream_bin, &spec)?;
    let res = stream_wait(run, &spec)?;
    let log = bed.log_since(mark);
    Ok(FalseStallResult {
        load: load.label(),
        direction: (load != Load::Idle).then_some(direction.name()),
        secs,
        stalls: count_stalls(&log),
        suspects: count_suspects(&log),
        longest_gap_ms: res.receiver.longest_gap() as f64 / 1000.0,
        bytes: res.receiver.bytes_received,
    })
}

/// Samples are taken this often while waiting for the recovery.
pub const RECOVERY_SAMPLE_MS: u64 = 50;
/// Recovered: WiFi carries at least this share of a sample's bytes…
pub const RECOVERY_SHARE: f64 = 0.9;
/// …and the sample holds at least this many bytes (the stream is ~51 KiB
/// per 50 ms; this keeps stray packets from counting).
pub const RECOVERY_MIN_BYTES: u64 = 10 * 1024;

/// What a recovery run saw (ms).
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryResult {
    pub direction: &'static str,
    /// From unblackhole to the end of the first 50 ms sample with ≥ 90 % of
    /// the payload direction's bytes on wlan0 (None: not within the window).
    pub recovery_ms: Option<f64>,
    /// The stream completed without error, every byte delivered, on the one
    /// connection it opened.
    pub same_connection: bool,
    /// Gap and cut→steady of the blackhole itself, and the daemon's reaction.
    pub gap_ms: f64,
    pub cut_to_steady_ms: Option<f64>,
    pub reaction_ms: Option<f64>,
    pub stalls: usize,
}

/// Stream, blackhole WiFi after `cfg.cut_after_ms`, heal it `hold_ms` later,
/// then sample the client's wlan0/wwan0 counters every 50 ms for up to
/// `window_ms` until WiFi carries the stream again.
pub fn recovery(cfg: &RunConfig, hold_ms: u64, window_ms: u64) -> Result<RecoveryResult> {
    let bed = Bed::new(cfg)?;
    let spec = StreamSpec {
        direction: cfg.direction,
        duration_ms: cfg.cut_after_ms + hold_ms + window_ms,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&bed.tb, &cfg.stream_bin, &spec)?;
    sleep_until_us(t0 + cfg.cut_after_ms * 1000);
    let mark = bed.log_mark();
    let cut = bed.cut(Cut::Blackhole)?;
    sleep_until_us(cut + hold_ms * 1000);
    let heal = bed.tb.unblackhole("wlan0")?;
    let bytes = |ns: &str| -> Result<(u64, u64)> {
        let m = link_bytes(ns)?;
        let get = |i: &str| -> Result<u64> {
            let b = m.get(i).with_context(|| format!("no counters for {i}"))?;
            Ok(match cfg.direction {
                Direction::Upload => b.tx,
                Direction::Download => b.rx,
            })
        };
        Ok((get("wlan0")?, get("wwan0")?))
    };
    // Stop sampling a little before the stream ends.
    let stop = t0 + spec.duration_ms * 1000 - 200_000;
    let mut prev = bytes(bed.tb.client_ns())?;
    let mut next = heal + RECOVERY_SAMPLE_MS * 1000;
    let mut recovery_us = None;
    while next < stop {
        sleep_until_us(next);
        let now_bytes = bytes(bed.tb.client_ns())?;
        let t = monotonic_us();
        let (wifi, lte) = (now_bytes.0 - prev.0, now_bytes.1 - prev.1);
        prev = now_bytes;
        if wifi + lte >= RECOVERY_MIN_BYTES && wifi as f64 >= RECOVERY_SHARE * (wifi + lte) as f64 {
            recovery_us = Some(t - heal);
            break;
        }
        next = t.max(next) + RECOVERY_SAMPLE_MS * 1000;
    }
    let res = run.wait(Duration::from_millis(spec.duration_ms + 30_000))?;
    let same_connection = res.check().is_ok();
    let log = bed.log_since(mark);
    let rx = &res.receiver;
    Ok(RecoveryResult {
        direction: cfg.direction.name(),
        recovery_ms: recovery_us.map(|us| us as f64 / 1000.0),
        same_connection,
        gap_ms: rx.gap_after(cut) as f64 / 1000.0,
        cut_to_steady_ms: rx.cut_to_steady(cut).map(|us| us as f64 / 1000.0),
        reaction_ms: parse_health_reaction_us(&log).map(|us| us as f64 / 1000.0),
        stalls: count_stalls(&log),
    })
}

/// The daemon's CPU time (utime + stime, all threads) in seconds, from
/// `/proc/PID/stat`.
pub fn proc_cpu_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let ticks = parse_stat_ticks(&stat).context("parsing /proc/PID/stat")?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        bail!("sysconf(_SC_CLK_TCK) failed");
    }
    Ok(ticks as f64 / hz as f64)
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses: skip past
    // its last ')'; what follows starts with field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The daemon's CPU use while a connection runs.
#[derive(Debug, Clone, Serialize)]
pub struct CostResult {
    /// "busy stream" or "idle connection".
    pub what: &'static str,
    pub direction: Option<&'static str>,
    pub secs: u64,
    /// CPU seconds used in the window.
    pub cpu_secs: f64,
    /// As % of one core (resolution: one clock tick, 10 ms, over the window).
    pub core_pct: f64,
}

/// CPU the daemon uses over `secs` s while a paced (busy) or an idle
/// connection is open; the window starts 500 ms after the connection.
pub fn cost(cfg: &RunConfig, idle: bool, secs: u64) -> Result<CostResult> {
    let bed = Bed::new(cfg)?;
    let pid = bed
        .daemon
        .as_ref()
        .and_then(|d| d.pid())
        .context("cost needs the daemon scenario")?;
    let spec = StreamSpec {
        direction: cfg.direction,
        duration_ms: secs * 1000 + 1000,
        idle,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&bed.tb, &cfg.stream_bin, &spec)?;
    std::thread::sleep(Duration::from_millis(500));
    let (c0, t0) = (proc_cpu_secs(pid)?, monotonic_us());
    sleep_until_us(t0 + secs * 1_000_000);
    let (c1, t1) = (proc_cpu_secs(pid)?, monotonic_us());
    stream_wait(run, &spec)?;
    let cpu = c1 - c0;
    Ok(CostResult {
        what: if idle {
            "idle connection"
        } else {
            "busy stream"
        },
        direction: (!idle).then_some(cfg.direction.name()),
        secs,
        cpu_secs: cpu,
        core_pct: 100.0 * cpu / ((t1 - t0) as f64 / 1e6),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalls_counted() {
        let log = "INFO wlan0: health good -> suspect (last ack 30 ms)\n\
                   INFO wlan0: health suspect -> stalled (evidence) reaction_us=60000\n\
                   INFO wlan0: health stalled -> recovered\n\
                   INFO wwan0: health good → stalled\n";
        assert_eq!(count_stalls(log), 2);
        assert_eq!(count_suspects(log), 1);
        assert_eq!(count_stalls("INFO nothing stalled here"), 0);
    }

    #[test]
    fn stat_ticks() {
        let stat = "1234 (mptcp (policy) d) S 1 1234 1234 0 -1 4194560 500 0 0 0 \
                    17 5 0 0 20 0 3 0 100 1000 200 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(22));
        assert_eq!(parse_stat_ticks("garbage"), None);
        let own = proc_cpu_secs(std::process::id()).expect("own stat");
        assert!(own >= 0.0);
    }
}
