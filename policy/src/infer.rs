//! An interface's type inferred from what the daemon gathered: the
//! policy's `[interface_types]`, NetworkManager, sysfs, the name. Pure: the
//! hints are inputs.

use crate::model::Policy;
use crate::types::{InterfaceType, TypeHints, TypeSource};

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
