//! The real `polkitd` on a [`PrivateBus`], with private action and rules
//! directories, and a small client to ask it about the caller itself.
//!
//! polkitd reads its actions from `/usr/share/polkit-1/actions` and its rules
//! from `/etc/polkit-1/rules.d` and `/usr/share/polkit-1/rules.d`. To leave the
//! host's directories alone it runs in a private mount namespace (`unshare
//! --mount --propagation private`) where per-test temp dirs are bind-mounted
//! over those three paths:
//! - actions: copies of the host's `*.policy` files plus the given ones
//!   (a given file wins over a host file of the same name);
//! - `/usr/share/polkit-1/rules.d`: copies of the host's distribution rules;
//! - `/etc/polkit-1/rules.d`: only the given rules (and [`Polkitd::add_rules`]).
//!
//! polkitd switches to the `polkitd` user itself, so every dir is 0755 and
//! every file 0644. Rules changes are picked up through inotify on the
//! temp dir (the bind mount shares the inode), within about 2 s.
//!
//! polkitd runs without `--no-debug`: with it, its messages go to syslog
//! (absent here) and are lost; without it they land in [`Polkitd::log`],
//! which is how [`Polkitd::wait_rules_reloaded`] sees a reload.

use crate::bus::{set_mode, PrivateBus, SYSTEM_BUS_ENV};
use crate::process::{wait_for, BgProcess};
use crate::tempdir::TempDir;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

/// The polkit daemon binary (Debian 12 `polkitd` package).
pub const POLKITD: &str = "/usr/lib/polkit-1/polkitd";
/// polkit's well-known bus name.
pub const POLKIT_BUS_NAME: &str = "org.freedesktop.PolicyKit1";
/// Host directory of action files (shadowed, never written).
pub const HOST_ACTIONS_DIR: &str = "/usr/share/polkit-1/actions";
/// Host directory of local rules (shadowed, never written).
pub const HOST_ETC_RULES_DIR: &str = "/etc/polkit-1/rules.d";
/// Host directory of distribution rules (shadowed, never written).
pub const HOST_SHARE_RULES_DIR: &str = "/usr/share/polkit-1/rules.d";
/// How long `start` waits for polkitd to own its name.
pub const POLKITD_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for a rules reload.
pub const RULES_RELOAD_TIMEOUT: Duration = Duration::from_secs(10);

const RELOAD_MARKER: &str = "Finished loading, compiling and executing";

/// The real polkitd on a private bus. Dropping it kills and reaps polkitd
/// (its mount namespace goes with it) and removes the temp dirs.
#[derive(Debug)]
pub struct Polkitd {
    // Field order = drop order: the daemon goes before its directories.
    daemon: BgProcess,
    actions_dir: PathBuf,
    rules_dir: PathBuf,
    share_rules_dir: PathBuf,
    staging_dir: PathBuf,
    dir: TempDir,
}

impl Polkitd {
    /// Start polkitd on `bus` with the host's actions plus `actions`
    /// (`*.policy` files) and the rules files `rules` (`*.rules`) in its
    /// `/etc/polkit-1/rules.d`; returns once it owns `org.freedesktop.PolicyKit1`.
    pub fn start(bus: &PrivateBus, actions: &[&Path], rules: &[&Path]) -> Result<Self> {
        if !Path::new(POLKITD).is_file() {
            bail!("{POLKITD} not found: install the `polkitd` package");
        }
        let dir = TempDir::new("mptcp-polkitd")?;
        set_mode(dir.path(), 0o755)?;
        let actions_dir = dir.join("actions");
        let rules_dir = dir.join("etc-rules.d");
        let share_rules_dir = dir.join("share-rules.d");
        let staging_dir = dir.join("staging");
        for d in [&actions_dir, &rules_dir, &share_rules_dir, &staging_dir] {
            std::fs::create_dir(d).with_context(|| format!("creating {}", d.display()))?;
            set_mode(d, 0o755)?;
        }
        copy_dir_files(Path::new(HOST_ACTIONS_DIR), &actions_dir, ".policy")?;
        copy_dir_files(Path::new(HOST_SHARE_RULES_DIR), &share_rules_dir, ".rules")?;
        for a in actions {
            copy_file_into(a, &actions_dir, ".policy")?;
        }
        for r in rules {
            copy_file_into(r, &rules_dir, ".rules")?;
        }

        let script = format!(
            "set -e; mount --bind {a} {HOST_ACTIONS_DIR}; mount --bind {e} {HOST_ETC_RULES_DIR}; \
             mount --bind {s} {HOST_SHARE_RULES_DIR}; exec {POLKITD}",
            a = sh_quote(&actions_dir)?,
            e = sh_quote(&rules_dir)?,
            s = sh_quote(&share_rules_dir)?,
        );
        // `unshare` without `--fork` execs `sh`, which execs polkitd: the
        // child's pid is polkitd's, so killing the guard kills polkitd.
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .env(SYSTEM_BUS_ENV, bus.address())
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        let mut daemon = BgProcess::spawn("polkitd", &mut cmd, dir.path())?;
        let wait = wait_for(
            "polkitd to own org.freedesktop.PolicyKit1",
            POLKITD_START_TIMEOUT,
            || {
                if let Some(st) = daemon.try_status()? {
                    bail!("polkitd exited ({st}): {}", daemon.stderr().trim());
                }
                bus.has_owner(POLKIT_BUS_NAME)
            },
        );
        if let Err(e) = wait {
            let log = daemon.stderr();
            return Err(e.context(format!(
                "polkitd log: {}\nbus log: {}",
                log.trim(),
                bus.log().trim()
            )));
        }
        Ok(Self {
            daemon,
            actions_dir,
            rules_dir,
            share_rules_dir,
            staging_dir,
            dir,
        })
    }

