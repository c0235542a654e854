//! Interface types and their inference from the hints the daemon gathers
//! (config, NetworkManager, sysfs, name). Pure: the hints are inputs; no
//! I/O here (the daemon reads sysfs and asks NetworkManager).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::Policy;

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

/// Infers an interface's type: explicit config (`[interface_types]`) >
/// NetworkManager (unless it only says generic `ethernet`, which it also
/// says for USB tethering) > sysfs (`DEVTYPE`, `wireless/`) > name prefix >
/// NetworkManager's `ethernet` > `Unknown`.
pub fn infer_type(policy: &Policy, name: &str, hints: &TypeHints) -> (InterfaceType, TypeSource) {
    if let Some(t) = policy.interface_types.lookup(name) {
        return (t, TypeSource::Config);
    }
    let nm = hints.nm_type.filter(|t| *t != InterfaceType::Unknown);
    if let Some(t) = nm.filter(|t| *t != InterfaceType::Ethernet) {
        return (t, TypeSource::NetworkManager);
    }
    if let Some(t) = type_from_sysfs(hints) {
        return (t, TypeSource::Sysfs);
    }
    if let Some(t) = type_from_name(name) {
        return (t, TypeSource::Name);
    }
    match nm {
        Some(t) => (t, TypeSource::NetworkManager),
        None => (InterfaceType::Unknown, TypeSource::None),
    }
}

fn type_from_sysfs(hints: &TypeHints) -> Option<InterfaceType> {
    let by_devtype = match hints.sysfs_devtype.as_deref() {
        Some("wlan") => Some(InterfaceType::Wifi),
        Some("wwan") => Some(InterfaceType::Cellular),
        Some("bridge") => Some(InterfaceType::Bridge),
        Some("wireguard") => Some(InterfaceType::Vpn),
        _ => None,
    };
    by_devtype.or(hints.sysfs_wireless.then_some(InterfaceType::Wifi))
}

/// Name prefixes of systemd's predictable names and common drivers.
const NAME_PREFIXES: &[(&str, InterfaceType)] = &[
    ("wl", InterfaceType::Wifi),
    ("ww", InterfaceType::Cellular),
    ("rmnet", InterfaceType::Cellular),
    ("ccmni", InterfaceType::Cellular),
    ("en", InterfaceType::Ethernet),
    ("eth", InterfaceType::Ethernet),
    ("wg", InterfaceType::Vpn),
    ("tun", InterfaceType::Vpn),
    ("br", InterfaceType::Bridge),
    ("virbr", InterfaceType::Bridge),
];

fn type_from_name(name: &str) -> Option<InterfaceType> {
    NAME_PREFIXES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, t)| *t)
}
