//! Structured values on the bus.

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

/// One subflow of an MPTCP connection: `(sqsqbs)` — local address, local
/// port, remote address, remote port, backup, interface name ("" when not
/// known).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SubflowInfo {
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    pub backup: bool,
    pub interface: String,
}
