//! `org.mptcp.Policy1.Interface`: one network interface.

use std::collections::BTreeMap;

use super::record;
use crate::names::INTERFACE_INTERFACE;

record!(
    /// One network interface object,
    /// `/org/mptcp/Policy1/interface/<escaped name>`. Open string sets:
    /// clients must accept values they do not know.
    InterfaceRecord, INTERFACE_INTERFACE, {
        name: String = "Name",
        /// "wifi", "cellular", "ethernet", ...
        #[serde(rename = "type")]
        kind: String = "Type",
        /// Where the type came from ("config", "sysfs", "networkmanager", ...).
        type_source: String = "TypeSource",
        /// "preferred" | "backup" | "off".
        role: String = "Role",
        role_reason: String = "RoleReason",
        up: bool = "Up",
        /// "good" | "suspect" | "degraded" | "stalled", "" when not monitored.
        health: String = "Health",
        addresses: Vec<String> = "Addresses",
        metered: bool = "Metered",
        bytes_used: u64 = "BytesUsed",
        /// The part of `bytes_used` MPTCP subflows carried.
        mptcp_bytes_used: u64 = "MptcpBytesUsed",
        /// The interface's own counters (since the link was created), for
        /// clients that draw throughput.
        rx_bytes: u64 = "RxBytes",
        tx_bytes: u64 = "TxBytes",
        /// 0: no budget.
        budget_bytes: u64 = "BudgetBytes",
        /// "daily" | "weekly" | "monthly", "" without a budget.
        budget_period: String = "BudgetPeriod",
        /// "within-budget" | "allowance-spent" | "exhausted", "" without one.
        budget_state: String = "BudgetState",
        /// Bytes still allowed today.
        allowance_bytes: u64 = "AllowanceBytes",
        /// End of the period, RFC 3339 local time; "" without a budget.
        next_reset: String = "NextReset",
        endpoint_ids: Vec<u8> = "EndpointIds",
        /// NetworkManager's hints: name -> (value, source); in JSON
        /// `{"value": …, "source": …}`.
        #[serde(serialize_with = "hints_json")]
        hints: BTreeMap<String, (String, String)> = "Hints",
    }
);

fn hints_json<S: serde::Serializer>(
    hints: &BTreeMap<String, (String, String)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(serde::Serialize)]
    struct Hint<'a> {
        value: &'a str,
        source: &'a str,
    }
    s.collect_map(
        hints
            .iter()
            .map(|(k, (value, source))| (k, Hint { value, source })),
    )
}