    /// The temp dir polkitd sees as `/usr/share/polkit-1/actions`.
    pub fn actions_dir(&self) -> &Path {
        &self.actions_dir
    }

    /// The temp dir polkitd sees as `/etc/polkit-1/rules.d`.
    pub fn rules_dir(&self) -> &Path {
        &self.rules_dir
    }

    /// The temp dir polkitd sees as `/usr/share/polkit-1/rules.d`.
    pub fn share_rules_dir(&self) -> &Path {
        &self.share_rules_dir
    }

    /// polkitd's output so far (rules loading, name acquisition, JS errors).
    pub fn log(&self) -> String {
        let mut s = self.daemon.stdout();
        s.push_str(&self.daemon.stderr());
        s
    }

    /// polkitd's pid.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// How many times polkitd has (re)loaded its rules so far.
    pub fn reload_count(&self) -> usize {
        self.log().matches(RELOAD_MARKER).count()
    }

    /// Wait until the rules have been loaded more than `before` times
    /// (a value of [`reload_count`](Self::reload_count) taken before a change).
    pub fn wait_rules_reloaded(&self, before: usize, timeout: Duration) -> Result<()> {
        wait_for("polkitd to reload its rules", timeout, || {
            Ok(self.reload_count() > before)
        })
        .with_context(|| format!("polkitd log: {}", self.log().trim()))
    }

    /// Install a copy of the rules file `path` (`*.rules`; a `*.rules.example`
    /// is installed as `*.rules`) into
    /// polkitd's `/etc/polkit-1/rules.d` (mode 0644, atomically by rename)
    /// and wait until polkitd has reloaded. Returns the installed path.
    pub fn add_rules(&self, path: &Path) -> Result<PathBuf> {
        let name = checked_name(path, ".rules")?;
        let text =
            std::fs::read(path).with_context(|| format!("reading rules {}", path.display()))?;
        self.add_rules_bytes(&name, &text)
    }

    /// Like [`add_rules`](Self::add_rules), with the JavaScript given inline
    /// as file `name` (e.g. `"50-test.rules"`).
    pub fn add_rules_text(&self, name: &str, js: &str) -> Result<PathBuf> {
        if !name.ends_with(".rules") || name.contains('/') {
            bail!("rules file name {name:?} must be a plain name ending in .rules");
        }
        self.add_rules_bytes(name, js.as_bytes())
    }

    fn add_rules_bytes(&self, name: &str, text: &[u8]) -> Result<PathBuf> {
        let staged = self.staging_dir.join(name);
        std::fs::write(&staged, text).with_context(|| format!("writing {}", staged.display()))?;
        set_mode(&staged, 0o644)?;
        let dest = self.rules_dir.join(name);
        let before = self.reload_count();
        std::fs::rename(&staged, &dest)
            .with_context(|| format!("installing {}", dest.display()))?;
        self.wait_rules_reloaded(before, RULES_RELOAD_TIMEOUT)?;
        Ok(dest)
    }

    /// Remove rules file `name` from polkitd's `/etc/polkit-1/rules.d` and
    /// wait for the reload.
    pub fn remove_rules(&self, name: &str) -> Result<()> {
        let before = self.reload_count();
        let p = self.rules_dir.join(name);
        std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        self.wait_rules_reloaded(before, RULES_RELOAD_TIMEOUT)
    }

