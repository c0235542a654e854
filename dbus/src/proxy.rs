//! Client proxies. Every method mirrors `org.mptcp.Policy1.xml`; errors come
//! back as [`crate::Error`].

use crate::error::Error;
use crate::types::SubflowInfo;

/// The manager object `/org/mptcp/Policy1`.
#[zbus::proxy(
    interface = "org.mptcp.Policy1",
    default_service = "org.mptcp.Policy1",
    default_path = "/org/mptcp/Policy1"
)]
pub trait Manager {
    /// The effective policy as TOML.
    fn get_policy(&self) -> Result<String, Error>;
    /// Errors of a candidate policy as `line:column: message`; empty when valid.
    fn validate_policy(&self, toml: &str) -> Result<Vec<String>, Error>;
    /// Replaces the policy layer managed over D-Bus.
    fn set_policy(&self, toml: &str) -> Result<(), Error>;
    /// Sets the role of an interface (name) or of every interface of a type.
    fn set_interface_role(&self, interface: &str, role: &str) -> Result<(), Error>;
    /// Marks an interface metered or not.
    fn set_metered(&self, interface: &str, metered: bool) -> Result<(), Error>;
    /// Sets an interface's data budget (bytes per period).
    fn set_budget(&self, interface: &str, bytes: u64, period: &str) -> Result<(), Error>;
    /// Resets an interface's counted usage.
    fn reset_usage(&self, interface: &str) -> Result<(), Error>;
    /// One setting made over D-Bus back to the files.
    fn revert_interface(&self, interface: &str, setting: &str) -> Result<(), Error>;
    /// Drops every change made over D-Bus.
    fn reset_policy(&self) -> Result<(), Error>;
    /// Re-reads the policy files.
    fn reload(&self) -> Result<(), Error>;
    /// Puts a cgroup (v2 path) and its descendants on MPTCP (BPF hook).
    fn enable_cgroup(&self, path: &str) -> Result<(), Error>;
    /// Takes an enabled cgroup off MPTCP.
    fn disable_cgroup(&self, path: &str) -> Result<(), Error>;
    /// One NetworkManager dispatcher event (the hook's entry point); returns
    /// what the daemon did.
    fn notify_network_manager(
        &self,
        interface: &str,
        action: &str,
        hints: std::collections::HashMap<&str, &str>,
    ) -> Result<String, Error>;

    #[zbus(property)]
    fn path_manager(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn version(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn policy_summary(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn limits(&self) -> zbus::Result<(u32, u32)>;
    #[zbus(property)]
    fn foreign_endpoints(&self) -> zbus::Result<Vec<(u8, String, String, String)>>;
    #[zbus(property)]
    fn bpf_status(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn enabled_cgroups(&self) -> zbus::Result<Vec<(String, u64)>>;

    #[zbus(signal)]
    fn connection_created(
        &self,
        token: u32,
        local: &str,
        local_port: u16,
        remote: &str,
        remote_port: u16,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    fn connection_established(
        &self,
        token: u32,
        local: &str,
        local_port: u16,
        remote: &str,
        remote_port: u16,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    fn connection_closed(&self, token: u32) -> zbus::Result<()>;
    #[zbus(signal)]
    fn subflow_established(&self, token: u32, subflow: SubflowInfo) -> zbus::Result<()>;
    #[zbus(signal)]
    fn subflow_closed(&self, token: u32, subflow: SubflowInfo) -> zbus::Result<()>;
    #[zbus(signal)]
    fn subflow_priority(&self, token: u32, subflow: SubflowInfo) -> zbus::Result<()>;
    #[zbus(signal)]
    fn address_announced(&self, token: u32, id: u8, address: &str, port: u16) -> zbus::Result<()>;
    #[zbus(signal)]
    fn address_removed(&self, token: u32, id: u8) -> zbus::Result<()>;
    #[zbus(signal)]
    fn policy_changed(&self) -> zbus::Result<()>;
    #[zbus(signal)]
    fn health_changed(&self, interface: &str, health: &str, evidence: &str) -> zbus::Result<()>;
    #[zbus(signal)]
    fn budget_warning(&self, interface: &str, used: u64, budget: u64) -> zbus::Result<()>;
    #[zbus(signal)]
    fn budget_exhausted(&self, interface: &str, used: u64, budget: u64) -> zbus::Result<()>;
}

/// A network interface object `/org/mptcp/Policy1/interface/<name>`.
#[zbus::proxy(
    interface = "org.mptcp.Policy1.Interface",
    default_service = "org.mptcp.Policy1"
)]
pub trait Interface {
    #[zbus(property)]
    fn name(&self) -> zbus::Result<String>;
    #[zbus(property, name = "Type")]
    fn kind(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn type_source(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn role(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn role_reason(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn up(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn health(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn addresses(&self) -> zbus::Result<Vec<String>>;
    #[zbus(property)]
    fn metered(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn bytes_used(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn mptcp_bytes_used(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn rx_bytes(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn tx_bytes(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn budget_bytes(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn budget_period(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn budget_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn allowance_bytes(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn next_reset(&self) -> zbus::Result<String>;
    /// NetworkManager's hints: name → (value, source).
    #[zbus(property)]
    fn hints(&self) -> zbus::Result<std::collections::HashMap<String, (String, String)>>;
    #[zbus(property)]
    fn endpoint_ids(&self) -> zbus::Result<Vec<u8>>;
}

/// An MPTCP connection object `/org/mptcp/Policy1/connection/<token>`.
#[zbus::proxy(
    interface = "org.mptcp.Policy1.Connection",
    default_service = "org.mptcp.Policy1"
)]
pub trait Connection {
    #[zbus(property)]
    fn token(&self) -> zbus::Result<u32>;
    #[zbus(property)]
    fn local_address(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn local_port(&self) -> zbus::Result<u16>;
    #[zbus(property)]
    fn remote_address(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn remote_port(&self) -> zbus::Result<u16>;
    #[zbus(property)]
    fn server_side(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn opened_at(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn subflows(&self) -> zbus::Result<Vec<SubflowInfo>>;
    #[zbus(property)]
    fn mode(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn rule(&self) -> zbus::Result<String>;
    /// Backup-role interfaces the connection's `[[rule]]` made carry data.
    #[zbus(property)]
    fn promoted(&self) -> zbus::Result<Vec<String>>;
    /// Why the connection cannot follow its mode ("" when nothing).
    #[zbus(property)]
    fn constraint(&self) -> zbus::Result<String>;
}
