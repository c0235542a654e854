//! `mptcp-policyd` on a private system bus with the real polkitd, running in
//! a fresh testbed's client namespace: the setup of the D-Bus end-to-end
//! tests and of the D-Bus benchmark. Field order is drop order: daemon,
//! polkitd, bus, testbed — everything stops and is removed on drop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use mptcp_policy_dbus::names::{interface_path, BUS_NAME};
use mptcp_policy_dbus::{InterfaceProxy, ManagerProxy};

use crate::{BgProcess, Polkitd, PrivateBus, Testbed, TestbedOpts};

/// The repository root (for the project's bus conf and polkit action file).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running daemon on its private bus; see the module doc.
pub struct DaemonEnv {
    daemon: Option<BgProcess>,
    pub polkitd: Polkitd,
    pub bus: PrivateBus,
    pub tb: Testbed,
    /// The daemon's `--config` file and `--state-dir`.
    pub config: PathBuf,
    pub state: PathBuf,
    binary: PathBuf,
    /// More daemon arguments (after --config and --state-dir).
    args: Vec<std::ffi::OsString>,
    runs: u32,
    /// The log of the last run that ended (stop/kill), for checks of what
    /// the daemon said on its way out.
    last_log: String,
}

impl DaemonEnv {
    /// Testbed (IPv4), bus with `dbus/org.mptcp.Policy1.conf`, polkitd with
    /// `polkit/org.mptcp.policy.policy`, and `daemon` running `policy` in the
    /// client namespace; returns once the daemon owns its bus name.
    pub fn start(daemon: &Path, policy: &str) -> Result<DaemonEnv> {
        Self::start_with(
            daemon,
            policy,
            TestbedOpts {
                ipv6: false,
                ..TestbedOpts::default()
            },
        )
    }

    /// Like [`DaemonEnv::start`] with a testbed built from `opts`.
    pub fn start_with(daemon: &Path, policy: &str, opts: TestbedOpts) -> Result<DaemonEnv> {
        Self::start_with_args(daemon, policy, opts, &[])
    }

    /// Like [`DaemonEnv::start_with`], passing `args` to the daemon too.
    pub fn start_with_args(
        daemon: &Path,
        policy: &str,
        opts: TestbedOpts,
        args: &[&std::ffi::OsStr],
    ) -> Result<DaemonEnv> {
        let tb = Testbed::new(opts)?;
        let bus = PrivateBus::start(&[&repo().join("dbus/org.mptcp.Policy1.conf")])?;
        let polkitd = Polkitd::start(&bus, &[&repo().join("polkit/org.mptcp.policy.policy")], &[])?;
        let config = tb.tmp_dir().join("policy.toml");
        std::fs::write(&config, policy)?;
        let state = tb.tmp_dir().join("state");
        let mut env = DaemonEnv {
            daemon: None,
            polkitd,
            bus,
            tb,
            config,
            state,
            binary: daemon.to_path_buf(),
            args: args.iter().map(|a| a.to_os_string()).collect(),
            runs: 0,
            last_log: String::new(),
        };
        env.start_daemon()?;
        Ok(env)
    }

    /// Starts the daemon (again: same config and state) and waits until it
    /// owns its bus name.
    pub fn start_daemon(&mut self) -> Result<()> {
        self.runs += 1;
        let mut cmd = self.bus.command("ip");
        cmd.args(["netns", "exec", self.tb.client_ns()])
            .arg(&self.binary)
            .arg("--config")
            .arg(&self.config)
            .arg("--state-dir")
            .arg(&self.state)
            .args(&self.args);
        let name = format!("mptcp-policyd-{}", self.runs);
        self.daemon = Some(BgProcess::spawn(&name, &mut cmd, self.tb.tmp_dir())?);
        self.bus
            .wait_for_name(BUS_NAME, Duration::from_secs(10))
            .with_context(|| format!("daemon log:\n{}", self.log()))
    }

    /// SIGTERM, wait for a clean exit and for the bus name to be released.
    pub fn stop_daemon(&mut self) -> Result<()> {
        if let Some(mut d) = self.daemon.take() {
            let pid = d.pid().context("no pid")?;
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            let result = d.wait_success(Duration::from_secs(10));
            self.last_log = d.stderr();
            result?;
        }
        crate::wait_for("name released", Duration::from_secs(5), || {
            Ok(!self.bus.has_owner(BUS_NAME)?)
        })
    }

    /// SIGKILL: no chance to save anything.
    pub fn kill_daemon(&mut self) -> Result<()> {
        if let Some(mut d) = self.daemon.take() {
            let pid = d.pid().context("no pid")?;
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let result = d.wait(Duration::from_secs(10));
            self.last_log = d.stderr();
            result?;
        }
        crate::wait_for("name released", Duration::from_secs(5), || {
            Ok(!self.bus.has_owner(BUS_NAME)?)
        })
    }

    /// The current daemon run's log (stderr) so far; once it was stopped or
    /// killed, that run's whole log.
    pub fn log(&self) -> String {
        match &self.daemon {
            Some(d) => d.stderr(),
            None => self.last_log.clone(),
        }
    }

    /// Is the daemon still running?
    pub fn daemon_alive(&mut self) -> bool {
        self.daemon
            .as_mut()
            .is_some_and(|d| matches!(d.try_status(), Ok(None)))
    }

    /// Runs `f` with a manager proxy on a fresh root connection.
    pub fn manager<T>(&self, f: impl AsyncFnOnce(&ManagerProxy<'_>) -> T) -> Result<T> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let conn = self.bus.connect().await?;
            let m = ManagerProxy::new(&conn).await?;
            Ok(f(&m).await)
        })
    }

    /// Runs `f` with the proxy of interface object `ifname` on a fresh root
    /// connection.
    pub fn interface<T>(
        &self,
        ifname: &str,
        f: impl AsyncFnOnce(&InterfaceProxy<'_>) -> T,
    ) -> Result<T> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let conn = self.bus.connect().await?;
            let p = InterfaceProxy::builder(&conn)
                .path(interface_path(ifname))
                .build()
                .await?;
            Ok(f(&p).await)
        })
    }

    /// The state directory's files and contents (to prove "unchanged").
    pub fn state_files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&self.state)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| {
                        let p = e.path();
                        (
                            p.display().to_string(),
                            std::fs::read(&p).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}
