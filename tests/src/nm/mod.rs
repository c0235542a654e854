//! [`NmTestbed`]: real NetworkManager managing two veth links of a test
//! namespace, as `../shared/STACK.md` describes, with everything private:
//!
//! - client namespace (NetworkManager's): `eth1` and `eth2`, veth to a server
//!   namespace (`p1` 10.31.1.1/24, `p2` 10.31.2.1/24, service address
//!   10.31.9.1 on its loopback) where dnsmasq serves DHCP (optionally with
//!   `ANDROID_METERED` per link) and `nm-check-server` answers the
//!   connectivity check (a wrong body per link or for all → PORTAL);
//! - a mount namespace (held by a `sleep` process, entered with `nsenter`)
//!   in which per-test directories are bind-mounted over
//!   `/etc/NetworkManager`, `/var/lib/NetworkManager`, `/run`,
//!   `/etc/resolv.conf` and `/usr/local/bin` (where the hook finds
//!   `mptcp-policyctl`), `/sys` is read-only (without udev NetworkManager
//!   would leave every device unmanaged), and `/run/dbus/system_bus_socket`
//!   leads to a [`PrivateBus`] with NetworkManager's, the dispatcher's and
//!   the project's bus policies, and the real polkitd on it;
//! - `NetworkManager --debug` and `nm-dispatcher --persist` started by hand
//!   in those namespaces; the daemon under test runs there too
//!   ([`NmTestbed::start_daemon`]), so it shares the bus with NetworkManager.
//!
//! Dropping it stops the daemon, the dispatcher, NetworkManager, dnsmasq,
//! the check server, the mount-namespace holder, polkitd and the bus, then
//! deletes both namespaces and the directories.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};

mod endpoint;
mod setup;

use endpoint::parse_endpoint;
pub use endpoint::Endpoint;
use setup::{build_links, nsenter, start_dnsmasq, start_holder, Dirs};

use crate::bins::find_bin;
use crate::daemon_env::repo;
use crate::process::{ip, run_output, wait_for, BgProcess};
use crate::{Netns, Polkitd, PrivateBus, TempDir, SYSTEM_BUS_ENV};

/// The server namespace's service address (MPTCP server, connectivity check).
pub const NM_SERVER: Ipv4Addr = Ipv4Addr::new(10, 31, 9, 1);
/// The links NetworkManager manages, with the server side's address.
pub const NM_LINKS: [(&str, &str, &str); 2] = [
    ("eth1", "p1", "10.31.1.1/24"),
    ("eth2", "p2", "10.31.2.1/24"),
];
/// The connectivity check's right answer.
pub const CHECK_OK: &str = "NetworkManager is online\n";

const NM_BIN: &str = "/usr/sbin/NetworkManager";
const DISPATCHER_BIN: &str = "/usr/lib/NetworkManager/nm-dispatcher";
const NM_BUS_CONF: &str = "/usr/share/dbus-1/system.d/org.freedesktop.NetworkManager.conf";
const DISPATCHER_BUS_CONF: &str = "/usr/share/dbus-1/system.d/nm-dispatcher.conf";
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);
const CMD_TIMEOUT: Duration = Duration::from_secs(30);

static NEXT: AtomicU32 = AtomicU32::new(0);

/// What to set up besides NetworkManager.
#[derive(Debug, Clone, Copy, Default)]
pub struct NmOpts {
    /// Install `networkmanager/conf.d/90-mptcp-policyd.conf`.
    pub dropin: bool,
    /// Install `networkmanager/dispatcher.d/90-mptcp-policyd` (and
    /// `mptcp-policyctl` in the namespace's `/usr/local/bin`).
    pub hook: bool,
    /// DHCP leases with `ANDROID_METERED` (option 43), per link (eth1, eth2).
    pub android_metered: [bool; 2],
}

/// See the module documentation.
pub struct NmTestbed {
    // Field order = drop order.
    daemon: Option<BgProcess>,
    daemon_runs: u32,
    dispatcher: BgProcess,
    nm: BgProcess,
    nm_runs: u32,
    check_server: BgProcess,
    dnsmasq: BgProcess,
    holder: BgProcess,
    pub polkitd: Polkitd,
    pub bus: PrivateBus,
    server: Netns,
    client: Netns,
    dir: TempDir,
}

