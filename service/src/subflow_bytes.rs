//! The bytes MPTCP subflows carry, per interface, from the subflows' own
//! TCP counters (`tcp_info` bytes_acked + bytes_received through
//! `inet_diag`): the share of a metered interface's traffic that MPTCP put
//! there. Subflows come and go; each is followed by its socket cookie, and
//! only growth since the last reading counts.

use std::collections::HashMap;
use std::net::IpAddr;

use mptcp_policy_netlink::diag::SubflowDiag;

#[derive(Debug, Default)]
pub struct SubflowBytes {
    /// Last total seen per subflow socket.
    seen: HashMap<u64, u64>,
    /// The first reading after start only sets baselines: what subflows
    /// carried before the daemon ran is not ours to count.
    primed: bool,
}

impl SubflowBytes {
    /// Takes a dump; returns the new bytes per interface name.
    pub fn update(
        &mut self,
        subflows: &[SubflowDiag],
        iface_of: impl Fn(IpAddr) -> String,
    ) -> HashMap<String, u64> {
        let mut out: HashMap<String, u64> = HashMap::new();
        let mut seen = HashMap::with_capacity(subflows.len());
        for s in subflows {
            let total = s.bytes_acked.saturating_add(s.bytes_received);
            let delta = match self.seen.get(&s.cookie) {
                Some(&last) => total.saturating_sub(last),
                None if self.primed => total,
                None => 0,
            };
            seen.insert(s.cookie, total);
            if delta > 0 {
                *out.entry(iface_of(s.local.ip())).or_default() += delta;
            }
        }
        // Closed subflows drop out; their bytes were counted while they lived.
        self.seen = seen;
        self.primed = true;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sf(cookie: u64, local: &str, acked: u64, received: u64) -> SubflowDiag {
        SubflowDiag {
            local: format!("{local}:4000").parse().expect("addr"),
            cookie,
            bytes_acked: acked,
            bytes_received: received,
            ..SubflowDiag::default()
        }
    }

    #[test]
    fn counts_growth_per_interface_across_subflow_lifetimes() {
        let name = |ip: IpAddr| {
            if ip.to_string().starts_with("10.2.") {
                "wwan0".to_string()
            } else {
                "wlan0".to_string()
            }
        };
        let mut b = SubflowBytes::default();
        // Start: baselines only.
        assert!(b
            .update(
                &[sf(1, "10.1.0.2", 5_000, 0), sf(2, "10.2.0.2", 700, 0)],
                name
            )
            .is_empty());
        let d = b.update(
            &[sf(1, "10.1.0.2", 6_000, 10), sf(2, "10.2.0.2", 900, 0)],
            name,
        );
        assert_eq!((d["wlan0"], d["wwan0"]), (1_010, 200));
        // Subflow 2 closed, a new LTE subflow 3 appears: all of it is new.
        let d = b.update(
            &[sf(1, "10.1.0.2", 6_000, 10), sf(3, "10.2.0.2", 300, 50)],
            name,
        );
        assert_eq!(d.get("wlan0"), None);
        assert_eq!(d["wwan0"], 350);
    }
}
