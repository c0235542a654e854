//! The vocabulary of `NotifyNetworkManager` and the `Hints` property,
//! shared by the daemon and the hook's client (`mptcp-policyctl notify`).

/// Dispatcher actions the daemon acts on; the hook ignores the others
/// (`pre-up`, `vpn-up`, `hostname`, ...).
pub const ACTIONS: [&str; 7] = [
    "up",
    "down",
    "pre-down",
    "dhcp4-change",
    "dhcp6-change",
    "reapply",
    "connectivity-change",
];

/// Hint names `NotifyNetworkManager` accepts.
pub mod hint {
    /// The dispatcher's `CONNECTIVITY_STATE` (`FULL`, `PORTAL`, ...).
    pub const CONNECTIVITY: &str = "connectivity";
    /// NetworkManager's device type as nmcli writes it (`wifi`, `gsm`, ...).
    pub const DEVICE_TYPE: &str = "device-type";
    /// `CONNECTION_ID` (for the log).
    pub const CONNECTION_ID: &str = "connection-id";
    /// `CONNECTION_UUID` (for the log).
    pub const CONNECTION_UUID: &str = "connection-uuid";
    /// Every accepted name.
    pub const ALL: [&str; 4] = [CONNECTIVITY, DEVICE_TYPE, CONNECTION_ID, CONNECTION_UUID];
    /// The `Hints` property's name for the metered verdict.
    pub const METERED: &str = "metered";
}

/// Sources in the `Hints` property and `TypeSource`.
pub mod source {
    /// Read from NetworkManager on the system bus.
    pub const NETWORKMANAGER: &str = "networkmanager";
    /// Sent by the dispatcher hook (`NotifyNetworkManager`).
    pub const HOOK: &str = "networkmanager-hook";
}

/// The `ForeignEndpoints` origin of an endpoint on a device NetworkManager
/// has activated.
pub const ORIGIN_NETWORKMANAGER: &str = "networkmanager";