impl NmTestbed {
    /// Builds everything and returns once NetworkManager has started up and
    /// the dispatcher is on the bus. No profile exists yet.
    pub fn start(opts: NmOpts) -> Result<NmTestbed> {
        for bin in [
            NM_BIN,
            DISPATCHER_BIN,
            "/usr/sbin/dnsmasq",
            "/usr/bin/nmcli",
        ] {
            if !Path::new(bin).exists() {
                bail!("{bin} missing: install network-manager and dnsmasq-base (scripts/install-test-deps.sh)");
            }
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("nm{}x{n}", std::process::id());
        let dir = TempDir::new(&format!("mptcp-{tag}"))?;
        let client = Netns::new(&format!("{tag}c"))?;
        let server = Netns::new(&format!("{tag}s"))?;
        build_links(client.name(), server.name())?;
        let paths = Dirs::create(dir.path(), &opts)?;

        let bus = PrivateBus::start(&[
            Path::new(NM_BUS_CONF),
            Path::new(DISPATCHER_BUS_CONF),
            &repo().join("dbus/org.mptcp.Policy1.conf"),
        ])?;
        let polkitd = Polkitd::start(&bus, &[&repo().join("polkit/org.mptcp.policy.policy")], &[])?;
        let holder = start_holder(client.name(), &paths, bus.socket_path(), dir.path())?;
        let holder_pid = holder.pid().context("holder pid")?;

        let dnsmasq = start_dnsmasq(server.name(), &opts, dir.path())?;
        let check_server = BgProcess::spawn_in_ns(
            server.name(),
            "nm-check-server",
            &find_bin("nm-check-server", "NM_CHECK_SERVER")?,
            &[
                "--addr".into(),
                format!("{NM_SERVER}:80"),
                "--body-dir".into(),
                paths.www.display().to_string(),
            ],
            dir.path(),
        )?;

        let nm = spawn_nm(holder_pid, bus.address(), dir.path(), "NetworkManager")?;
        let mut dispatcher_cmd = nsenter(holder_pid, DISPATCHER_BIN);
        dispatcher_cmd
            .args(["--persist", "--debug"])
            .env(SYSTEM_BUS_ENV, bus.address());
        let dispatcher = BgProcess::spawn("nm-dispatcher", &mut dispatcher_cmd, dir.path())?;
        let tb = NmTestbed {
            daemon: None,
            daemon_runs: 0,
            dispatcher,
            nm,
            nm_runs: 1,
            check_server,
            dnsmasq,
            holder,
            polkitd,
            bus,
            server,
            client,
            dir,
        };
        tb.wait_nm_started()?;
        tb.bus
            .wait_for_name("org.freedesktop.nm_dispatcher", START_TIMEOUT)?;
        wait_for("eth1 and eth2 managed", START_TIMEOUT, || {
            let out = tb.nmcli(&["-t", "-f", "DEVICE,STATE", "device"])?;
            Ok(NM_LINKS.iter().all(|(ifname, _, _)| {
                out.lines().any(|l| {
                    l.strip_prefix(&format!("{ifname}:"))
                        .is_some_and(|s| s != "unmanaged")
                })
            }))
        })?;
        Ok(tb)
    }

    fn wait_nm_started(&self) -> Result<()> {
        let started = wait_for("NetworkManager to start up", START_TIMEOUT, || {
            Ok(self
                .nmcli(&["-t", "-f", "STARTUP", "general"])
                .is_ok_and(|s| s.trim() == "started"))
        });
        if let Err(e) = started {
            let tail = self.nm_stderr_tail();
            bail!("{e}: NetworkManager log tail:\n{tail}");
        }
        Ok(())
    }

    /// Stops NetworkManager (SIGTERM: it leaves the links configured) and
    /// waits until its name is gone from the bus.
    pub fn stop_nm(&mut self) -> Result<()> {
        self.nm.stop();
        wait_for("NetworkManager to leave the bus", START_TIMEOUT, || {
            Ok(!self.bus.has_owner("org.freedesktop.NetworkManager")?)
        })
    }

    /// Starts NetworkManager again (after [`NmTestbed::stop_nm`]) and waits
    /// until it has started up.
    pub fn restart_nm(&mut self) -> Result<()> {
        self.nm_runs += 1;
        let pid = self.holder.pid().context("holder pid")?;
        let name = format!("NetworkManager-{}", self.nm_runs);
        self.nm = spawn_nm(pid, self.bus.address(), self.dir.path(), &name)?;
        self.wait_nm_started()
    }

    /// The NetworkManager namespace (the daemon's).
    pub fn client_ns(&self) -> &str {
        self.client.name()
    }

    /// The server namespace (DHCP, check server, MPTCP server).
    pub fn server_ns(&self) -> &str {
        self.server.name()
    }

    /// A scratch directory removed on drop.
    pub fn tmp_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A command running `program` in NetworkManager's network and mount
    /// namespaces (so it sees the private bus at the default address).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let pid = self.holder.pid().unwrap_or(0);
        nsenter(pid, program)
    }

