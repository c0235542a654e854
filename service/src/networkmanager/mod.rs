//! NetworkManager integration: the watcher that follows NetworkManager on
//! the system bus (device type, `Metered`, per-device connectivity, state)
//! and the table of hints per interface the engine keeps, fed by the
//! watcher and by the dispatcher hook (`NotifyNetworkManager`; the pure
//! part, parsing and the table, is `mptcp_policy::networkmanager`). Only hints
//! here: link loss is always taken from rtnetlink, never waited for from
//! NetworkManager.

mod watcher;

use std::time::Instant;

pub use mptcp_policy::networkmanager::{parse_notify, HintTable, NmDevice};
pub use watcher::{spawn, NmWatcher};

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
