//! What the daemon publishes (D-Bus properties), as plain values computed
//! by the engine from its state. Interfaces are the contract's record
//! itself; the manager and connections keep the engine's types and become
//! records here. The bus adapter diffs consecutive records and emits one
//! change signal per object.

use mptcp_policy_dbus::records::{ConnectionRecord, ManagerRecord};
use mptcp_policy_dbus::SubflowInfo;

/// The manager object's properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagerView {
    pub path_manager: String,
    pub policy_summary: String,
    pub limits: (u32, u32),
    /// (id, address, flags, origin: "networkmanager" or "").
    pub foreign_endpoints: Vec<(u8, String, String, String)>,
    /// The kernel's BPF path to MPTCP ("not loaded" until an app is enabled).
    pub bpf_status: String,
    /// cgroups put on MPTCP: (path, id; 0 while the cgroup is absent).
    pub enabled_cgroups: Vec<(String, u64)>,
}

/// One network interface: the contract's record, as published.
pub use mptcp_policy_dbus::records::InterfaceRecord as InterfaceView;

/// One subflow of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubflowView {
    pub local: std::net::SocketAddr,
    pub remote: std::net::SocketAddr,
    pub backup: bool,
    pub interface: String,
}

/// One MPTCP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionView {
    pub token: u32,
    pub local: Option<std::net::SocketAddr>,
    pub remote: Option<std::net::SocketAddr>,
    pub server_side: bool,
    pub established: bool,
    pub subflows: Vec<SubflowView>,
    /// `handover` | `interactive` | `aggregate` (userspace PM), "" when the
    /// in-kernel PM decides.
    pub mode: String,
    /// Which `[[rule]]` decided the mode, for humans.
    pub rule: String,
    /// When the daemon saw it created (Unix time, ms).
    pub opened_at_ms: u64,
    /// Interfaces whose role is backup that the connection's `[[rule]]`
    /// mode made carry data.
    pub promoted: Vec<String>,
    /// Why the connection cannot do what its mode wants ("" when nothing).
    pub constraint: String,
}

impl ManagerView {
    /// The manager's record with what the engine publishes (`Version` does
    /// not change and stays default, so a diff never names it).
    pub fn record(&self) -> ManagerRecord {
        ManagerRecord {
            path_manager: self.path_manager.clone(),
            policy_summary: self.policy_summary.clone(),
            limits: self.limits,
            foreign_endpoints: self.foreign_endpoints.clone(),
            bpf_status: self.bpf_status.clone(),
            enabled_cgroups: self.enabled_cgroups.clone(),
            ..ManagerRecord::default()
        }
    }
}

impl SubflowView {
    /// As the bus carries it.
    pub fn info(&self) -> SubflowInfo {
        SubflowInfo {
            local_address: self.local.ip().to_string(),
            local_port: self.local.port(),
            remote_address: self.remote.ip().to_string(),
            remote_port: self.remote.port(),
            backup: self.backup,
            interface: self.interface.clone(),
        }
    }
}

impl ConnectionView {
    /// The connection's record (ends unknown yet: "" and 0).
    pub fn record(&self) -> ConnectionRecord {
        let ip =
            |a: Option<std::net::SocketAddr>| a.map(|a| a.ip().to_string()).unwrap_or_default();
        let port = |a: Option<std::net::SocketAddr>| a.map_or(0, |a| a.port());
        ConnectionRecord {
            token: self.token,
            local_address: ip(self.local),
            local_port: port(self.local),
            remote_address: ip(self.remote),
            remote_port: port(self.remote),
            server_side: self.server_side,
            opened_at_ms: self.opened_at_ms,
            subflows: self.subflows.iter().map(SubflowView::info).collect(),
            mode: self.mode.clone(),
            rule: self.rule.clone(),
            promoted: self.promoted.clone(),
            constraint: self.constraint.clone(),
        }
    }
}
