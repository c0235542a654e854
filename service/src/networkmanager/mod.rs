//! NetworkManager integration: the watcher that follows NetworkManager on
//! the system bus (device type, `Metered`, per-device connectivity, state)
//! and the table of hints per interface the engine keeps, fed by the
//! watcher and by the dispatcher hook (`NotifyNetworkManager`). Only hints
//! here: link loss is always taken from rtnetlink, never waited for from
//! NetworkManager.

mod hints;
mod watcher;

use std::time::Instant;

use mptcp_policy::{Connectivity, InterfaceType, NmMetered};

pub use hints::{parse_notify, HintTable};
pub use watcher::{spawn, NmWatcher};

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

/// What the watcher tells the engine.
#[derive(Debug)]
pub enum NmEvent {
    /// Every device (NetworkManager appeared, a device came or went, a
    /// refresh was asked for).
    Devices {
        devices: Vec<NmDevice>,
        at: Instant,
        why: String,
    },
    /// One device changed (`PropertiesChanged`/`StateChanged`).
    Device {
        device: NmDevice,
        at: Instant,
        why: String,
    },
    /// NetworkManager left the bus.
    Gone,
}
