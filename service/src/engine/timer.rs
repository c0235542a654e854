//! When the engine wakes up by itself. Everything else arrives as an event;
//! the timer is for what has none: byte counters (read only while something
//! needs them — the pure rule is `mptcp_policy::schedule`), a usage change
//! to publish or save, a budget period or day that ends, a userspace path
//! manager delay that runs out. With none of these the daemon sleeps until
//! an event.

use std::time::{Duration, Instant};

use mptcp_policy::jiff::ZonedDateTime;
use mptcp_policy::schedule::{
    bytes_to_demotion, link_rate, next_counter_read, BudgetWatch, CounterNeeds, FAST_READ,
};

use super::{Engine, USAGE_PUBLISH_INTERVAL, USAGE_SAVE_INTERVAL};

impl Engine {
    /// The next time the engine must act without an event; None: not
    /// before one. `events_subscribed`: the kernel's MPTCP events arrive
    /// (without them open connections cannot be known).
    pub(super) fn next_wake(&self, events_subscribed: bool) -> Option<Instant> {
        let now_wall = self.local_now();
        let needs = self.counter_needs(events_subscribed, &now_wall);
        let c = &self.counting;
        let read = match next_counter_read(&needs) {
            Some(every) => Some(c.last_read + every),
            // One more reading after the need ended (a connection closed):
            // what it carried since the last reading is counted too.
            None if c.needed_at_last_read => Some(c.last_read + FAST_READ),
            None => None,
        };
        let publish = c.unpublished.then(|| c.published + USAGE_PUBLISH_INTERVAL);
        let save = c.dirty.then(|| c.saved + USAGE_SAVE_INTERVAL);
        let expiry = self.userspace.pm.as_ref().and_then(|u| u.next_expiry());
        let boundary = self
            .next_budget_boundary(&now_wall)
            .map(|d| Instant::now() + d);
        [read, publish, save, expiry, boundary]
            .into_iter()
            .flatten()
            .min()
    }

    /// What the counter schedule is decided from.
    pub(super) fn counter_needs(
        &self,
        events_subscribed: bool,
        now: &ZonedDateTime,
    ) -> CounterNeeds {
        let budgets: Vec<(String, BudgetWatch)> = self
            .verdicts
            .iter()
            .filter_map(|v| {
                let budget = self.matched_rule(v.index)?.budget.as_ref()?;
                self.table.link(v.index).filter(|l| l.usable())?;
                let input = self.counting.usage.input(&v.name);
                Some((
                    v.name.clone(),
                    BudgetWatch {
                        bytes_to_demotion: bytes_to_demotion(budget, &input, now, v.role),
                        max_rate: link_rate(link_speed(&v.name)),
                    },
                ))
            })
            .collect();
        CounterNeeds {
            connections_open: !self.conns.is_empty(),
            connections_unknown: !events_subscribed,
            moving: budgets
                .iter()
                .any(|(name, _)| self.counting.moved.contains(name)),
            budgets: budgets.into_iter().map(|(_, w)| w).collect(),
        }
    }

    /// Until the nearest end of a budget period or (with a daily
    /// allowance) of today, for an interface with a budget.
    fn next_budget_boundary(&self, now: &ZonedDateTime) -> Option<Duration> {
        self.verdicts
            .iter()
            .filter_map(|v| {
                let b = v.budget.as_ref()?;
                let end = if b.allowance_today.is_some() {
                    b.next_midnight.clone().min(b.period.end.clone())
                } else {
                    b.period.end.clone()
                };
                let secs = end.timestamp().as_second() - now.timestamp().as_second();
                // A boundary just passed is handled by the reading it
                // causes; never a busy loop.
                Some(Duration::from_secs(secs.max(1) as u64))
            })
            .min()
    }
}

/// The link's speed in Mb/s as the kernel reports it (None when it does
/// not: WiFi and modems often report -1 or nothing).
fn link_speed(name: &str) -> Option<i64> {
    let path = format!("/sys/class/net/{name}/speed");
    mptcp_policy_netlink::kernel_file::read(std::path::Path::new(&path))
        .ok()?
        .trim()
        .parse()
        .ok()
}
