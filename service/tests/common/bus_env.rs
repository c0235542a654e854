//! The daemon under test on a private system bus with the real polkitd (the
//! testbed crate's `DaemonEnv`), started with this package's binary.

pub use mptcp_policy_tests::daemon_env::DaemonEnv as BusEnv;

use super::daemon_bin;

/// `DaemonEnv::start` with the `mptcp-policyd` built for these tests.
pub fn start(policy: &str) -> anyhow::Result<BusEnv> {
    BusEnv::start(&daemon_bin(), policy)
}
