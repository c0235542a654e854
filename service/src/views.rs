//! What the daemon publishes (D-Bus properties), as plain values computed
//! by the engine from its state. The bus adapter diffs consecutive views
//! and emits one change signal per object.

/// The manager object's properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagerView {
    pub path_manager: String,
    pub policy_summary: String,
    pub limits: (u32, u32),
    /// (id, address, flags, origin: "networkmanager" or "").
    pub foreign_endpoints: Vec<(u8, String, String, String)>,
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceView {
    pub name: String,
    pub kind: String,
    pub type_source: String,
    pub role: String,
    pub role_reason: String,
    pub up: bool,
    /// "good" | "suspect" | "stalled", "" when not monitored.
    pub health: String,
    pub addresses: Vec<String>,
    pub metered: bool,
    pub bytes_used: u64,
    pub mptcp_bytes_used: u64,
    /// The interface's own rx/tx byte counters (since the link was
    /// created), for clients that draw throughput.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub budget_bytes: u64,
    pub budget_period: String,
    pub budget_state: String,
    pub allowance_bytes: u64,
    pub next_reset: String,
    pub endpoint_ids: Vec<u8>,
    /// NetworkManager's hints: name → (value, source).
    pub hints: std::collections::BTreeMap<String, (String, String)>,
}

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
