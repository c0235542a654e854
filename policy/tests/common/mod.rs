//! Builders shared by the evaluate and plan tests.
#![allow(dead_code)]

use mptcp_policy::{InterfaceType, Observed, ObservedAddress, ObservedInterface, Policy};

/// `"10.0.0.2/24"` → usable address.
pub fn addr(s: &str) -> ObservedAddress {
    let (a, len) = s.split_once('/').unwrap_or((s, "24"));
    ObservedAddress::new(a.parse().expect("address"), len.parse().expect("prefix"))
}

pub fn iface(
    index: u32,
    name: &str,
    kind: InterfaceType,
    up: bool,
    addrs: &[&str],
) -> ObservedInterface {
    ObservedInterface {
        index,
        name: name.to_owned(),
        kind,
        up,
        addresses: addrs.iter().map(|a| addr(a)).collect(),
        usage: None,
        hints: Default::default(),
        stalled: None,
        degraded: None,
    }
}

/// A fixed instant for evaluations that do not depend on time.
pub fn fixed_now() -> mptcp_policy::jiff::ZonedDateTime {
    "2026-05-15T12:00:00+00:00[UTC]".parse().expect("instant")
}

pub fn observed(ifaces: Vec<ObservedInterface>) -> Observed {
    Observed { interfaces: ifaces }
}

pub fn policy(text: &str) -> Policy {
    Policy::parse("test.toml", text).unwrap_or_else(|e| panic!("{e:?}"))
}

/// wifi preferred, eth* preferred, cellular backup (the documented example).
pub const EXAMPLE: &str = r#"
[[interface]]
type = "wifi"
role = "preferred"
[[interface]]
name = "eth*"
role = "preferred"
[[interface]]
type = "cellular"
role = "backup"
"#;
