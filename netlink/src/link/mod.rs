//! rtnetlink: links and addresses, as the daemon observes them.
//!
//! [`LinkWatch::open`] subscribes to link and address notifications *before*
//! dumping, so nothing that happens during the dump is missed; then it hands
//! out typed [`LinkEvent`]s. [`sysfs`] reads the type hints the kernel exposes
//! for an interface. No policy here: which interface counts is decided by the
//! `policy` crate.

mod decode;
pub mod sysfs;
mod types;
mod watch;

pub use decode::decode_route_datagram;
pub use types::{AddrInfo, LinkEvent, LinkInfo, LinkSnapshot};
pub use watch::{LinkCounters, LinkError, LinkWatch};
