//! Fades: WiFi going out of range step by step, as a phone carried away
//! from the access point (issue 16). Loss rises every [`RAMP_STEP_MS`]
//! through [`LOSS_RAMP`] on both directions, then the path goes silent; or
//! WiFi's delay climbs ([`DELAY_RAMP`]). The measurements of `fade-bench`.

use std::time::Duration;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::clock::{monotonic_us, sleep_until_us};
use crate::handover::{Bed, RunConfig};
use crate::stream::{StreamRun, StreamSpec};
use crate::testbed::TestbedOpts;
use crate::Testbed;

/// The loss steps, %.
pub const LOSS_RAMP: [u32; 8] = [5, 10, 20, 30, 45, 60, 80, 95];
/// How long each step lasts.
pub const RAMP_STEP_MS: u64 = 400;

/// When a ramp's steps were in force (CLOCK_MONOTONIC µs).
#[derive(Debug, Clone)]
pub struct RampTimes {
    /// Start of each step, with its loss %.
    pub steps: Vec<(u64, u32)>,
    /// When the path went silent (blackhole) after the last step.
    pub silent: u64,
}

impl RampTimes {
    /// When the loss first reached `percent`.
    pub fn reached(&self, percent: u32) -> Option<u64> {
        self.steps
            .iter()
            .find(|(_, p)| *p >= percent)
            .map(|(t, _)| *t)
    }

    /// Start of the ramp.
    pub fn start(&self) -> u64 {
        self.steps.first().map_or(self.silent, |s| s.0)
    }
}

/// Runs the loss ramp on radio `ifname` from `start_us` (waits for it),
/// then blackholes it.
pub fn loss_ramp(tb: &Testbed, ifname: &str, start_us: u64) -> Result<RampTimes> {
    let mut steps = Vec::with_capacity(LOSS_RAMP.len());
    for (i, &p) in LOSS_RAMP.iter().enumerate() {
        sleep_until_us(start_us + i as u64 * RAMP_STEP_MS * 1000);
        tb.random_loss(ifname, p)?;
        steps.push((monotonic_us(), p));
    }
    sleep_until_us(start_us + LOSS_RAMP.len() as u64 * RAMP_STEP_MS * 1000);
    let silent = tb.blackhole(ifname)?;
    Ok(RampTimes { steps, silent })
}

/// Ends a fade: no loss, no blackhole. CLOCK_MONOTONIC µs when healed.
pub fn heal(tb: &Testbed, ifname: &str) -> Result<u64> {
    tb.random_loss(ifname, 0)?;
    tb.unblackhole(ifname)
}

/// Stream rate of the benchmark loads: 1 KiB per ms.
const STREAM_BYTES_PER_MS: u64 = 1024;
/// A 100-ms window delivering less than half the stream's rate is slow.
const SLOW_WINDOW_US: u64 = 100_000;
/// Lead time before a fade starts, and time kept after the silence.
const LEAD_MS: u64 = 2_000;
const AFTER_SILENCE_MS: u64 = 2_500;
/// Request/response load: 1 KiB each way every 20 ms.
pub const RR_INTERVAL_MS: u64 = 20;
/// The delay ramp: WiFi RTT to this (ms) over this long (ms).
pub const DELAY_RAMP: (u64, u64) = (400, 3_000);

/// One loss-ramp run with a paced stream (ms).
#[derive(Debug, Clone, Serialize)]
pub struct RampRun {
    /// Longest receive gap from the ramp's start to the end.
    pub longest_gap_ms: f64,
    /// Slow 100-ms windows between the ramp's start and the silence.
    pub slow_ms: f64,
    /// From the silence until the stream is steady again (0 when it never
    /// stopped being steady).
    pub silence_to_steady_ms: Option<f64>,
}

/// Response times of one request/response run (ms).
#[derive(Debug, Clone, Serialize)]
pub struct RrRun {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: usize,
}

