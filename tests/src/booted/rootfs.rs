//! The container's root file system: a minbase Debian 12 made by mmdebstrap
//! from the machine's own apt sources, with what the packages under test
//! need to run (so `apt install ./pkg.deb` inside needs no network) and the
//! services the tests use. Built once (~50 s) and cached as a tarball keyed
//! by its recipe; later runs only unpack it (~3 s).

use crate::process::run_output;
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Packages of the root file system: a booted systemd with logind, the bus
/// and polkitd; the run-time libraries of both packages (the panel's GTK 4
/// and libadwaita too); NetworkManager for the hook test; Debian's mptcpd
/// for the benchmark beside it.
pub const PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "polkitd",
    "libpam-systemd",
    "iproute2",
    "procps",
    "libelf1",
    "zlib1g",
    "network-manager",
    "mptcpd",
    "mptcpd-plugins",
    "libgtk-4-1",
    "libadwaita-1-0",
];

/// Services that come enabled with their packages but would act on the
/// test's links before the test wants them: each test starts what it uses.
const DISABLED: &[&str] = &["mptcp.service", "NetworkManager.service"];

const SUITE: &str = "bookworm";
const SOURCES: &str = "/etc/apt/sources.list.d/debian.sources";

/// The cache directory: `$MPTCP_TEST_CACHE`, else
/// `/var/cache/mptcp-policyd-tests` (the tests' own, never the daemon's).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("MPTCP_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/mptcp-policyd-tests"))
}

/// The cached root tarball, made now if missing. Concurrent callers (test
/// threads, test binaries) wait on a lock file instead of building twice.
pub fn tarball() -> Result<PathBuf> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tar = dir.join(format!("rootfs-{SUITE}-{:016x}.tar", recipe_hash()));
    let lock = File::create(dir.join("rootfs.lock")).context("creating the cache lock")?;
    // SAFETY: flock(2) on a file descriptor we own; released when `lock` drops.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        bail!("cannot lock {}", dir.join("rootfs.lock").display());
    }
    if tar.exists() {
        return Ok(tar);
    }
    let partial = tar.with_extension("tar.partial");
    let hook = format!(
        "chroot \"$1\" systemctl disable {} >/dev/null 2>&1",
        DISABLED.join(" ")
    );
    let out = run_output(
        Command::new("mmdebstrap")
            .args(["--variant=minbase", "--format=tar", "--quiet"])
            .arg(format!("--include={}", PACKAGES.join(",")))
            .arg(format!("--customize-hook={hook}"))
            .arg(SUITE)
            .arg(&partial)
            .arg(SOURCES),
        Duration::from_secs(600),
    )
    .context("running mmdebstrap (apt-get install mmdebstrap)")?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "mmdebstrap failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::rename(&partial, &tar).context("storing the root tarball")?;
    Ok(tar)
}

/// Changes with the recipe, so a changed package list makes a new tarball.
fn recipe_hash() -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (SUITE, PACKAGES, DISABLED).hash(&mut h);
    h.finish()
}
