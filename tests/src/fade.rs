//! Fades: WiFi going out of range step by step, as a phone carried away
//! from the access point (issue 16). Loss rises every [`RAMP_STEP_MS`]
//! through [`LOSS_RAMP`] on both directions, then the path goes silent.

use anyhow::Result;

use crate::clock::{monotonic_us, sleep_until_us};
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
