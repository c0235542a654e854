//! NetworkManager's hints per interface name, each with where it came from
//! (the daemon's watcher on the bus or the dispatcher hook): the hook's
//! input checked ([`parse_notify`]), and the table ([`HintTable`]) the
//! watcher's snapshots and the hook's events are applied to, which turns
//! them into the policy's `InterfaceHints` and the type hint. No I/O here
//! (the `nm_notify` fuzz target runs it on arbitrary input).
//!
//! The words of the hook's D-Bus call ([`ACTIONS`], [`hint`], [`source`])
//! are defined here, once; the D-Bus contract (`mptcp_policy_dbus::networkmanager`)
//! re-exports them.

use std::collections::{BTreeMap, HashMap};

use crate::{type_from_nm_name, Connectivity, InterfaceHints, InterfaceType, NmMetered};

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

/// One device as NetworkManager reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NmDevice {
    /// `IpInterface`, else `Interface`.
    pub iface: String,
    /// `DeviceType`, mapped.
    pub device_type: Option<InterfaceType>,
    /// `Metered`.
    pub metered: Option<NmMetered>,
    /// Best of `Ip4Connectivity` and `Ip6Connectivity`.
    pub connectivity: Option<Connectivity>,
    /// `Managed`.
    pub managed: bool,
    /// `State` is activated (100).
    pub activated: bool,
}

/// A value and its source (`networkmanager` or `networkmanager-hook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: &'static str,
}

fn nm<T>(value: T) -> Sourced<T> {
    Sourced {
        value,
        source: source::NETWORKMANAGER,
    }
}

fn hook<T>(value: T) -> Sourced<T> {
    Sourced {
        value,
        source: source::HOOK,
    }
}

/// What is known about one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfaceHints {
    pub device_type: Option<Sourced<InterfaceType>>,
    pub metered: Option<Sourced<NmMetered>>,
    pub connectivity: Option<Sourced<Connectivity>>,
}

impl IfaceHints {
    fn is_empty(&self) -> bool {
        *self == IfaceHints::default()
    }

    /// Drops what came from the watcher and any connectivity (NetworkManager
    /// left the bus, or the device is gone from its list).
    fn forget_watcher(&mut self) {
        let from_nm = |s: &'static str| s == source::NETWORKMANAGER;
        self.connectivity = None;
        if self.device_type.is_some_and(|h| from_nm(h.source)) {
            self.device_type = None;
        }
        if self.metered.is_some_and(|h| from_nm(h.source)) {
            self.metered = None;
        }
        if self.connectivity.is_some_and(|h| from_nm(h.source)) {
            self.connectivity = None;
        }
    }
}

/// A new device type replaces the old one, except that generic ethernet
/// never replaces a specific type (wifi, cellular, ...): NetworkManager
/// says ethernet for veth and USB tethering too, which says less (as in
/// `infer_type`).
fn merge_type(
    old: Option<Sourced<InterfaceType>>,
    new: Option<Sourced<InterfaceType>>,
) -> Option<Sourced<InterfaceType>> {
    match (old, new) {
        (Some(o), Some(n)) if n.value == InterfaceType::Ethernet && o.value != n.value => Some(o),
        (_, n) => n,
    }
}

/// A `NotifyNetworkManager` call that was refused, and why (for
/// `InvalidArgument`). Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotifyError(pub String);

/// What a valid hook event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub interface: String,
    pub action: String,
    pub connectivity: Option<Connectivity>,
    pub device_type: Option<InterfaceType>,
    /// `CONNECTION_ID` / `CONNECTION_UUID`, for the log.
    pub connection: String,
}