    /// Runs `program args` there; its stdout, or an error with its output.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = run_output(self.command(program).args(args), CMD_TIMEOUT)?;
        if !out.status.success() {
            bail!(
                "{program} {args:?}: {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `nmcli args…` against this NetworkManager.
    pub fn nmcli(&self, args: &[&str]) -> Result<String> {
        self.exec("nmcli", args)
    }

    /// An ethernet profile `name` for `ifname`: DHCPv4, no IPv6, no
    /// autoconnect, `ipv4.route-metric` 100 for eth1 and 200 for eth2, plus
    /// `extra` settings (`["connection.metered", "yes"]`).
    pub fn add_profile(&self, name: &str, ifname: &str, extra: &[&str]) -> Result<()> {
        let metric = if ifname == "eth1" { "100" } else { "200" };
        let mut args = vec![
            "connection",
            "add",
            "type",
            "ethernet",
            "ifname",
            ifname,
            "con-name",
            name,
            "autoconnect",
            "no",
            "ipv4.method",
            "auto",
            "ipv4.route-metric",
            metric,
            "ipv6.method",
            "disabled",
        ];
        args.extend_from_slice(extra);
        self.nmcli(&args).map(drop)
    }

    /// `nmcli connection up NAME` (waits for activation).
    pub fn up(&self, name: &str) -> Result<()> {
        self.nmcli(&["--wait", "30", "connection", "up", name])
            .map(drop)
    }

    /// The link's IPv4 address, once it has one.
    pub fn addr_of(&self, ifname: &str) -> Result<Option<Ipv4Addr>> {
        let out = ip(&[
            "-n",
            self.client_ns(),
            "-4",
            "-o",
            "addr",
            "show",
            "dev",
            ifname,
        ])?;
        Ok(out
            .split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)
            .and_then(|a| a.split('/').next().and_then(|a| a.parse().ok())))
    }

    /// Waits until `ifname` has an IPv4 address.
    pub fn wait_addr(&self, ifname: &str) -> Result<Ipv4Addr> {
        let mut found = None;
        wait_for(&format!("an address on {ifname}"), START_TIMEOUT, || {
            found = self.addr_of(ifname)?;
            Ok(found.is_some())
        })?;
        found.context("address")
    }

    /// The connectivity check's answer: for every link (`None`) or only for
    /// clients of `link` (`Some("eth1")`). Takes effect at the next check.
    pub fn set_check_body(&self, link: Option<&str>, body: &str) -> Result<()> {
        let www = self.dir.join("www");
        let file = match link {
            None => www.join("default.body"),
            Some(l) => {
                let i = NM_LINKS
                    .iter()
                    .position(|(n, _, _)| *n == l)
                    .with_context(|| format!("no link {l}"))?;
                www.join(format!("10.31.{}.body", i + 1))
            }
        };
        std::fs::write(&file, body).with_context(|| format!("writing {}", file.display()))
    }

    /// `nmcli networking connectivity check`: NetworkManager checks now and
    /// prints the global state (`full`, `portal`, ...).
    pub fn check_connectivity(&self) -> Result<String> {
        Ok(self
            .nmcli(&["networking", "connectivity", "check"])?
            .trim()
            .to_string())
    }

    /// The kernel's MPTCP endpoints in the client namespace.
    pub fn endpoints(&self) -> Result<Vec<Endpoint>> {
        let out = ip(&["-n", self.client_ns(), "mptcp", "endpoint", "show"])?;
        Ok(out.lines().filter_map(parse_endpoint).collect())
    }

    /// Waits (at most `timeout`) until `cond` holds for the endpoints.
    pub fn wait_endpoints(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&[Endpoint]) -> bool,
    ) -> Result<Vec<Endpoint>> {
        let mut last = Vec::new();
        let r = wait_for(what, timeout, || {
            last = self.endpoints()?;
            Ok(cond(&last))
        });
        r.with_context(|| format!("endpoints: {last:?}"))?;
        Ok(last)
    }

