//! Budget logic, pure: time and counted usage are inputs.
//!
//! - [`budget_crossings`]: which `warn_at` thresholds and whether exhaustion
//!   were crossed between two usage readings, each exactly once.
//! - [`period_bounds`]: the current budget period in local time (DST-safe:
//!   civil date arithmetic, never 24-hour durations).
//! - [`budget_verdict`]: within budget, today's allowance spent, or
//!   exhausted, and what role that demotes the interface to.

use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Span, ZonedDateTime};

use crate::model::{Budget, Period, Role, WhenExhausted};
use crate::size::human_bytes;

/// A threshold crossed upward by counted usage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetCrossing {
    /// Usage passed this `warn_at` fraction of the budget.
    Warning(f64),
    /// Usage reached the budget.
    Exhausted,
}

/// The thresholds of `budget` that `before -> after` crosses upward, in
/// ascending order. A reset (after < before) crosses nothing.
pub fn budget_crossings(budget: &Budget, before: u64, after: u64) -> Vec<BudgetCrossing> {
    if after <= before || budget.bytes == 0 {
        return Vec::new();
    }
    let mut out: Vec<BudgetCrossing> = budget
        .warn_at
        .iter()
        .filter(|&&f| f < 1.0)
        .filter(|&&f| {
            let line = (budget.bytes as f64 * f).ceil() as u64;
            before < line && after >= line
        })
        .map(|&f| BudgetCrossing::Warning(f))
        .collect();
    if before < budget.bytes && after >= budget.bytes {
        out.push(BudgetCrossing::Exhausted);
    }
    out
}

/// One budget period: `[start, end)`, both at the start of a local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodBounds {
    /// First instant of the period: local 00:00 of its first day (or the
    /// first valid instant of that day when 00:00 is skipped by DST).
    pub start: ZonedDateTime,
    /// First instant of the next period.
    pub end: ZonedDateTime,
}

/// The budget period containing `now`, in `now`'s time zone.
///
/// - daily: today;
/// - weekly: from the most recent `reset_day` weekday (1 = Monday ..
///   7 = Sunday), 7 days;
/// - monthly: from the most recent `reset_day` of a month, clamped to the
///   month's last day (31 → Feb 28/29, Apr 30), to that day of the next
///   month (clamped again).
///
/// Each bound is the first instant of its local day, so a period that
/// contains a DST change is an hour shorter or longer than a whole number
/// of days. Out-of-range `reset_day`s (parsing rejects them) are clamped.
///
/// # Panics
/// Only for dates at the very edge of jiff's range (year ±9999).
pub fn period_bounds(budget: &Budget, now: &ZonedDateTime) -> PeriodBounds {
    let tz = now.time_zone();
    let today = now.date();
    let (start, end) = period_dates(budget, today);
    PeriodBounds {
        start: day_start(start, tz),
        end: day_start(end, tz),
    }
}

/// First and one-past-last civil day of the period containing `today`.
fn period_dates(budget: &Budget, today: Date) -> (Date, Date) {
    match budget.period {
        Period::Daily => (today, next_day(today)),
        Period::Weekly => {
            let reset = budget.reset_day.clamp(1, 7) as i8;
            let back = (today.weekday().to_monday_one_offset() - reset).rem_euclid(7);
            let start = add_days(today, -i64::from(back));
            (start, add_days(start, 7))
        }
        Period::Monthly => {
            let reset = budget.reset_day.clamp(1, 31) as i8;
            let this_month = clamped_day(today, reset);
            let start = if today >= this_month {
                this_month
            } else {
                clamped_day(prev_day(today.first_of_month()), reset)
            };
            (start, clamped_day(next_day(start.last_of_month()), reset))
        }
    }
}

/// Day `day` of `in_month`'s month, or the month's last day if shorter.
fn clamped_day(in_month: Date, day: i8) -> Date {
    let day = day.min(in_month.days_in_month());
    Date::new(in_month.year(), in_month.month(), day).expect("day clamped to the month")
}

fn next_day(d: Date) -> Date {
    d.tomorrow().expect("date within jiff's range")
}

fn prev_day(d: Date) -> Date {
    d.yesterday().expect("date within jiff's range")
}

fn add_days(d: Date, days: i64) -> Date {
    d.checked_add(Span::new().days(days))
        .expect("date within jiff's range")
}

/// The first instant of local day `date`: 00:00, or when DST skips 00:00,
/// the transition that ends the gap (e.g. 01:00 in America/Havana on
/// 2026-03-08; 00:30 after a 23:30 → 00:30 jump).
pub fn day_start(date: Date, tz: &TimeZone) -> ZonedDateTime {
    let midnight = date.to_datetime(Time::midnight());
    let ambiguous = tz.to_ambiguous_zoned_datetime(midnight);
    if let AmbiguousOffset::Gap { after, .. } = ambiguous.offset() {
        // With the later offset, 00:00 lands before the transition; the
        // transition is the first instant that is on `date` locally.
        let before_gap = after
            .to_timestamp(midnight)
            .expect("date within jiff's range");
        if let Some(t) = tz.following(before_gap).next() {
            return t.timestamp().to_zoned_datetime(tz.clone());
        }
    }
    // Unambiguous, or a fold: the earlier 00:00 starts the day.
    ambiguous.earlier().expect("date within jiff's range")
}

/// Counted usage of one metered interface, from the daemon's accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BudgetInput {
    /// Bytes counted since the start of the current period.
    pub used_in_period: u64,
    /// Bytes counted since the start of today (local midnight); part of
    /// `used_in_period`.
    pub used_today: u64,
}