/// Checks a hook event; every problem is named.
pub fn parse_notify(
    interface: &str,
    action: &str,
    hints: &HashMap<String, String>,
) -> Result<Notify, NotifyError> {
    if !ACTIONS.contains(&action) {
        return Err(NotifyError(format!(
            "unknown NetworkManager dispatcher action {action:?} (expected one of {})",
            ACTIONS.join(", ")
        )));
    }
    if interface.is_empty() && action != "connectivity-change" {
        return Err(NotifyError(format!(
            "action {action:?} needs an interface name"
        )));
    }
    if !interface.is_empty() {
        check_ifname(interface)?;
    }
    let mut keys: Vec<&String> = hints.keys().collect();
    keys.sort();
    if let Some(k) = keys.iter().find(|k| !hint::ALL.contains(&k.as_str())) {
        return Err(NotifyError(format!(
            "unknown hint {k:?} (expected {})",
            hint::ALL.join(", ")
        )));
    }
    let connectivity = match hints.get(hint::CONNECTIVITY).map(String::as_str) {
        None | Some("") => None,
        Some(s) if s.eq_ignore_ascii_case("unknown") => None,
        Some(s) => Some(s.parse::<Connectivity>().map_err(NotifyError)?),
    };
    let device_type = match hints.get(hint::DEVICE_TYPE).map(String::as_str) {
        None | Some("") => None,
        Some(s) if s.len() > 32 || !s.bytes().all(|b| b.is_ascii_graphic()) => {
            return Err(NotifyError(format!("device type {s:?} is not a type name")))
        }
        Some(s) => type_from_nm_name(s),
    };
    let text = |k: &str| {
        hints
            .get(k)
            .map(|v| v.chars().filter(|c| !c.is_control()).take(128).collect())
            .unwrap_or_default()
    };
    let (id, uuid): (String, String) = (text(hint::CONNECTION_ID), text(hint::CONNECTION_UUID));
    let connection = match (id.is_empty(), uuid.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("connection {id:?}"),
        (true, false) => format!("connection {uuid}"),
        (false, false) => format!("connection {id:?} ({uuid})"),
    };
    Ok(Notify {
        interface: interface.to_owned(),
        action: action.to_owned(),
        connectivity,
        device_type,
        connection,
    })
}

/// A Linux interface name: 1..=15 bytes, no `/`, whitespace or control
/// characters (what the kernel accepts).
fn check_ifname(name: &str) -> Result<(), NotifyError> {
    let ok = name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if ok {
        Ok(())
    } else {
        Err(NotifyError(format!(
            "{name:?} is not an interface name (1 to 15 characters, no '/', ':' or spaces)"
        )))
    }
}

/// Every interface's hints.
#[derive(Debug, Default)]
pub struct HintTable {
    by_iface: BTreeMap<String, IfaceHints>,
    /// Devices NetworkManager has activated, by interface name (for the
    /// global connectivity of the hook and the foreign endpoints' origin).
    activated: Vec<String>,
    /// NetworkManager has been seen on the bus: from then on its per-device
    /// connectivity is the truth and the hook's connectivity (which may
    /// arrive late: the dispatcher runs scripts one after the other, and
    /// NetworkManager reports NONE on its way out) only triggers a re-read.
    /// Only a daemon that never sees NetworkManager's devices uses it.
    seen: bool,
}

impl HintTable {
    /// The policy's input for `iface`.
    pub fn policy_hints(&self, iface: &str) -> InterfaceHints {
        let h = self.by_iface.get(iface);
        InterfaceHints {
            metered: h.and_then(|h| h.metered).map(|s| s.value),
            connectivity: h.and_then(|h| h.connectivity).map(|s| s.value),
        }
    }

    /// NetworkManager's type for `iface`, with its source.
    pub fn device_type(&self, iface: &str) -> Option<Sourced<InterfaceType>> {
        self.by_iface.get(iface).and_then(|h| h.device_type)
    }