    /// Starts `daemon` with `policy` in NetworkManager's namespaces (same
    /// bus); returns once it owns `org.mptcp.Policy1`.
    pub fn start_daemon(&mut self, daemon: &Path, policy: &str) -> Result<()> {
        let config = self.dir.join("policy.toml");
        std::fs::write(&config, policy)?;
        let state = self.dir.join("state");
        std::fs::create_dir_all(&state)?;
        self.daemon_runs += 1;
        let mut cmd = self.command(daemon);
        cmd.arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(&state)
            .env(SYSTEM_BUS_ENV, self.bus.address())
            .env(
                "MPTCP_POLICYD_LOG",
                std::env::var("MPTCP_POLICYD_TEST_LOG").unwrap_or_else(|_| "info".into()),
            );
        let name = format!("mptcp-policyd-{}", self.daemon_runs);
        let mut p = BgProcess::spawn(&name, &mut cmd, self.dir.path())?;
        let owned = wait_for("the daemon on the bus", START_TIMEOUT, || {
            if let Some(st) = p.try_status()? {
                bail!("mptcp-policyd exited ({st}): {}", p.stderr());
            }
            self.bus.has_owner(mptcp_policy_dbus::names::BUS_NAME)
        });
        self.daemon = Some(p);
        owned
    }

    /// SIGTERM to the daemon and wait for it to exit.
    pub fn stop_daemon(&mut self) -> Result<()> {
        if let Some(mut p) = self.daemon.take() {
            p.stop();
            let _ = p.wait(Duration::from_secs(10));
        }
        Ok(())
    }

    /// The daemon's log (stderr) of its last run.
    pub fn daemon_log(&self) -> String {
        self.daemon
            .as_ref()
            .map(BgProcess::stderr)
            .unwrap_or_default()
    }

    /// Waits until the daemon's log contains `needle`.
    pub fn wait_daemon_log(&self, needle: &str, timeout: Duration) -> Result<()> {
        wait_for(&format!("daemon log line {needle:?}"), timeout, || {
            Ok(self.daemon_log().contains(needle))
        })
        .with_context(|| format!("daemon log:\n{}", self.daemon_log()))
    }

    /// The dispatcher's log (it names every script it runs).
    pub fn dispatcher_log(&self) -> String {
        self.dispatcher.stderr() + &self.dispatcher.stdout()
    }

    /// The last lines of NetworkManager's log.
    pub fn nm_stderr_tail(&self) -> String {
        let log = self.nm.stderr();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The installed hook inside the namespace.
    pub fn hook_path(&self) -> &'static str {
        "/etc/NetworkManager/dispatcher.d/90-mptcp-policyd"
    }

    /// Whether the dnsmasq and check server still run (for diagnostics).
    pub fn helpers_alive(&mut self) -> bool {
        matches!(self.dnsmasq.try_status(), Ok(None))
            && matches!(self.check_server.try_status(), Ok(None))
    }
}

/// `NetworkManager --debug` in the namespaces of the holder `pid`.
fn spawn_nm(pid: u32, bus: &str, log_dir: &Path, name: &str) -> Result<BgProcess> {
    let mut cmd = nsenter(pid, NM_BIN);
    cmd.args([
        "--debug",
        "--pid-file=/run/NetworkManager/NetworkManager.pid",
    ])
    .env(SYSTEM_BUS_ENV, bus);
    BgProcess::spawn(name, &mut cmd, log_dir)
}
