//! When the counters are read next: never while nothing needs them, fast
//! while something moves, and for a still budgeted link only as soon as the
//! link at full speed could reach the next threshold.

use std::time::Duration;

use mptcp_policy::jiff::civil::DateTime;
use mptcp_policy::jiff::tz::TimeZone;
use mptcp_policy::jiff::ZonedDateTime;
use mptcp_policy::schedule::{
    bytes_to_demotion, link_rate, next_counter_read, BudgetWatch, CounterNeeds, FAST_READ,
    LONGEST_IDLE_READ, UNKNOWN_LINK_RATE,
};
use mptcp_policy::{Budget, BudgetInput, Period, Role, WhenExhausted};

const MB: u64 = 1_000_000;
const GB: u64 = 1_000_000_000;

fn watch(bytes: u64, max_rate: u64) -> BudgetWatch {
    BudgetWatch {
        bytes_to_demotion: Some(bytes),
        max_rate,
    }
}

/// A budgeted link whose demotion would change nothing.
fn counting_only() -> BudgetWatch {
    BudgetWatch {
        bytes_to_demotion: None,
        max_rate: 125 * MB,
    }
}

#[test]
fn the_next_reading_follows_what_needs_the_counters() {
    let ms = Duration::from_millis;
    // (case, needs, expected)
    let cases: Vec<(&str, CounterNeeds, Option<Duration>)> = vec![
        (
            "nothing at all: asleep until an event",
            CounterNeeds::default(),
            None,
        ),
        (
            "traffic on a link without a budget and no MPTCP connection: asleep",
            CounterNeeds {
                moving: true,
                ..Default::default()
            },
            None,
        ),
        (
            "an MPTCP connection open",
            CounterNeeds {
                connections_open: true,
                ..Default::default()
            },
            Some(FAST_READ),
        ),
        (
            "no MPTCP event stream: connections unknown",
            CounterNeeds {
                connections_unknown: true,
                ..Default::default()
            },
            Some(FAST_READ),
        ),
        (
            "a budgeted link moving",
            CounterNeeds {
                moving: true,
                budgets: vec![watch(10 * GB, 125 * MB)],
                ..Default::default()
            },
            Some(FAST_READ),
        ),
        (
            "a still budgeted link, 500 MB to go at 1 Gb/s: 4 s",
            CounterNeeds {
                budgets: vec![watch(500 * MB, 125 * MB)],
                ..Default::default()
            },
            Some(ms(4_000)),
        ),
        (
            "two still links: the nearer crossing decides",
            CounterNeeds {
                budgets: vec![watch(500 * MB, 125 * MB), watch(250 * MB, 125 * MB)],
                ..Default::default()
            },
            Some(ms(2_000)),
        ),
        (
            "a threshold closer than one fast reading: read fast",
            CounterNeeds {
                budgets: vec![watch(MB, 125 * MB)],
                ..Default::default()
            },
            Some(FAST_READ),
        ),
        (
            "a still link whose demotion would change nothing: now and then",
            CounterNeeds {
                budgets: vec![counting_only()],
                ..Default::default()
            },
            Some(LONGEST_IDLE_READ),
        ),
        (
            "the same link moving: fast (usage, warnings)",
            CounterNeeds {
                moving: true,
                budgets: vec![counting_only()],
                ..Default::default()
            },
            Some(FAST_READ),
        ),
        (
            "10 GB at 1 Gb/s would be 80 s: capped",
            CounterNeeds {
                budgets: vec![watch(10 * GB, 125 * MB)],
                ..Default::default()
            },
            Some(LONGEST_IDLE_READ),
        ),
        (
            "a huge budget on a slow link: capped",
            CounterNeeds {
                budgets: vec![watch(1 << 60, 1)],
                ..Default::default()
            },
            Some(LONGEST_IDLE_READ),
        ),
        (
            "a rate of 0 (bad reading) is not a division by zero",
            CounterNeeds {
                budgets: vec![watch(GB, 0)],
                ..Default::default()
            },
            Some(LONGEST_IDLE_READ),
        ),
    ];
    for (case, needs, want) in cases {
        assert_eq!(next_counter_read(&needs), want, "{case}");
    }
}

fn noon() -> ZonedDateTime {
    let dt: DateTime = "2026-05-15T12:00:00".parse().expect("civil datetime");
    dt.to_zoned_datetime(TimeZone::UTC).expect("zoned")
}

fn budget(bytes: u64, warn_at: Vec<f64>, daily_allowance: bool) -> Budget {
    Budget {
        bytes,
        period: Period::Monthly,
        reset_day: 1,
        warn_at,
        when_exhausted: WhenExhausted::Backup,
        daily_allowance,
    }
}

fn used(in_period: u64, today: u64) -> BudgetInput {
    BudgetInput {
        used_in_period: in_period,
        used_today: today,
    }
}

#[test]
fn bytes_to_demotion_counts_only_what_would_change_the_role() {
    let backup = |b: Budget| Budget {
        when_exhausted: WhenExhausted::Backup,
        ..b
    };
    let off = |b: Budget| Budget {
        when_exhausted: WhenExhausted::Off,
        ..b
    };
    // (case, budget, usage, role now, bytes until the demotion)
    let cases = vec![
        (
            "preferred, fresh budget: all of it (warnings do not count)",
            backup(budget(10 * GB, vec![0.8], false)),
            used(0, 0),
            Role::Preferred,
            Some(10 * GB),
        ),
        (
            "preferred, partly used",
            backup(budget(10 * GB, vec![0.8], false)),
            used(9 * GB, 0),
            Role::Preferred,
            Some(GB),
        ),
        (
            "backup with when_exhausted = backup: nothing would change",
            backup(budget(10 * GB, vec![0.8], false)),
            used(0, 0),
            Role::Backup,
            None,
        ),
        (
            "backup with when_exhausted = off: the budget",
            off(budget(10 * GB, vec![0.8], false)),
            used(GB, 0),
            Role::Backup,
            Some(9 * GB),
        ),
        (
            "off: nothing to demote",
            off(budget(10 * GB, vec![0.8], false)),
            used(0, 0),
            Role::Off,
            None,
        ),
        (
            "exhausted: demoted already",
            backup(budget(10 * GB, vec![0.8], false)),
            used(11 * GB, 0),
            Role::Preferred,
            None,
        ),
        (
            // 17 days left in May from the 15th: 10 GB / 17 = 588,235,295 (rounded up)
            "daily allowance nearer than the budget",
            backup(budget(10 * GB, vec![0.8], true)),
            used(0, 0),
            Role::Preferred,
            Some(588_235_295),
        ),
        (
            "daily allowance partly used today",
            backup(budget(10 * GB, vec![0.8], true)),
            used(100 * MB, 100 * MB),
            Role::Preferred,
            Some(488_235_295),
        ),
    ];
    for (case, b, input, role, want) in cases {
        assert_eq!(bytes_to_demotion(&b, &input, &noon(), role), want, "{case}");
    }
}

#[test]
fn link_rates_come_from_the_kernel_s_speed_or_a_safe_guess() {
    assert_eq!(link_rate(Some(1000)), 125 * MB);
    assert_eq!(link_rate(Some(10_000)), 1_250 * MB);
    assert_eq!(link_rate(Some(-1)), UNKNOWN_LINK_RATE, "unknown speed");
    assert_eq!(link_rate(Some(0)), UNKNOWN_LINK_RATE);
    assert_eq!(link_rate(None), UNKNOWN_LINK_RATE, "no speed file");
}