/// The loss ramp under a paced stream in `direction`.
pub fn loss_ramp_stream(cfg: &RunConfig) -> Result<RampRun> {
    let bed = Bed::new(cfg)?;
    let ramp_ms = LOSS_RAMP.len() as u64 * RAMP_STEP_MS;
    let spec = StreamSpec {
        direction: cfg.direction,
        duration_ms: LEAD_MS + ramp_ms + AFTER_SILENCE_MS,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&bed.tb, &cfg.stream_bin, &spec)?;
    let ramp = loss_ramp(&bed.tb, "wlan0", t0 + LEAD_MS * 1000)?;
    let res = run.wait(Duration::from_millis(spec.duration_ms + 30_000))?;
    res.check()?;
    let rx = &res.receiver;
    let min_bytes = STREAM_BYTES_PER_MS * SLOW_WINDOW_US / 1000 / 2;
    Ok(RampRun {
        longest_gap_ms: rx.gap_after(ramp.start()) as f64 / 1000.0,
        slow_ms: rx.slow_ms(ramp.start(), ramp.silent, SLOW_WINDOW_US, min_bytes) as f64,
        silence_to_steady_ms: rx.cut_to_steady(ramp.silent).map(|us| us as f64 / 1000.0),
    })
}

/// Request/response load through a fade: the loss ramp (`delay == false`)
/// or the delay ramp; response times of the requests sent from the fade's
/// start until 2 s after it ended.
pub fn fade_rr(cfg: &RunConfig, delay: bool) -> Result<RrRun> {
    let opts = TestbedOpts {
        wifi_delay_ramp: delay.then_some(DELAY_RAMP),
        ..TestbedOpts::default()
    };
    let bed = Bed::with_opts(cfg, opts)?;
    let fade_ms = if delay {
        DELAY_RAMP.1
    } else {
        LOSS_RAMP.len() as u64 * RAMP_STEP_MS
    };
    let spec = StreamSpec {
        duration_ms: LEAD_MS + fade_ms + AFTER_SILENCE_MS,
        rr_interval_ms: RR_INTERVAL_MS,
        ..StreamSpec::default()
    };
    let t0 = monotonic_us();
    let run = StreamRun::start(&bed.tb, &cfg.stream_bin, &spec)?;
    let (from, to) = if delay {
        sleep_until_us(t0 + LEAD_MS * 1000);
        let start = bed.tb.start_delay_ramp()?;
        (start, start + (fade_ms + 2_000) * 1000)
    } else {
        let ramp = loss_ramp(&bed.tb, "wlan0", t0 + LEAD_MS * 1000)?;
        (ramp.start(), ramp.silent + 2_000_000)
    };
    let res = run.wait(Duration::from_millis(spec.duration_ms + 30_000))?;
    res.check()?;
    // In request/response mode the sender side is the client: it holds the
    // response times.
    let mut times = res.sender.response_times_us(from, to);
    if times.is_empty() {
        bail!("no request was sent during the fade");
    }
    times.sort_unstable();
    let pct = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    Ok(RrRun {
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        requests: times.len(),
    })
}

/// A load that must not make the daemon promote the backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Calm {
    /// Paced stream with 2 % random WiFi loss (each direction).
    Loss2,
    /// A connection that exchanges nothing.
    Idle,
    /// 1 s on, 1 s off.
    OnOff,
}

impl Calm {
    /// Label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Calm::Loss2 => "2 % WiFi loss",
            Calm::Idle => "idle connection",
            Calm::OnOff => "on/off 1 s/1 s",
        }
    }
}

/// False promotions: the daemon's transitions to `degraded` under `load`
/// for `secs`, per minute.
pub fn false_promotions(cfg: &RunConfig, load: Calm, secs: u64) -> Result<f64> {
    let bed = Bed::new(cfg)?;
    if load == Calm::Loss2 {
        bed.tb.random_loss("wlan0", 2)?;
    }
    let mark = bed.log_mark();
    let mut spec = StreamSpec {
        direction: cfg.direction,
        duration_ms: secs * 1000,
        ..StreamSpec::default()
    };
    match load {
        Calm::Idle => spec.idle = true,
        Calm::OnOff => (spec.on_ms, spec.off_ms) = (1000, 1000),
        Calm::Loss2 => {}
    }
    let run = StreamRun::start(&bed.tb, &cfg.stream_bin, &spec)?;
    let res = run.wait(Duration::from_millis(spec.duration_ms + 30_000))?;
    res.check()?;
    let log = bed.log_since(mark);
    let degradations = log.lines().filter(|l| l.contains("-> degraded")).count();
    Ok(degradations as f64 * 60.0 / secs as f64)
}
