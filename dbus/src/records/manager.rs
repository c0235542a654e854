//! `org.mptcp.Policy1`: the manager object's properties.

use super::record;
use crate::names::MANAGER_INTERFACE;

record!(
    /// The manager object `/org/mptcp/Policy1`.
    ManagerRecord, MANAGER_INTERFACE, {
        /// "kernel" | "userspace".
        path_manager: String = "PathManager",
        version: String = "Version",
        /// One line per interface: name, type, role.
        policy_summary: String = "PolicySummary",
        /// (subflows, add_addr_accepted).
        limits: (u32, u32) = "Limits",
        /// Endpoints the daemon did not create: (id, address, flags,
        /// origin "networkmanager" or "").
        foreign_endpoints: Vec<(u8, String, String, String)> = "ForeignEndpoints",
        /// The kernel's BPF path to MPTCP.
        bpf_status: String = "BpfStatus",
        /// cgroups put on MPTCP: (path, id).
        enabled_cgroups: Vec<(String, u64)> = "EnabledCgroups",
    }
);
