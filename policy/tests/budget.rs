//! Budget periods, daily allowance and budget demotion in `evaluate`, with
//! time as an input: fixed instants, real zones (Europe/Berlin,
//! America/Havana, ...) and POSIX rules for DST gaps at midnight.

mod common;

use common::{iface, observed, policy};
use mptcp_policy::jiff::civil::DateTime;
use mptcp_policy::jiff::tz::TimeZone;
use mptcp_policy::jiff::{Timestamp, ZonedDateTime};
use mptcp_policy::{
    budget_verdict, evaluate, period_bounds, Budget, BudgetInput, BudgetState, InterfaceType as T,
    Period, Role, WhenExhausted,
};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn zone(name: &str) -> TimeZone {
    if name.contains(',') {
        TimeZone::posix(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    } else {
        TimeZone::get(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// A local time in `tz`: `2026-05-15T12:00:00`, or with an offset
/// (`2026-10-25T02:30:00+01:00`) to pick one side of a fold.
fn at(tz: &str, local: &str) -> ZonedDateTime {
    let tz = zone(tz);
    if local.len() > 19 {
        let ts: Timestamp = local.parse().expect("timestamp");
        let z = ts.to_zoned_datetime(tz);
        assert_eq!(show(&z), local, "not a local time of that zone");
        z
    } else {
        let dt: DateTime = local.parse().expect("civil datetime");
        dt.to_zoned_datetime(tz).expect("zoned")
    }
}

/// `2026-03-29T00:00:00+01:00`.
fn show(z: &ZonedDateTime) -> String {
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn hours(start: &ZonedDateTime, end: &ZonedDateTime) -> f64 {
    (end.timestamp().as_second() - start.timestamp().as_second()) as f64 / 3600.0
}

fn budget(period: Period, reset_day: u8) -> Budget {
    Budget {
        bytes: 3 * GIB,
        period,
        reset_day,
        warn_at: vec![0.8],
        when_exhausted: WhenExhausted::Backup,
        daily_allowance: false,
    }
}

const BERLIN: &str = "Europe/Berlin";

#[test]
fn period_bounds_table() {
    use Period::*;
    // (zone, period, reset_day, now, start, end)
    #[rustfmt::skip]
    let cases: &[(&str, Period, u8, &str, &str, &str)] = &[
        // daily
        (BERLIN, Daily, 1, "2026-05-15T12:00:00", "2026-05-15T00:00:00+02:00", "2026-05-16T00:00:00+02:00"),
        (BERLIN, Daily, 1, "2026-05-15T00:00:00", "2026-05-15T00:00:00+02:00", "2026-05-16T00:00:00+02:00"),
        (BERLIN, Daily, 1, "2026-05-14T23:59:59", "2026-05-14T00:00:00+02:00", "2026-05-15T00:00:00+02:00"),
        (BERLIN, Daily, 1, "2026-12-31T23:00:00", "2026-12-31T00:00:00+01:00", "2027-01-01T00:00:00+01:00"),
        // weekly: 2026-05-15 is a Friday
        (BERLIN, Weekly, 1, "2026-05-15T12:00:00", "2026-05-11T00:00:00+02:00", "2026-05-18T00:00:00+02:00"),
        (BERLIN, Weekly, 1, "2026-05-11T00:00:00", "2026-05-11T00:00:00+02:00", "2026-05-18T00:00:00+02:00"),
        (BERLIN, Weekly, 1, "2026-05-10T23:59:59", "2026-05-04T00:00:00+02:00", "2026-05-11T00:00:00+02:00"),
        (BERLIN, Weekly, 5, "2026-05-15T12:00:00", "2026-05-15T00:00:00+02:00", "2026-05-22T00:00:00+02:00"),
        (BERLIN, Weekly, 6, "2026-05-15T12:00:00", "2026-05-09T00:00:00+02:00", "2026-05-16T00:00:00+02:00"),
        (BERLIN, Weekly, 7, "2026-05-15T12:00:00", "2026-05-10T00:00:00+02:00", "2026-05-17T00:00:00+02:00"),
        // weekly across the year boundary (2026-01-01 and 2026-12-31 are Thursdays)
        (BERLIN, Weekly, 1, "2026-01-01T09:00:00", "2025-12-29T00:00:00+01:00", "2026-01-05T00:00:00+01:00"),
        (BERLIN, Weekly, 4, "2027-01-02T09:00:00", "2026-12-31T00:00:00+01:00", "2027-01-07T00:00:00+01:00"),
        (BERLIN, Weekly, 4, "2026-12-30T23:59:59", "2026-12-24T00:00:00+01:00", "2026-12-31T00:00:00+01:00"),
        // weekly across a DST change: 7 civil days, 167 h
        (BERLIN, Weekly, 1, "2026-03-29T12:00:00", "2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
        // monthly
        (BERLIN, Monthly, 1, "2026-05-15T12:00:00", "2026-05-01T00:00:00+02:00", "2026-06-01T00:00:00+02:00"),
        (BERLIN, Monthly, 1, "2026-12-31T23:59:59", "2026-12-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00"),
        (BERLIN, Monthly, 1, "2027-01-01T00:00:00", "2027-01-01T00:00:00+01:00", "2027-02-01T00:00:00+01:00"),
        (BERLIN, Monthly, 15, "2026-05-14T23:59:59", "2026-04-15T00:00:00+02:00", "2026-05-15T00:00:00+02:00"),
        (BERLIN, Monthly, 15, "2026-05-15T00:00:00", "2026-05-15T00:00:00+02:00", "2026-06-15T00:00:00+02:00"),
        (BERLIN, Monthly, 15, "2026-01-10T00:00:00", "2025-12-15T00:00:00+01:00", "2026-01-15T00:00:00+01:00"),
        // reset_day 31 clamps to the month's last day: February (non-leap) ...
        (BERLIN, Monthly, 31, "2026-02-10T12:00:00", "2026-01-31T00:00:00+01:00", "2026-02-28T00:00:00+01:00"),
        (BERLIN, Monthly, 31, "2026-02-27T23:59:59", "2026-01-31T00:00:00+01:00", "2026-02-28T00:00:00+01:00"),
        (BERLIN, Monthly, 31, "2026-02-28T00:00:00", "2026-02-28T00:00:00+01:00", "2026-03-31T00:00:00+02:00"),
        (BERLIN, Monthly, 31, "2026-03-30T12:00:00", "2026-02-28T00:00:00+01:00", "2026-03-31T00:00:00+02:00"),
        (BERLIN, Monthly, 31, "2026-03-31T00:00:00", "2026-03-31T00:00:00+02:00", "2026-04-30T00:00:00+02:00"),
        // ... February (leap) ...
        (BERLIN, Monthly, 31, "2028-02-28T23:59:59", "2028-01-31T00:00:00+01:00", "2028-02-29T00:00:00+01:00"),
        (BERLIN, Monthly, 31, "2028-02-29T00:00:00", "2028-02-29T00:00:00+01:00", "2028-03-31T00:00:00+02:00"),
        // ... April ...
        (BERLIN, Monthly, 31, "2026-04-29T23:59:59", "2026-03-31T00:00:00+02:00", "2026-04-30T00:00:00+02:00"),
        (BERLIN, Monthly, 31, "2026-04-30T00:00:00", "2026-04-30T00:00:00+02:00", "2026-05-31T00:00:00+02:00"),
        // ... and December into January
        (BERLIN, Monthly, 31, "2026-12-30T23:59:59", "2026-11-30T00:00:00+01:00", "2026-12-31T00:00:00+01:00"),
        (BERLIN, Monthly, 31, "2026-12-31T00:00:00", "2026-12-31T00:00:00+01:00", "2027-01-31T00:00:00+01:00"),
        (BERLIN, Monthly, 29, "2026-02-27T12:00:00", "2026-01-29T00:00:00+01:00", "2026-02-28T00:00:00+01:00"),
        (BERLIN, Monthly, 29, "2026-02-28T12:00:00", "2026-02-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00"),
        (BERLIN, Monthly, 30, "2026-03-01T12:00:00", "2026-02-28T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
        // Havana skips 00:00 on 2026-03-08 (00:00 CST -> 01:00 CDT): the
        // period starts at the day's first instant, 01:00
        ("America/Havana", Weekly, 7, "2026-03-10T12:00:00", "2026-03-08T01:00:00-04:00", "2026-03-15T00:00:00-04:00"),
        ("America/Havana", Monthly, 8, "2026-03-20T12:00:00", "2026-03-08T01:00:00-04:00", "2026-04-08T00:00:00-04:00"),
        ("America/Havana", Monthly, 8, "2026-03-08T01:00:00", "2026-03-08T01:00:00-04:00", "2026-04-08T00:00:00-04:00"),
        ("America/Havana", Monthly, 8, "2026-03-07T23:59:59", "2026-02-08T00:00:00-05:00", "2026-03-08T01:00:00-04:00"),
    ];
    for (tz, period, reset_day, now, start, end) in cases {
        let b = budget(*period, *reset_day);
        let got = period_bounds(&b, &at(tz, now));
        assert_eq!(
            (show(&got.start), show(&got.end)),
            (start.to_string(), end.to_string()),
            "{tz} {period} reset_day {reset_day} at {now}"
        );
        assert_eq!(got.start.time_zone(), &zone(tz), "start keeps the zone");
    }
}

#[test]
fn daily_periods_on_dst_days_are_23_and_25_hours() {
    // (zone, now, start, end, hours)
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, &str, f64)] = &[
        // Berlin spring forward: 02:00 -> 03:00 on 2026-03-29
        (BERLIN, "2026-03-29T12:00:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23.0),
        (BERLIN, "2026-03-29T01:59:59", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23.0),
        (BERLIN, "2026-03-29T03:00:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23.0),
        // Berlin fall back: 03:00 -> 02:00 on 2026-10-25; both 02:30s are that day
        (BERLIN, "2026-10-25T12:00:00", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25.0),
        (BERLIN, "2026-10-25T02:30:00+02:00", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25.0),
        (BERLIN, "2026-10-25T02:30:00+01:00", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25.0),
        // ordinary days around them are 24 h
        (BERLIN, "2026-03-28T12:00:00", "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", 24.0),
        (BERLIN, "2026-03-30T12:00:00", "2026-03-30T00:00:00+02:00", "2026-03-31T00:00:00+02:00", 24.0),
        (BERLIN, "2026-10-26T12:00:00", "2026-10-26T00:00:00+01:00", "2026-10-27T00:00:00+01:00", 24.0),
        // Havana: 00:00 does not exist on 2026-03-08, the day starts at 01:00
        ("America/Havana", "2026-03-08T12:00:00", "2026-03-08T01:00:00-04:00", "2026-03-09T00:00:00-04:00", 23.0),
        ("America/Havana", "2026-03-07T12:00:00", "2026-03-07T00:00:00-05:00", "2026-03-08T01:00:00-04:00", 24.0),
        // Havana falls back 01:00 CDT -> 00:00 CST on 2026-11-01: the first 00:00 starts the day
        ("America/Havana", "2026-11-01T00:30:00-05:00", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 25.0),
        ("America/Havana", "2026-11-01T00:30:00-04:00", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 25.0),
        // Santiago skips 00:00 on 2026-09-06
        ("America/Santiago", "2026-09-06T08:00:00", "2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00", 23.0),
        // Sao Paulo's old rule, from the tz database (2015) and as a POSIX rule (2026)
        ("America/Sao_Paulo", "2015-10-18T12:00:00", "2015-10-18T01:00:00-02:00", "2015-10-19T00:00:00-02:00", 23.0),
        ("<-03>3<-02>,M10.3.0/0,M2.3.0/0", "2026-10-18T12:00:00", "2026-10-18T01:00:00-02:00", "2026-10-19T00:00:00-02:00", 23.0),
        // a gap across midnight (23:30 -> 00:30): the day starts at 00:30,
        // not at 01:00 (what "compatible" disambiguation of 00:00 would give)
        ("XST3XDT,M3.2.0/23:30,M11.1.0/1", "2026-03-09T12:00:00", "2026-03-09T00:30:00-02:00", "2026-03-10T00:00:00-02:00", 23.5),
        ("XST3XDT,M3.2.0/23:30,M11.1.0/1", "2026-03-08T12:00:00", "2026-03-08T00:00:00-03:00", "2026-03-09T00:30:00-02:00", 23.5),
    ];
    let daily = budget(Period::Daily, 1);
    for (tz, now, start, end, h) in cases {
        let got = period_bounds(&daily, &at(tz, now));
        assert_eq!(
            (
                show(&got.start),
                show(&got.end),
                hours(&got.start, &got.end)
            ),
            (start.to_string(), end.to_string(), *h),
            "{tz} at {now}"
        );
    }
}

fn allowance_budget(bytes: u64, period: Period, reset_day: u8) -> Budget {
    Budget {
        bytes,
        daily_allowance: true,
        ..budget(period, reset_day)
    }
}

#[test]
fn daily_allowance_table() {
    use BudgetState::*;
    let june = allowance_budget(3 * GIB, Period::Monthly, 1);
    let left_after_200m = 3 * GIB - 200 * MIB;
    // (budget, now in Berlin, used_in_period, used_today,
    //  state, remaining, allowance_today, allowance_left_today)
    #[allow(clippy::type_complexity)]
    #[rustfmt::skip]
    let cases: &[(&Budget, &str, u64, u64, BudgetState, u64, Option<u64>, Option<u64>)] = &[
        // first day of a 30-day month: 3 GiB / 30 = 102.4 MiB (rounded up)
        (&june, "2026-06-01T08:00:00", 0, 0, WithinBudget, 3 * GIB, Some(107_374_183), Some(107_374_183)),
        (&june, "2026-06-01T20:00:00", 100 * MIB, 100 * MIB, WithinBudget, 3 * GIB - 100 * MIB, Some(107_374_183), Some(107_374_183 - 100 * MIB)),
        (&june, "2026-06-01T21:00:00", 107_374_182, 107_374_182, WithinBudget, 3 * GIB - 107_374_182, Some(107_374_183), Some(1)),
        (&june, "2026-06-01T22:00:00", 107_374_183, 107_374_183, AllowanceSpent, 3 * GIB - 107_374_183, Some(107_374_183), Some(0)),
        (&june, "2026-06-01T23:00:00", 150 * MIB, 150 * MIB, AllowanceSpent, 3 * GIB - 150 * MIB, Some(107_374_183), Some(0)),
        // day 2 after spending 200 MiB on day 1: the rest over 29 days
        (&june, "2026-06-02T00:00:00", 200 * MIB, 0, WithinBudget, left_after_200m, Some(left_after_200m.div_ceil(29)), Some(left_after_200m.div_ceil(29))),
        (&june, "2026-06-02T18:00:00", 250 * MIB, 50 * MIB, WithinBudget, left_after_200m - 50 * MIB, Some(left_after_200m.div_ceil(29)), Some(left_after_200m.div_ceil(29) - 50 * MIB)),
        // a frugal start leaves more for later days: day 16 with 1 GiB used
        (&june, "2026-06-16T12:00:00", GIB, 0, WithinBudget, 2 * GIB, Some((2 * GIB).div_ceil(15)), Some((2 * GIB).div_ceil(15))),
        // the last day gets all that is left
        (&june, "2026-06-30T09:00:00", 3 * GIB - 10 * MIB, 0, WithinBudget, 10 * MIB, Some(10 * MIB), Some(10 * MIB)),
        (&june, "2026-06-30T23:59:59", 3 * GIB - 6 * MIB, 4 * MIB, WithinBudget, 6 * MIB, Some(10 * MIB), Some(6 * MIB)),
        // exhausted wins over an allowance spent
        (&june, "2026-06-30T23:59:59", 3 * GIB, 10 * MIB, Exhausted, 0, Some(10 * MIB), Some(0)),
        (&june, "2026-06-10T12:00:00", 3 * GIB + 1, 2 * GIB, Exhausted, 0, Some((2 * GIB - 1).div_ceil(21)), Some(0)),
        // exhausted before today: nothing left to share
        (&june, "2026-06-20T12:00:00", 3 * GIB + 5, 0, Exhausted, 0, Some(0), Some(0)),
        // inconsistent counts (today > period) saturate instead of panicking
        (&june, "2026-06-20T12:00:00", 10, 20, WithinBudget, 3 * GIB - 10, Some(3 * GIB / 11 + 1), Some(3 * GIB / 11 + 1 - 20)),
        // days left are civil days, not 24 h spans: 3 days from 2026-03-29 (a 23 h day)
        (&june, "2026-03-29T12:00:00", 0, 0, WithinBudget, 3 * GIB, Some(GIB), Some(GIB)),
    ];
    for (b, now, used_in_period, used_today, state, remaining, allowance, left) in cases {
        let input = BudgetInput {
            used_in_period: *used_in_period,
            used_today: *used_today,
        };
        let v = budget_verdict(b, &input, &at(BERLIN, now));
        assert_eq!(
            (
                v.state,
                v.remaining,
                v.allowance_today,
                v.allowance_left_today
            ),
            (*state, *remaining, *allowance, *left),
            "{now}: {used_in_period} in period, {used_today} today"
        );
        let want_demote = (*state != WithinBudget).then_some(Role::Backup);
        assert_eq!(v.demote_to, want_demote, "{now}");
    }
    // 102.4 MiB, as promised
    let v = budget_verdict(
        &june,
        &BudgetInput::default(),
        &at(BERLIN, "2026-06-01T08:00:00"),
    );
    let mib = v.allowance_today.expect("allowance on") as f64 / MIB as f64;
    assert!((mib - 102.4).abs() < 1e-6, "{mib}");
}

#[test]
fn allowance_by_period_kind() {
    // (budget, now, used_in_period, allowance_today)
    let daily = allowance_budget(100 * MIB, Period::Daily, 1);
    let weekly = allowance_budget(70 * MIB, Period::Weekly, 1);
    let feb31 = allowance_budget(18 * MIB, Period::Monthly, 31);
    #[rustfmt::skip]
    let cases: &[(&Budget, &str, u64, u64)] = &[
        // a daily period is one day: the allowance is the budget
        (&daily, "2026-05-15T12:00:00", 0, 100 * MIB),
        // weekly from Monday: 7 days, then Sunday gets the rest
        (&weekly, "2026-05-11T12:00:00", 0, 10 * MIB),
        (&weekly, "2026-05-13T12:00:00", 20 * MIB, 10 * MIB),
        (&weekly, "2026-05-17T12:00:00", 40 * MIB, 30 * MIB),
        // reset_day 31 in February 2026: 2026-01-31 .. 2026-02-28, 18 days
        // left on 2026-02-10 (10th ..= 27th)
        (&feb31, "2026-02-10T12:00:00", 0, MIB),
    ];
    for (b, now, used, want) in cases {
        let input = BudgetInput {
            used_in_period: *used,
            used_today: 0,
        };
        let v = budget_verdict(b, &input, &at(BERLIN, now));
        assert_eq!(v.allowance_today, Some(*want), "{} at {now}", b.period);
    }
}

#[test]
fn verdict_without_allowance_and_next_midnight() {
    let b = budget(Period::Monthly, 1);
    // no allowance: only the period's bytes count
    let v = budget_verdict(
        &b,
        &BudgetInput {
            used_in_period: 3 * GIB - 1,
            used_today: 3 * GIB - 1,
        },
        &at(BERLIN, "2026-06-01T12:00:00"),
    );
    assert_eq!(
        (
            v.state,
            v.allowance_today,
            v.allowance_left_today,
            v.demote_to
        ),
        (BudgetState::WithinBudget, None, None, None)
    );
    assert_eq!(v.remaining, 1);
    assert_eq!(show(&v.period.end), "2026-07-01T00:00:00+02:00");
    // next midnight: the first instant of tomorrow, DST-aware
    for (tz, now, next) in [
        (BERLIN, "2026-06-01T12:00:00", "2026-06-02T00:00:00+02:00"),
        (BERLIN, "2026-03-28T23:59:59", "2026-03-29T00:00:00+01:00"),
        (BERLIN, "2026-03-29T00:00:00", "2026-03-30T00:00:00+02:00"),
        (BERLIN, "2026-10-24T22:00:00", "2026-10-25T00:00:00+02:00"),
        (
            "America/Havana",
            "2026-03-07T20:00:00",
            "2026-03-08T01:00:00-04:00",
        ),
    ] {
        let v = budget_verdict(&b, &BudgetInput::default(), &at(tz, now));
        assert_eq!(show(&v.next_midnight), next, "{tz} at {now}");
    }
    // when_exhausted = off demotes to off
    let off = Budget {
        when_exhausted: WhenExhausted::Off,
        ..b
    };
    let v = budget_verdict(
        &off,
        &BudgetInput {
            used_in_period: 3 * GIB,
            used_today: 0,
        },
        &at(BERLIN, "2026-06-01T12:00:00"),
    );
    assert_eq!(
        (v.state, v.demote_to),
        (BudgetState::Exhausted, Some(Role::Off))
    );
}

const WIFI: &str = r#"
[[interface]]
type = "wifi"
role = "preferred"
"#;

/// Policy: wifi preferred, then cellular with `role` and `budget`.
fn budget_policy(role: &str, budget: &str) -> mptcp_policy::Policy {
    policy(&format!(
        "{WIFI}\n[[interface]]\ntype = \"cellular\"\nrole = \"{role}\"\nmetered = true\nbudget = {budget}\n"
    ))
}

#[test]
fn evaluate_demotes_but_never_promotes() {
    let monthly_off =
        r#"{ bytes = "2GiB", period = "monthly", reset_day = 1, when_exhausted = "off" }"#;
    let monthly_backup =
        r#"{ bytes = "2GiB", period = "monthly", reset_day = 1, when_exhausted = "backup" }"#;
    // 68 MiB a day over June's 30 days
    let allowance_backup = r#"{ bytes = "2040MiB", period = "monthly", when_exhausted = "backup", daily_allowance = true }"#;
    let allowance_off = r#"{ bytes = "2040MiB", period = "monthly", when_exhausted = "off", daily_allowance = true }"#;
    let exhausted = Some((2 * GIB, 0));
    let spent = Some((70 * MIB, 70 * MIB));
    let base = "matched [[interface]] #2 (type = cellular) in test.toml:6";
    // (role, budget, usage, want role, want wwan flags, reason after `base`)
    #[allow(clippy::type_complexity)]
    #[rustfmt::skip]
    let cases: &[(&str, &str, Option<(u64, u64)>, Role, Option<&str>, &str)] = &[
        ("preferred", monthly_off, exhausted, Role::Off, None, "; budget exhausted (2.0 GiB of 2.0 GiB this month): when_exhausted = off"),
        ("preferred", monthly_backup, exhausted, Role::Backup, Some("subflow backup"), "; budget exhausted (2.0 GiB of 2.0 GiB this month): when_exhausted = backup"),
        ("backup", monthly_off, exhausted, Role::Off, None, "; budget exhausted (2.0 GiB of 2.0 GiB this month): when_exhausted = off"),
        // never promoted
        ("backup", monthly_backup, exhausted, Role::Backup, Some("subflow backup"), "; budget exhausted (2.0 GiB of 2.0 GiB this month): already backup"),
        ("off", monthly_backup, exhausted, Role::Off, None, "; budget exhausted (2.0 GiB of 2.0 GiB this month): already off"),
        // today's allowance
        ("preferred", allowance_backup, spent, Role::Backup, Some("subflow backup"), "; today's allowance spent (70.0 MiB of 68.0 MiB): demoted to backup until 00:00"),
        ("preferred", allowance_off, spent, Role::Off, None, "; today's allowance spent (70.0 MiB of 68.0 MiB): demoted to off until 00:00"),
        ("backup", allowance_backup, spent, Role::Backup, Some("subflow backup"), "; today's allowance spent (70.0 MiB of 68.0 MiB): already backup"),
        // within budget, or usage unknown: the configured role
        ("preferred", allowance_backup, Some((60 * MIB, 60 * MIB)), Role::Preferred, Some("subflow"), ""),
        ("preferred", monthly_off, Some((2 * GIB - 1, 0)), Role::Preferred, Some("subflow"), ""),
        ("preferred", monthly_off, None, Role::Preferred, Some("subflow"), ""),
        ("backup", monthly_off, None, Role::Backup, Some("subflow backup"), ""),
    ];
    let now = at(BERLIN, "2026-06-01T18:00:00");
    for (role, budget, usage, want_role, want_flags, want_reason) in cases {
        let p = budget_policy(role, budget);
        let mut wwan = iface(3, "wwan0", T::Cellular, true, &["100.64.1.2/30"]);
        wwan.usage = usage.map(|(used_in_period, used_today)| BudgetInput {
            used_in_period,
            used_today,
        });
        let wlan = iface(2, "wlan0", T::Wifi, true, &["192.168.1.20"]);
        let d = evaluate(&p, &observed(vec![wlan, wwan]), &now);
        let what = format!("{role} {budget} {usage:?}");
        let v = &d.interfaces[1];
        assert_eq!(v.name, "wwan0");
        assert_eq!(v.role, *want_role, "{what}");
        assert_eq!(v.reason, format!("{base}{want_reason}"), "{what}");
        assert_eq!(v.budget.is_some(), usage.is_some(), "{what}");
        // A rule may promote only a path that is backup by its entry and
        // whose budget allows more (nothing spent or exhausted).
        let promotable = *role == "backup" && *want_role == Role::Backup && want_reason.is_empty();
        assert_eq!(v.promotable, promotable, "{what}: promotable");
        let flags: Vec<String> = d
            .endpoints
            .iter()
            .filter(|e| e.ifname == "wwan0")
            .map(|e| e.flags.to_string())
            .collect();
        assert_eq!(
            flags,
            want_flags
                .map(str::to_owned)
                .into_iter()
                .collect::<Vec<_>>(),
            "{what}"
        );
        // wifi is untouched, and keeps the first rank
        assert_eq!(d.interfaces[0].role, Role::Preferred);
        assert_eq!(d.endpoints[0].ifname, "wlan0");
        assert!(d.interfaces[0].budget.is_none());
    }
}

#[test]
fn evaluate_publishes_the_verdict_and_ignores_usage_without_budget() {
    let p = budget_policy(
        "preferred",
        r#"{ bytes = "3GiB", period = "monthly", daily_allowance = true }"#,
    );
    let mut wwan = iface(3, "wwan0", T::Cellular, true, &["100.64.1.2/30"]);
    wwan.usage = Some(BudgetInput {
        used_in_period: GIB,
        used_today: 0,
    });
    // the wifi entry has no budget: its usage is ignored
    let mut wlan = iface(2, "wlan0", T::Wifi, true, &["192.168.1.20"]);
    wlan.usage = Some(BudgetInput {
        used_in_period: u64::MAX,
        used_today: u64::MAX,
    });
    let d = evaluate(
        &p,
        &observed(vec![wlan, wwan]),
        &at(BERLIN, "2026-06-16T12:00:00"),
    );
    assert!(d.interfaces[0].budget.is_none());
    assert_eq!(d.interfaces[0].role, Role::Preferred);
    let v = d.interfaces[1].budget.as_ref().expect("verdict");
    assert_eq!(v.state, BudgetState::WithinBudget);
    assert_eq!(v.remaining, 2 * GIB);
    assert_eq!(v.allowance_today, Some((2 * GIB).div_ceil(15)));
    assert_eq!(show(&v.period.start), "2026-06-01T00:00:00+02:00");
    assert_eq!(show(&v.period.end), "2026-07-01T00:00:00+02:00");
    assert_eq!(show(&v.next_midnight), "2026-06-17T00:00:00+02:00");
    assert_eq!(d.interfaces[1].role, Role::Preferred);
}

#[test]
fn allowance_demotion_ends_at_the_next_midnight_in_a_gap_zone() {
    // Havana skips 00:00 on 2026-03-08: the demotion lasts until 01:00.
    let p = policy(
        r#"
[[interface]]
type = "cellular"
role = "preferred"
budget = { bytes = "31MiB", period = "monthly", daily_allowance = true }
"#,
    );
    let mut wwan = iface(3, "wwan0", T::Cellular, true, &["100.64.1.2/30"]);
    wwan.usage = Some(BudgetInput {
        used_in_period: 8 * MIB,
        used_today: 2 * MIB,
    });
    let d = evaluate(
        &p,
        &observed(vec![wwan]),
        &at("America/Havana", "2026-03-07T20:00:00"),
    );
    let v = &d.interfaces[0];
    assert_eq!(v.role, Role::Backup);
    assert_eq!(
        v.reason,
        "matched [[interface]] #1 (type = cellular) in test.toml:2; today's allowance spent (2.0 MiB of 1.0 MiB): demoted to backup until 01:00"
    );
}
