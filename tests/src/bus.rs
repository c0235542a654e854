//! A private, system-like `dbus-daemon` for tests (no systemd, no activation).
//!
//! The bus has `<type>system</type>`, EXTERNAL auth only, the default
//! deny/allow policy of Debian's system bus and includes polkit's bus policy
//! plus any extra configuration files (e.g. the project's
//! `dbus/org.mptcp.Policy1.conf`). It listens on a world-connectable unix
//! socket in a temp dir, so unprivileged test users can connect. Clients find
//! it through [`SYSTEM_BUS_ENV`] = [`PrivateBus::address`].
//!
//! There is no D-Bus activation on this bus: start every service yourself
//! (polkitd first, see [`crate::polkit::Polkitd`]), or callers get
//! `ServiceUnknown`.

use crate::process::{run, wait_for, BgProcess, CMD_TIMEOUT};
use crate::tempdir::TempDir;
use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Environment variable through which clients (zbus, busctl, the daemon) find the bus.
pub const SYSTEM_BUS_ENV: &str = "DBUS_SYSTEM_BUS_ADDRESS";
/// polkit's bus policy (lets the `polkitd` user own `org.freedesktop.PolicyKit1`).
pub const POLKIT_BUS_CONF: &str = "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf";
/// How long `start` waits for the daemon to listen.
pub const BUS_START_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for [`PrivateBus::start_with`].
#[derive(Debug, Default, Clone)]
pub struct BusOptions<'a> {
    /// Extra `<include>`d bus configuration files (absolute paths).
    pub conf_files: &'a [&'a Path],
    /// Add `<policy user="root"><allow own="*"/></policy>`: root may own any
    /// name (only for tests whose service conf does not grant it).
    pub root_may_own_any: bool,
}

/// A running private system-like bus. Dropping it kills and reaps the
/// daemon and removes its directory (socket, config, logs).
#[derive(Debug)]
pub struct PrivateBus {
    // Field order = drop order: the daemon goes before its directory.
    daemon: BgProcess,
    address: String,
    socket: PathBuf,
    dir: TempDir,
}

impl PrivateBus {
    /// Start a bus that `<include>`s polkit's policy and each of `extra_conf_files`.
    pub fn start(extra_conf_files: &[&Path]) -> Result<Self> {
        Self::start_with(&BusOptions {
            conf_files: extra_conf_files,
            ..BusOptions::default()
        })
    }

    /// Start a bus with [`BusOptions`].
    pub fn start_with(opts: &BusOptions<'_>) -> Result<Self> {
        let dir = TempDir::new("mptcp-bus")?;
        set_mode(dir.path(), 0o755)?;
        let socket = dir.join("system_bus_socket");
        let mut includes = vec![PathBuf::from(POLKIT_BUS_CONF)];
        for c in opts.conf_files {
            let abs = std::fs::canonicalize(c)
                .with_context(|| format!("bus config file {}", c.display()))?;
            includes.push(abs);
        }
        let conf = bus_config(&socket, &includes, opts.root_may_own_any)?;
        let conf_path = dir.join("bus.conf");
        std::fs::write(&conf_path, conf).context("writing bus.conf")?;

        let mut cmd = Command::new("dbus-daemon");
        cmd.arg(format!("--config-file={}", conf_path.display()))
            .args(["--nofork", "--print-address"]);
        let mut daemon = BgProcess::spawn("dbus-daemon", &mut cmd, dir.path())?;
        let address = format!("unix:path={}", socket.display());
        // `--print-address` prints once the socket listens.
        wait_for("dbus-daemon to listen", BUS_START_TIMEOUT, || {
            if let Some(st) = daemon.try_status()? {
                bail!("dbus-daemon exited ({st}): {}", daemon.stderr().trim());
            }
            Ok(daemon.stdout().contains('\n') && socket.exists())
        })?;
        Ok(Self {
            daemon,
            address,
            socket,
            dir,
        })
    }

    /// `unix:path=…`: the value for [`SYSTEM_BUS_ENV`].
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The bus socket.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The bus's temp dir (config, logs); removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `dbus-daemon`'s stderr so far (policy rejections are logged here).
    pub fn log(&self) -> String {
        self.daemon.stderr()
    }

    /// PID of the dbus-daemon.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// A `Command` for `program` with [`SYSTEM_BUS_ENV`] pointing at this bus
    /// (and the session bus variable removed).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env(SYSTEM_BUS_ENV, &self.address)
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        cmd
    }

    /// `busctl --address=… args…` with the default timeout; returns stdout.
    pub fn busctl(&self, args: &[&str]) -> Result<String> {
        let addr = format!("--address={}", self.address);
        let mut full = vec![addr.as_str()];
        full.extend_from_slice(args);
        run("busctl", &full, CMD_TIMEOUT)
    }

    /// Whether `name` currently has an owner on the bus (asked over a
    /// fresh zbus connection; no `busctl` needed).
    pub fn has_owner(&self, name: &str) -> Result<bool> {
        zbus::block_on(async {
            let conn = self
                .connect()
                .await
                .context("connecting to the private bus")?;
            let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
            let name = zbus::names::BusName::try_from(name)
                .with_context(|| format!("invalid bus name {name:?}"))?;
            Ok(dbus.name_has_owner(name).await?)
        })
    }

    /// Poll until `name` has an owner (at most `timeout`).
    pub fn wait_for_name(&self, name: &str, timeout: Duration) -> Result<()> {
        wait_for(&format!("{name} on the private bus"), timeout, || {
            self.has_owner(name)
        })
    }

    /// A zbus connection to this bus (as the current user).
    pub async fn connect(&self) -> zbus::Result<zbus::Connection> {
        zbus::connection::Builder::address(self.address.as_str())
            .build()
            .await
    }
}

/// The bus configuration text.
fn bus_config(socket: &Path, includes: &[PathBuf], root_may_own_any: bool) -> Result<String> {
    let sock = socket.to_str().context("socket path is not UTF-8")?;
    let mut s = String::new();
    s.push_str(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
"#,
    );
    let _ = writeln!(s, "  <listen>unix:path={}</listen>", xml_escape(sock));
    // The default policy of Debian 12's /usr/share/dbus-1/system.conf.
    s.push_str(
        r#"  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Containers1"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
"#,
    );
    if root_may_own_any {
        s.push_str("  <policy user=\"root\">\n    <allow own=\"*\"/>\n  </policy>\n");
    }
    for inc in includes {
        let p = inc.to_str().context("include path is not UTF-8")?;
        let _ = writeln!(s, "  <include>{}</include>", xml_escape(p));
    }
    s.push_str("</busconfig>\n");
    Ok(s)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// `chmod mode path`.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_includes_polkit_and_extras_escaped() {
        let c = bus_config(
            Path::new("/tmp/x/sock"),
            &[PathBuf::from(POLKIT_BUS_CONF), PathBuf::from("/a&b.conf")],
            true,
        )
        .expect("config");
        assert!(c.contains("<type>system</type>"));
        assert!(c.contains("<listen>unix:path=/tmp/x/sock</listen>"));
        assert!(c.contains(&format!("<include>{POLKIT_BUS_CONF}</include>")));
        assert!(c.contains("<include>/a&amp;b.conf</include>"));
        assert!(c.contains("<allow own=\"*\"/>"));
    }
}
