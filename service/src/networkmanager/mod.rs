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

#[cfg(test)]
mod tests {
    /// The pure crate keeps its own copy of the hook's words (it depends on
    /// no D-Bus code); they must stay the contract's.
    #[test]
    fn the_hook_vocabulary_is_the_contracts() {
        use mptcp_policy::networkmanager as pure;
        use mptcp_policy_dbus::networkmanager as contract;
        assert_eq!(pure::ACTIONS, contract::ACTIONS);
        assert_eq!(pure::hint::ALL, contract::hint::ALL);
        assert_eq!(pure::hint::METERED, contract::hint::METERED);
        assert_eq!(
            pure::source::NETWORKMANAGER,
            contract::source::NETWORKMANAGER
        );
        assert_eq!(pure::source::HOOK, contract::source::HOOK);
    }
}
