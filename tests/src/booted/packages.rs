//! The packages under test and the system they are installed on: finds the
//! `.deb` files scripts/package.sh wrote, boots a container inside a
//! testbed's phone namespace and installs them with apt, the way an
//! administrator would.

use super::{rootfs, Container};
use crate::testbed::{Testbed, TestbedOpts};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The daemon's system user (systemd/mptcp-policyd.sysusers).
pub const SERVICE_USER: &str = "mptcp-policyd";
/// The unit.
pub const UNIT: &str = "mptcp-policyd.service";

/// Where scripts/package.sh put the packages: `$MPTCP_DEB_DIR`, else the
/// workspace's `target/debian/`.
pub fn deb_dir() -> PathBuf {
    std::env::var_os("MPTCP_DEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/debian"))
}

/// The repository root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The newest `NAME_*.deb` in [`deb_dir`].
pub fn deb(name: &str) -> Result<PathBuf> {
    let dir = deb_dir();
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| {
            format!(
                "no packages in {} (scripts/test.sh builds them with scripts/package.sh)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{name}_")) && n.ends_with(".deb"))
        })
        .collect();
    found.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    found.pop().with_context(|| {
        format!(
            "{name}_*.deb missing in {} (run scripts/package.sh)",
            dir.display()
        )
    })
}

/// A booted Debian inside the phone namespace of a WiFi/LTE testbed, with
/// the packages copied to `/root/pkgs` (not yet installed).
#[derive(Debug)]
pub struct System {
    // Drop order: the container (powered off) before its namespace goes.
    pub container: Container,
    pub testbed: Testbed,
}

impl System {
    /// Testbed (IPv4 only) + booted container named `name`.
    pub fn boot(name: &str) -> Result<System> {
        let tar = rootfs::tarball()?;
        let testbed = Testbed::new(TestbedOpts {
            ipv6: false,
            ..TestbedOpts::default()
        })?;
        let container = Container::boot(&tar, testbed.client_ns(), name)?;
        let pkgs = container.root().join("root/pkgs");
        std::fs::create_dir_all(&pkgs)?;
        for name in ["mptcp-policyd", "mptcp-policy-panel"] {
            let src = deb(name)?;
            let file = src.file_name().context("package file name")?;
            std::fs::copy(&src, pkgs.join(file))
                .with_context(|| format!("copying {}", src.display()))?;
        }
        Ok(System { container, testbed })
    }

    /// `apt-get install` of the given packages from /root/pkgs (their
    /// dependencies are in the root already: no network needed).
    pub fn install(&self, names: &[&str]) -> Result<String> {
        let files: Vec<String> = names
            .iter()
            .map(|n| format!("/root/pkgs/{n}_*.deb"))
            .collect();
        self.apt(&format!(
            "install -y --no-install-recommends {}",
            files.join(" ")
        ))
    }

    /// `apt-get ARGS` inside, non-interactive; stdout + stderr on success.
    pub fn apt(&self, args: &str) -> Result<String> {
        let out = self.container.exec_timeout(
            &[
                "sh",
                "-c",
                &format!("DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 {args} 2>&1"),
            ],
            Duration::from_secs(300),
        )?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!("apt-get {args} failed ({}):\n{text}", out.status);
        }
        Ok(text)
    }

    /// `ip mptcp endpoint show` of the phone (the container's kernel view).
    pub fn endpoints(&self) -> Result<String> {
        crate::process::ip(&["-n", self.testbed.client_ns(), "mptcp", "endpoint", "show"])
    }

    /// Waits until the endpoint list satisfies `cond`.
    pub fn wait_endpoints(&self, what: &str, cond: impl Fn(&str) -> bool) -> Result<String> {
        crate::process::wait_for(what, Duration::from_secs(15), || {
            Ok(cond(&self.endpoints()?))
        })
        .with_context(|| {
            format!(
                "endpoints now:\n{}\njournal:\n{}",
                self.endpoints().unwrap_or_default(),
                self.container.journal(Some(UNIT))
            )
        })?;
        self.endpoints()
    }

    /// `systemctl is-active UNIT` (`active`, `inactive`, `failed`, ...).
    pub fn unit_state(&self) -> Result<String> {
        let out = self.container.exec(&["systemctl", "is-active", UNIT])?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The service's main pid inside the container (0 when not running).
    pub fn main_pid(&self) -> Result<u32> {
        let pid = self
            .container
            .ok(&["systemctl", "show", "-p", "MainPID", "--value", UNIT])?;
        pid.trim().parse().context("MainPID")
    }
}

/// The line of `ip mptcp endpoint show` for `addr`, if any.
pub fn endpoint_line<'a>(list: &'a str, addr: &str) -> Option<&'a str> {
    list.lines()
        .find(|l| l.split_whitespace().next() == Some(addr))
}

/// Runs `body` on the system; when it fails or panics, the journal (all of
/// it, or `unit`'s) is printed first, so the failure explains itself.
pub fn with_journal_on_failure(
    sys: &System,
    unit: Option<&str>,
    body: impl FnOnce(&System) -> Result<()>,
) {
    struct Guard<'a>(&'a System, Option<&'a str>);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!(
                    "--- journal ({}) ---\n{}\n--- bus and daemon now ---\n{}",
                    self.1.unwrap_or("system"),
                    self.0.container.journal(self.1),
                    self.0.container.bus_state()
                );
            }
        }
    }
    let _guard = Guard(sys, unit);
    if let Err(e) = body(sys) {
        panic!("{e:#}");
    }
}
