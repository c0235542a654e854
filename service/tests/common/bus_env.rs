//! The daemon under test on a private system bus with the real polkitd (the
//! testbed crate's `DaemonEnv`), started with this package's binary.

pub use mptcp_policy_tests::daemon_env::DaemonEnv as BusEnv;

use super::daemon_bin;

/// `DaemonEnv::start` with the `mptcp-policyd` built for these tests.
pub fn start(policy: &str) -> anyhow::Result<BusEnv> {
    BusEnv::start(&daemon_bin(), policy)
}

/// `DaemonEnv::start_with`: a testbed built from `opts`.
#[allow(dead_code)] // not every test binary uses it
pub fn start_with(policy: &str, opts: mptcp_policy_tests::TestbedOpts) -> anyhow::Result<BusEnv> {
    BusEnv::start_with(&daemon_bin(), policy, opts)
}