    /// All of `iface`'s hints, for the `Hints` property: name → (value, source).
    pub fn published(&self, iface: &str) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        if let Some(h) = self.by_iface.get(iface) {
            let mut put = |k: &str, v: Option<(String, &str)>| {
                if let Some((v, s)) = v {
                    out.insert(k.to_owned(), (v, s.to_owned()));
                }
            };
            put(
                hint::DEVICE_TYPE,
                h.device_type.map(|s| (s.value.to_string(), s.source)),
            );
            put(
                hint::METERED,
                h.metered.map(|s| (s.value.to_string(), s.source)),
            );
            put(
                hint::CONNECTIVITY,
                h.connectivity.map(|s| (s.value.to_string(), s.source)),
            );
        }
        out
    }

    /// Whether NetworkManager has activated the device `iface`.
    pub fn is_activated(&self, iface: &str) -> bool {
        self.activated.iter().any(|a| a == iface)
    }

    /// NetworkManager's full device list (on start, after it (re)appears,
    /// after a hook event). Returns one description per change.
    pub fn apply_devices(&mut self, devices: &[NmDevice]) -> Vec<String> {
        self.seen = true;
        let mut changes = Vec::new();
        let names: Vec<String> = self.by_iface.keys().cloned().collect();
        for name in names {
            if !devices.iter().any(|d| d.iface == name) {
                changes.extend(self.edit(&name, IfaceHints::forget_watcher));
            }
        }
        for d in devices {
            changes.extend(self.apply_device(d));
        }
        self.activated = devices
            .iter()
            .filter(|d| d.activated)
            .map(|d| d.iface.clone())
            .collect();
        changes
    }

    /// One device as NetworkManager reports it now.
    pub fn apply_device(&mut self, d: &NmDevice) -> Vec<String> {
        self.seen = true;
        self.activated.retain(|a| *a != d.iface);
        if d.activated {
            self.activated.push(d.iface.clone());
        }
        self.edit(&d.iface, |h| {
            h.device_type = merge_type(h.device_type, d.device_type.map(nm));
            // Metered and connectivity only count for devices it manages;
            // connectivity only while activated (it says "none" otherwise).
            h.metered = d.managed.then_some(d.metered).flatten().map(nm);
            h.connectivity = d.activated.then_some(d.connectivity).flatten().map(nm);
        })
        .into_iter()
        .collect()
    }

    /// NetworkManager left the bus: what it said no longer holds (the
    /// hook's connectivity included; the device types stay).
    pub fn forget_watcher(&mut self) -> Vec<String> {
        self.activated.clear();
        let names: Vec<String> = self.by_iface.keys().cloned().collect();
        names
            .iter()
            .filter_map(|n| self.edit(n, IfaceHints::forget_watcher))
            .collect()
    }

    /// A valid hook event. Its connectivity counts only while NetworkManager
    /// has never been seen on the bus (then a global state other than full
    /// applies to the `up_interfaces`); the device type always counts.
    pub fn apply_notify(&mut self, n: &Notify, up_interfaces: &[String]) -> Vec<String> {
        let mut changes = Vec::new();
        let connectivity = n.connectivity.filter(|_| !self.seen);
        if !n.interface.is_empty() {
            changes.extend(self.edit(&n.interface, |h| {
                if let Some(t) = n.device_type {
                    h.device_type = merge_type(h.device_type, Some(hook(t)));
                }
                match n.action.as_str() {
                    "down" | "pre-down" => {
                        if h.connectivity.is_some_and(|c| c.source == source::HOOK) {
                            h.connectivity = None;
                        }
                    }
                    _ => {
                        if let Some(c) = connectivity {
                            h.connectivity = Some(hook(c));
                        }
                    }
                }
            }));
        } else if let Some(c) = connectivity {
            // The global state is the best of all devices: when it is not
            // full, no device is.
            for t in up_interfaces {
                changes.extend(self.edit(t, |h| {
                    if c.demotes() {
                        h.connectivity = Some(hook(c));
                    } else if h.connectivity.is_some_and(|x| x.source == source::HOOK) {
                        h.connectivity = None;
                    }
                }));
            }
        }
        changes
    }

    /// Edits one interface's hints; describes the change, if any.
    fn edit(&mut self, iface: &str, f: impl FnOnce(&mut IfaceHints)) -> Option<String> {
        let before = self.by_iface.get(iface).cloned().unwrap_or_default();
        let mut after = before.clone();
        f(&mut after);
        if after == before {
            return None;
        }
        let desc = describe(iface, &before, &after);
        if after.is_empty() {
            self.by_iface.remove(iface);
        } else {
            self.by_iface.insert(iface.to_owned(), after);
        }
        Some(desc)
    }
}

fn describe(iface: &str, before: &IfaceHints, after: &IfaceHints) -> String {
    fn field<T: std::fmt::Display + PartialEq + Copy>(
        name: &str,
        b: Option<Sourced<T>>,
        a: Option<Sourced<T>>,
    ) -> Option<String> {
        (b.map(|s| s.value) != a.map(|s| s.value)).then(|| match a {
            Some(s) => format!("{name} {} ({})", s.value, s.source),
            None => format!("{name} unknown"),
        })
    }
    let parts: Vec<String> = [
        field("type", before.device_type, after.device_type),
        field("metered", before.metered, after.metered),
        field("connectivity", before.connectivity, after.connectivity),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        format!("{iface}: NetworkManager hints confirmed")
    } else {
        format!("{iface}: NetworkManager {}", parts.join(", "))
    }
}