/// Where an interface stands against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetState {
    /// Neither exhausted nor today's allowance spent.
    WithinBudget,
    /// Today's share of what is left is used up (only with
    /// `daily_allowance`); demoted until the next local midnight.
    AllowanceSpent,
    /// The period's bytes are used up; demoted until the period ends (or
    /// the usage is reset).
    Exhausted,
}

/// The budget decision for one interface at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetVerdict {
    /// Exhausted takes precedence over an allowance spent.
    pub state: BudgetState,
    /// The current period (`end` is the next reset).
    pub period: PeriodBounds,
    /// `bytes - used_in_period`, saturating at 0.
    pub remaining: u64,
    /// `None` without `daily_allowance`; else what was left of the budget
    /// at the start of today, divided by the days left in the period
    /// including today (rounded up), so the last day gets all that is left.
    pub allowance_today: Option<u64>,
    /// `allowance_today - used_today`, saturating at 0.
    pub allowance_left_today: Option<u64>,
    /// Start of tomorrow: when an `AllowanceSpent` demotion ends.
    pub next_midnight: ZonedDateTime,
    /// `when_exhausted` as a role, when `Exhausted` or `AllowanceSpent`.
    pub demote_to: Option<Role>,
}

impl From<WhenExhausted> for Role {
    fn from(w: WhenExhausted) -> Role {
        match w {
            WhenExhausted::Backup => Role::Backup,
            WhenExhausted::Off => Role::Off,
        }
    }
}

/// Judges `input` against `budget` at `now` (see [`BudgetVerdict`]).
///
/// # Panics
/// Only for dates at the very edge of jiff's range (year ±9999).
pub fn budget_verdict(budget: &Budget, input: &BudgetInput, now: &ZonedDateTime) -> BudgetVerdict {
    let tz = now.time_zone();
    let today = now.date();
    let (start, end) = period_dates(budget, today);
    let period = PeriodBounds {
        start: day_start(start, tz),
        end: day_start(end, tz),
    };
    let next_midnight = day_start(next_day(today), tz);
    let remaining = budget.bytes.saturating_sub(input.used_in_period);
    let allowance_today = budget.daily_allowance.then(|| {
        let used_before_today = input.used_in_period.saturating_sub(input.used_today);
        let left_at_midnight = budget.bytes.saturating_sub(used_before_today);
        let days_left = today
            .until(end)
            .map_or(1, |s| i64::from(s.get_days()))
            .max(1) as u64;
        left_at_midnight.div_ceil(days_left)
    });
    let allowance_left_today = allowance_today.map(|a| a.saturating_sub(input.used_today));
    let state = if input.used_in_period >= budget.bytes {
        BudgetState::Exhausted
    } else if allowance_today.is_some_and(|a| input.used_today >= a) {
        BudgetState::AllowanceSpent
    } else {
        BudgetState::WithinBudget
    };
    let demote_to = (state != BudgetState::WithinBudget).then(|| Role::from(budget.when_exhausted));
    BudgetVerdict {
        state,
        period,
        remaining,
        allowance_today,
        allowance_left_today,
        next_midnight,
        demote_to,
    }
}

impl BudgetVerdict {
    /// For humans, e.g. `budget exhausted (2.0 GiB of 2.0 GiB this month)`
    /// or `today's allowance spent (70.0 MiB of 68.0 MiB)`; `None` when
    /// within budget.
    pub fn describe(&self, budget: &Budget, input: &BudgetInput) -> Option<String> {
        match self.state {
            BudgetState::WithinBudget => None,
            BudgetState::Exhausted => Some(format!(
                "budget exhausted ({} of {} {})",
                human_bytes(input.used_in_period),
                human_bytes(budget.bytes),
                match budget.period {
                    Period::Daily => "today",
                    Period::Weekly => "this week",
                    Period::Monthly => "this month",
                }
            )),
            BudgetState::AllowanceSpent => Some(format!(
                "today's allowance spent ({} of {})",
                human_bytes(input.used_today),
                human_bytes(self.allowance_today.unwrap_or(0)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Period, WhenExhausted};

    fn budget(bytes: u64, warn_at: &[f64]) -> Budget {
        Budget {
            bytes,
            period: Period::Monthly,
            reset_day: 1,
            warn_at: warn_at.to_vec(),
            when_exhausted: WhenExhausted::Off,
            daily_allowance: false,
        }
    }

    #[test]
    fn crossings_table() {
        use BudgetCrossing::*;
        let b = budget(1000, &[0.5, 0.8]);
        let cases: &[(u64, u64, &[BudgetCrossing])] = &[
            (0, 100, &[]),
            (0, 500, &[Warning(0.5)]),
            (499, 500, &[Warning(0.5)]),
            (500, 700, &[]),
            (700, 800, &[Warning(0.8)]),
            (0, 1000, &[Warning(0.5), Warning(0.8), Exhausted]),
            (999, 5000, &[Exhausted]),
            (1000, 2000, &[]),
            (900, 100, &[]), // a reset crosses nothing
        ];
        for (before, after, want) in cases {
            assert_eq!(
                budget_crossings(&b, *before, *after),
                want.to_vec(),
                "{before} -> {after}"
            );
        }
        assert!(budget_crossings(&budget(0, &[0.5]), 0, 10).is_empty());
        // warn_at = 1.0 is the exhaustion itself, reported once.
        assert_eq!(
            budget_crossings(&budget(10, &[1.0]), 0, 10),
            vec![Exhausted]
        );
    }
}
