//! The child objects: one per network interface
//! (`org.mptcp.Policy1.Interface`) and one per MPTCP connection
//! (`org.mptcp.Policy1.Connection`). Each serves the contract's record
//! (`mptcp_policy_dbus::records`) read-only; the publisher replaces the
//! record and emits the diff. zbus needs one getter per property: they only
//! read the record's field (a test compares the live objects with the
//! records and the XML).

use mptcp_policy_dbus::records::{ConnectionRecord, InterfaceRecord};
use mptcp_policy_dbus::SubflowInfo;

pub struct InterfaceObject {
    pub view: InterfaceRecord,
}

#[zbus::interface(name = "org.mptcp.Policy1.Interface")]
impl InterfaceObject {
    #[zbus(property(emits_changed_signal = "const"))]
    fn name(&self) -> String {
        self.view.name.clone()
    }
    #[zbus(property, name = "Type")]
    fn kind(&self) -> String {
        self.view.kind.clone()
    }
    #[zbus(property)]
    fn type_source(&self) -> String {
        self.view.type_source.clone()
    }
    #[zbus(property)]
    fn role(&self) -> String {
        self.view.role.clone()
    }
    #[zbus(property)]
    fn role_reason(&self) -> String {
        self.view.role_reason.clone()
    }
    #[zbus(property)]
    fn up(&self) -> bool {
        self.view.up
    }
    #[zbus(property)]
    fn health(&self) -> String {
        self.view.health.clone()
    }
    #[zbus(property)]
    fn addresses(&self) -> Vec<String> {
        self.view.addresses.clone()
    }
    #[zbus(property)]
    fn metered(&self) -> bool {
        self.view.metered
    }
    #[zbus(property)]
    fn bytes_used(&self) -> u64 {
        self.view.bytes_used
    }
    #[zbus(property)]
    fn mptcp_bytes_used(&self) -> u64 {
        self.view.mptcp_bytes_used
    }
    #[zbus(property)]
    fn rx_bytes(&self) -> u64 {
        self.view.rx_bytes
    }
    #[zbus(property)]
    fn tx_bytes(&self) -> u64 {
        self.view.tx_bytes
    }
    #[zbus(property)]
    fn budget_bytes(&self) -> u64 {
        self.view.budget_bytes
    }
    #[zbus(property)]
    fn budget_period(&self) -> String {
        self.view.budget_period.clone()
    }
    #[zbus(property)]
    fn budget_state(&self) -> String {
        self.view.budget_state.clone()
    }
    #[zbus(property)]
    fn allowance_bytes(&self) -> u64 {
        self.view.allowance_bytes
    }
    #[zbus(property)]
    fn next_reset(&self) -> String {
        self.view.next_reset.clone()
    }
    #[zbus(property)]
    fn endpoint_ids(&self) -> Vec<u8> {
        self.view.endpoint_ids.clone()
    }
    #[zbus(property)]
    fn hints(&self) -> std::collections::HashMap<String, (String, String)> {
        self.view.hints.clone().into_iter().collect()
    }
}

pub struct ConnectionObject {
    pub record: ConnectionRecord,
}

#[zbus::interface(name = "org.mptcp.Policy1.Connection")]
impl ConnectionObject {
    #[zbus(property(emits_changed_signal = "const"))]
    fn token(&self) -> u32 {
        self.record.token
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn local_address(&self) -> String {
        self.record.local_address.clone()
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn local_port(&self) -> u16 {
        self.record.local_port
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn remote_address(&self) -> String {
        self.record.remote_address.clone()
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn remote_port(&self) -> u16 {
        self.record.remote_port
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn server_side(&self) -> bool {
        self.record.server_side
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn opened_at(&self) -> u64 {
        self.record.opened_at_ms
    }
    #[zbus(property)]
    fn subflows(&self) -> Vec<SubflowInfo> {
        self.record.subflows.clone()
    }
    #[zbus(property)]
    fn mode(&self) -> String {
        self.record.mode.clone()
    }
    #[zbus(property)]
    fn rule(&self) -> String {
        self.record.rule.clone()
    }
    #[zbus(property)]
    fn promoted(&self) -> Vec<String> {
        self.record.promoted.clone()
    }
    #[zbus(property)]
    fn constraint(&self) -> String {
        self.record.constraint.clone()
    }
}
