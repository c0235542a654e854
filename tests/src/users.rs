//! Throw-away unprivileged system users for authorization tests (needs root).
//!
//! [`TestUser::create`] runs `useradd --system --no-create-home`; the user is
//! deleted (`userdel`, which also drops it from every group and removes its
//! private group) when the guard drops. Names are `<prefix>-<pid>-<n>`, so
//! parallel tests and test binaries don't clash; users left behind by a
//! killed test process (its pid gone) are removed by the next `create` with
//! the same prefix.

use crate::bus::{set_mode, PrivateBus, SYSTEM_BUS_ENV};
use crate::process::{run, run_output, CMD_TIMEOUT};
use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// GECOS comment that marks users made here (only those are ever cleaned up).
const GECOS: &str = "mptcp-policy test user";

/// An unprivileged system user, deleted on drop.
#[derive(Debug)]
pub struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl TestUser {
    /// Create `<prefix>-<pid>-<n>` (prefix: lowercase letters/digits, at
    /// most 12, starting with a letter; others are replaced).
    pub fn create(prefix: &str) -> Result<Self> {
        let prefix = sanitize_prefix(prefix);
        remove_stale(&prefix);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        shadow_tool(
            "useradd",
            &[
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                GECOS,
                &name,
            ],
        )?;
        // From here on the guard owns the user: a failure below deletes it.
        let mut user = Self {
            name,
            uid: 0,
            gid: 0,
        };
        user.uid = id_number(&user.name, "-u")?;
        user.gid = id_number(&user.name, "-g")?;
        if user.uid == 0 {
            bail!("{} got uid 0", user.name);
        }
        Ok(user)
    }

    /// The user name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The uid.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The primary gid (the user's private group).
    pub fn gid(&self) -> u32 {
        self.gid
    }

    /// Add the user to `group`, creating the group if needed (`groupadd -f`;
    /// a group created here is left on the host). Takes effect for commands
    /// started afterwards, and for polkit at once (it looks groups up itself).
    pub fn add_to_group(&self, group: &str) -> Result<()> {
        shadow_tool("groupadd", &["-f", "-r", group])?;
        shadow_tool("usermod", &["-aG", group, &self.name])
    }

    /// Remove the user from supplementary `group`.
    pub fn remove_from_group(&self, group: &str) -> Result<()> {
        shadow_tool("gpasswd", &["-d", &self.name, group])
    }

    /// Names of the user's groups (`id -nG`).
    pub fn groups(&self) -> Result<Vec<String>> {
        Ok(run("id", &["-nG", &self.name], CMD_TIMEOUT)?
            .split_whitespace()
            .map(str::to_string)
            .collect())
    }

    /// A `Command` running `program` as this user: `setpriv --reuid --regid
    /// --init-groups -- program` (supplementary groups from /etc/group at
    /// spawn time), working directory `/`, `USER`/`LOGNAME`/`HOME` set.
    /// `program` must be executable by the user: see [`stage_executable`].
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--init-groups")
            .arg("--")
            .arg(program)
            .current_dir("/")
            .env("USER", &self.name)
            .env("LOGNAME", &self.name)
            .env("HOME", "/nonexistent");
        cmd
    }

    /// [`command`](Self::command) with [`SYSTEM_BUS_ENV`] set to `bus`.
    pub fn bus_command(&self, bus: &PrivateBus, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = self.command(program);
        cmd.env(SYSTEM_BUS_ENV, bus.address())
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        cmd
    }

    /// Run `program args…` as this user on `bus` with a timeout; the
    /// `Output` is returned whatever the exit status.
    pub fn run_on_bus(
        &self,
        bus: &PrivateBus,
        program: impl AsRef<OsStr>,
        args: &[&str],
        timeout: Duration,
    ) -> Result<Output> {
        let mut cmd = self.bus_command(bus, program);
        cmd.args(args);
        run_output(&mut cmd, timeout)
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        if let Err(e) = shadow_tool("userdel", &[&self.name]) {
            eprintln!("warning: deleting test user {}: {e:#}", self.name);
        }
    }
}

/// Copy executable `src` into `dir` (mode 0755) so an unprivileged user can
/// run it even if the build tree is not reachable for them (e.g. under
/// `/root`). `dir` should be a temp dir with mode 0755 (e.g. the bus's dir).
pub fn stage_executable(src: &Path, dir: &Path) -> Result<PathBuf> {
    let name = src
        .file_name()
        .with_context(|| format!("{} has no file name", src.display()))?;
    let dest = dir.join(name);
    std::fs::copy(src, &dest)
        .with_context(|| format!("copying {} to {}", src.display(), dest.display()))?;
    set_mode(&dest, 0o755)?;
    Ok(dest)
}

fn sanitize_prefix(prefix: &str) -> String {
    let mut p: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .take(12)
        .collect();
    if !p.starts_with(|c: char| c.is_ascii_lowercase()) {
        p.insert(0, 't');
        p.truncate(12);
    }
    p
}

/// `id FLAG name` as a number.
fn id_number(name: &str, flag: &str) -> Result<u32> {
    let out = run("id", &[flag, name], CMD_TIMEOUT)?;
    out.trim()
        .parse()
        .with_context(|| format!("`id {flag} {name}` printed {out:?}"))
}

/// Run a shadow-utils tool, retrying while another one holds the
/// passwd/group lock (parallel tests).
fn shadow_tool(program: &str, args: &[&str]) -> Result<()> {
    let mut attempt = 0;
    loop {
        let mut cmd = Command::new(program);
        cmd.args(args);
        let out = run_output(&mut cmd, CMD_TIMEOUT)?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        attempt += 1;
        if attempt < 100 && err.contains("lock") {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            err.trim()
        );
    }
}

/// Delete users `<prefix>-<pid>-<n>` made here whose process is gone.
fn remove_stale(prefix: &str) {
    let Ok(passwd) = std::fs::read_to_string("/etc/passwd") else {
        return;
    };
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 5 || fields[4] != GECOS {
            continue;
        }
        let name = fields[0];
        let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('-') else {
            continue;
        };
        if pid.parse::<u32>().is_err() || n.parse::<u32>().is_err() {
            continue;
        }
        if !Path::new("/proc").join(pid).exists() {
            let _ = shadow_tool("userdel", &[name]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_valid_user_names() {
        assert_eq!(sanitize_prefix("mptcp"), "mptcp");
        assert_eq!(sanitize_prefix("Polkit_Test"), "polkittest");
        assert_eq!(sanitize_prefix("9lives"), "t9lives");
        assert_eq!(sanitize_prefix(""), "t");
        assert_eq!(sanitize_prefix("averyverylongprefix"), "averyverylon");
    }
}
