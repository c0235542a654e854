//! `org.mptcp.Policy1.Connection`: one MPTCP connection.

use super::record;
use crate::names::CONNECTION_INTERFACE;
use crate::types::SubflowInfo;

record!(
    /// One MPTCP connection object, `/org/mptcp/Policy1/connection/<token>`.
    ConnectionRecord, CONNECTION_INTERFACE, {
        token: u32 = "Token",
        local_address: String = "LocalAddress",
        local_port: u16 = "LocalPort",
        remote_address: String = "RemoteAddress",
        remote_port: u16 = "RemotePort",
        server_side: bool = "ServerSide",
        /// When the daemon saw it created (Unix time, ms).
        opened_at_ms: u64 = "OpenedAt",
        subflows: Vec<SubflowInfo> = "Subflows",
        /// Userspace PM mode (`handover` | `interactive` | `aggregate`), ""
        /// under the in-kernel PM.
        mode: String = "Mode",
        /// The policy entry that chose the mode.
        rule: String = "Rule",
        /// Backup-role interfaces the rule's mode made carry data.
        promoted: Vec<String> = "Promoted",
        /// Why the connection cannot do what its mode wants ("" when nothing).
        constraint: String = "Constraint",
    }
);
