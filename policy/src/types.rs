//! Interface types and the hints they are inferred from (config,
//! NetworkManager, sysfs, name); the inference itself is `infer.rs`. No I/O
//! here (the daemon reads sysfs and asks NetworkManager).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of link an interface is; policy entries can match on it.
///
/// Written lowercase in files and on D-Bus. `Other` is a known kind that
/// is none of the listed ones (bond, infiniband, ...); `Unknown` means no
/// source could tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InterfaceType {
    /// 802.11 wireless LAN.
    Wifi,
    /// Mobile broadband (LTE/5G modem, phone tethering that says so).
    Cellular,
    /// Wired Ethernet.
    Ethernet,
    /// A software bridge.
    Bridge,
    /// A tunnel (WireGuard, tun, ...).
    Vpn,
    /// Known, but none of the above.
    Other,
    /// No source could tell.
    Unknown,
}

impl InterfaceType {
    /// Every type, in the order shown in messages.
    pub const ALL: [InterfaceType; 7] = [
        InterfaceType::Wifi,
        InterfaceType::Cellular,
        InterfaceType::Ethernet,
        InterfaceType::Bridge,
        InterfaceType::Vpn,
        InterfaceType::Other,
        InterfaceType::Unknown,
    ];

    /// The lowercase name used in files and on D-Bus.
    pub fn as_str(self) -> &'static str {
        match self {
            InterfaceType::Wifi => "wifi",
            InterfaceType::Cellular => "cellular",
            InterfaceType::Ethernet => "ethernet",
            InterfaceType::Bridge => "bridge",
            InterfaceType::Vpn => "vpn",
            InterfaceType::Other => "other",
            InterfaceType::Unknown => "unknown",
        }
    }
}

impl fmt::Display for InterfaceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InterfaceType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InterfaceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = InterfaceType::ALL.iter().map(|t| t.as_str()).collect();
                format!(
                    "unknown interface type {s:?} (expected {})",
                    names.join(", ")
                )
            })
    }
}

/// What the daemon learned about an interface besides its name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeHints {
    /// NetworkManager's device type, mapped (`wifi`, `gsm`/`modem` →
    /// cellular, `ethernet`, `bridge`, `wireguard`/`tun` → vpn, ...).
    pub nm_type: Option<InterfaceType>,
    /// `DEVTYPE=` from `/sys/class/net/<if>/uevent` (`wlan`, `wwan`, ...).
    pub sysfs_devtype: Option<String>,
    /// `/sys/class/net/<if>/wireless` exists.
    pub sysfs_wireless: bool,
}

/// Which source decided an interface's type (shown in status output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TypeSource {
    /// `[interface_types]` in the policy.
    Config,
    /// NetworkManager's device type.
    NetworkManager,
    /// sysfs `DEVTYPE` or `wireless/`.
    Sysfs,
    /// The interface name's prefix.
    Name,
    /// Nothing told; the type is `Unknown`.
    None,
}

impl fmt::Display for TypeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TypeSource::Config => "config",
            TypeSource::NetworkManager => "networkmanager",
            TypeSource::Sysfs => "sysfs",
            TypeSource::Name => "name",
            TypeSource::None => "none",
        })
    }
}