    /// Kill and reap polkitd now (also done on drop).
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    /// The polkitd temp dir (logs, copies); removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Installed file name for `path`, ending in `suffix` (polkitd ignores
/// other files): `x.rules` stays, `x.rules.example` / `x.rules.in` become
/// `x.rules`; anything else is an error.
fn checked_name(path: &Path, suffix: &str) -> Result<String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no UTF-8 file name", path.display()))?;
    if name.ends_with(suffix) {
        return Ok(name.to_string());
    }
    match name.rfind(&format!("{suffix}.")) {
        Some(i) if i > 0 => Ok(name[..i + suffix.len()].to_string()),
        _ => bail!(
            "{} does not end in {suffix}: polkitd would ignore it",
            path.display()
        ),
    }
}

fn copy_file_into(src: &Path, dir: &Path, suffix: &str) -> Result<PathBuf> {
    let name = checked_name(src, suffix)?;
    let dest = dir.join(name);
    std::fs::copy(src, &dest)
        .with_context(|| format!("copying {} to {}", src.display(), dest.display()))?;
    set_mode(&dest, 0o644)?;
    Ok(dest)
}

/// Copy the host's `*suffix` files from `src` (if it exists) into `dest`.
fn copy_dir_files(src: &Path, dest: &Path, suffix: &str) -> Result<()> {
    let entries = match std::fs::read_dir(src) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", src.display())),
    };
    for entry in entries {
        let p = entry?.path();
        if p.is_file() && p.to_string_lossy().ends_with(suffix) {
            copy_file_into(&p, dest, suffix)?;
        }
    }
    Ok(())
}

fn sh_quote(p: &Path) -> Result<String> {
    let s = p.to_str().context("path is not UTF-8")?;
    Ok(format!("'{}'", s.replace('\'', r"'\''")))
}

/// What polkit says about a subject and an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authz {
    /// `is_authorized`.
    Authorized,
    /// Not authorized, but could be after authentication (no agent here).
    Challenge,
    /// Neither.
    Denied,
}

impl fmt::Display for Authz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Authz::Authorized => "authorized",
            Authz::Challenge => "challenge",
            Authz::Denied => "denied",
        })
    }
}

impl FromStr for Authz {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "authorized" => Ok(Authz::Authorized),
            "challenge" => Ok(Authz::Challenge),
            "denied" => Ok(Authz::Denied),
            other => bail!("not an authorization result: {other:?}"),
        }
    }
}

/// Ask polkit on `conn`'s bus whether the connection itself (subject
/// `system-bus-name` = its unique name, as a service would check a caller)
/// may do `action`. Non-interactive.
pub async fn check_self(conn: &zbus::Connection, action: &str) -> Result<Authz> {
    use zbus_polkit::policykit1::{AuthorityProxy, CheckAuthorizationFlags, Subject};
    let me = conn
        .unique_name()
        .context("connection has no unique name")?
        .clone();
    // zbus_polkit builds a system-bus-name subject only from a message
    // header: make a header whose sender is our own unique name.
    let msg = zbus::Message::method_call("/", "Check")
        .sender(me.as_str())
        .build(&())?;
    let subject = Subject::new_for_message_header(&msg.header())?;
    let authority = AuthorityProxy::new(conn).await?;
    let details = HashMap::new();
    let r = authority
        .check_authorization(
            &subject,
            action,
            &details,
            CheckAuthorizationFlags::empty(),
            "",
        )
        .await
        .with_context(|| format!("CheckAuthorization({action}) for {me}"))?;
    Ok(if r.is_authorized {
        Authz::Authorized
    } else if r.is_challenge {
        Authz::Challenge
    } else {
        Authz::Denied
    })
}

/// Blocking [`check_self`] on a fresh connection to `address`.
pub fn check_self_at(address: &str, action: &str) -> Result<Authz> {
    zbus::block_on(async {
        let conn = zbus::connection::Builder::address(address)
            .build()
            .await
            .with_context(|| format!("connecting to {address}"))?;
        check_self(&conn, action).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_names() {
        let n = |p: &str| checked_name(Path::new(p), ".rules").ok();
        assert_eq!(n("/a/50-x.rules").as_deref(), Some("50-x.rules"));
        assert_eq!(
            n("polkit/50-mptcp-policy.rules.example").as_deref(),
            Some("50-mptcp-policy.rules")
        );
        assert_eq!(n("x.rules.in").as_deref(), Some("x.rules"));
        assert_eq!(n("x.js"), None);
        assert_eq!(n(".rules.example"), None);
        assert_eq!("challenge".parse::<Authz>().ok(), Some(Authz::Challenge));
        assert_eq!(Authz::Authorized.to_string(), "authorized");
    }
}
