//! Namespace testbed, traffic tools and measurement helpers for mptcp-policyd.
//!
//! [`Testbed`] builds a "phone" (client) and a server network namespace joined
//! by two veth radios (`wlan0` 10 ms RTT, `wwan0` 40 ms RTT, delay added by the
//! `mptcp-delayer` NFQUEUE tool). Silent loss comes from nftables drop rules
//! ([`Testbed::blackhole`], [`Testbed::random_loss`]). Everything it creates
//! is removed on drop.

pub mod bins;
pub mod booted;
pub mod bus;
pub mod cgroups;
pub mod clock;
pub mod counters;
pub mod daemon_env;
pub mod demo;
pub mod fade;
pub mod handover;
pub mod health;
pub mod netns;
pub mod nm;
pub mod polkit;
pub mod preload;
pub mod process;
pub mod record;
pub mod sock;
pub mod stats;
pub mod stream;
pub mod tempdir;
pub mod testbed;
pub mod users;

pub use bus::{BusOptions, PrivateBus, SYSTEM_BUS_ENV};
pub use clock::monotonic_us;
pub use counters::{link_bytes, LinkBytes};
pub use netns::Netns;
pub use nm::{NmOpts, NmTestbed};
pub use polkit::{Authz, Polkitd};
pub use process::{ip, ns_exec, run, run_output, wait_for, BgProcess};
pub use record::Record;
pub use stream::{Direction, StreamRun};
pub use tempdir::TempDir;
pub use testbed::{Testbed, TestbedOpts};
pub use users::TestUser;
