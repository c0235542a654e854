//! `mptcp-policyd` on a private system bus with the real polkitd, running in
//! a fresh testbed's client namespace: the setup of the D-Bus benchmark (the
//! same steps as the service tests' `BusEnv`). Field order is drop order:
//! daemon, polkitd, bus, testbed — everything stops and is removed on drop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use mptcp_policy_dbus::names::BUS_NAME;

use crate::{BgProcess, Polkitd, PrivateBus, Testbed, TestbedOpts};

/// The repository root (for the project's bus conf and polkit action file).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running daemon on its private bus; see the module doc.
pub struct DaemonEnv {
    daemon: BgProcess,
    pub polkitd: Polkitd,
    pub bus: PrivateBus,
    pub tb: Testbed,
}

impl DaemonEnv {
    /// Testbed (IPv4), bus with `dbus/org.mptcp.Policy1.conf`, polkitd with
    /// `polkit/org.mptcp.policy.policy`, and `daemon` running `policy` in the
    /// client namespace; returns once the daemon owns its bus name.
    pub fn start(daemon: &Path, policy: &str) -> Result<DaemonEnv> {
        let tb = Testbed::new(TestbedOpts {
            ipv6: false,
            ..TestbedOpts::default()
        })?;
        let bus = PrivateBus::start(&[&repo().join("dbus/org.mptcp.Policy1.conf")])?;
        let polkitd = Polkitd::start(&bus, &[&repo().join("polkit/org.mptcp.policy.policy")], &[])?;
        let config = tb.tmp_dir().join("policy.toml");
        std::fs::write(&config, policy)?;
        let state = tb.tmp_dir().join("state");
        let mut cmd = bus.command("ip");
        cmd.args(["netns", "exec", tb.client_ns()])
            .arg(daemon)
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(&state);
        let process = BgProcess::spawn("mptcp-policyd", &mut cmd, tb.tmp_dir())?;
        let env = DaemonEnv {
            daemon: process,
            polkitd,
            bus,
            tb,
        };
        env.bus
            .wait_for_name(BUS_NAME, Duration::from_secs(10))
            .with_context(|| format!("daemon log:\n{}", env.log()))?;
        Ok(env)
    }

    /// The daemon's log (stderr) so far.
    pub fn log(&self) -> String {
        self.daemon.stderr()
    }

    /// Is the daemon still running?
    pub fn daemon_alive(&mut self) -> bool {
        matches!(self.daemon.try_status(), Ok(None))
    }
}
