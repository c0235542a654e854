//! The vocabulary of `NotifyNetworkManager` and the `Hints` property,
//! shared by the daemon and the hook's client (`mptcp-policyctl notify`).
//! The words are defined once, by the pure crate that checks the hook's
//! input ([`mptcp_policy::networkmanager`]); the contract re-exports them.

pub use mptcp_policy::networkmanager::{hint, source, ACTIONS};

/// The `ForeignEndpoints` origin of an endpoint on a device NetworkManager
/// has activated.
pub const ORIGIN_NETWORKMANAGER: &str = source::NETWORKMANAGER;
