//! The child objects: one per network interface
//! (`org.mptcp.Policy1.Interface`) and one per MPTCP connection
//! (`org.mptcp.Policy1.Connection`). Read-only views; the publisher replaces
//! their view and emits the change.

use mptcp_policy_dbus::SubflowInfo;

use crate::views::{ConnectionView, InterfaceView, SubflowView};

pub struct InterfaceObject {
    pub view: InterfaceView,
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
    pub view: ConnectionView,
}

pub fn subflow_info(s: &SubflowView) -> SubflowInfo {
    SubflowInfo {
        local_address: s.local.ip().to_string(),
        local_port: s.local.port(),
        remote_address: s.remote.ip().to_string(),
        remote_port: s.remote.port(),
        backup: s.backup,
        interface: s.interface.clone(),
    }
}

#[zbus::interface(name = "org.mptcp.Policy1.Connection")]
impl ConnectionObject {
    #[zbus(property(emits_changed_signal = "const"))]
    fn token(&self) -> u32 {
        self.view.token
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn local_address(&self) -> String {
        self.view
            .local
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn local_port(&self) -> u16 {
        self.view.local.map(|a| a.port()).unwrap_or(0)
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn remote_address(&self) -> String {
        self.view
            .remote
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn remote_port(&self) -> u16 {
        self.view.remote.map(|a| a.port()).unwrap_or(0)
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn server_side(&self) -> bool {
        self.view.server_side
    }
    #[zbus(property(emits_changed_signal = "const"))]
    fn opened_at(&self) -> u64 {
        self.view.opened_at_ms
    }
    #[zbus(property)]
    fn subflows(&self) -> Vec<SubflowInfo> {
        self.view.subflows.iter().map(subflow_info).collect()
    }
    #[zbus(property)]
    fn mode(&self) -> String {
        self.view.mode.clone()
    }
    #[zbus(property)]
    fn rule(&self) -> String {
        self.view.rule.clone()
    }
    #[zbus(property)]
    fn promoted(&self) -> Vec<String> {
        self.view.promoted.clone()
    }
    #[zbus(property)]
    fn constraint(&self) -> String {
        self.view.constraint.clone()
    }
}
