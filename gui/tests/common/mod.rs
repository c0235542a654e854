//! Shared pieces of the panel's tests: a private X server (Xvfb), the real
//! `mptcp-policy-panel` on it driven through `--test-control` (commands on
//! stdin, one JSON reply per line on stdout), searches in the widget tree
//! it dumps, and screenshots with ImageMagick. Everything is stopped on
//! drop; the daemon runs on a private bus through the tests crate's
//! `DaemonEnv`.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mptcp_policy_tests::bins::find_bin;
use mptcp_policy_tests::daemon_env::DaemonEnv;
use mptcp_policy_tests::users::stage_executable;
use mptcp_policy_tests::{TempDir, TestUser};
use serde_json::Value;

pub const PANEL: &str = env!("CARGO_BIN_EXE_mptcp-policy-panel");

/// The daemon with "WiFi preferred, LTE backup" on a private bus.
pub fn daemon_env() -> DaemonEnv {
    let daemon = find_bin("mptcp-policyd", "MPTCP_POLICYD")
        .expect("mptcp-policyd built (cargo build --workspace --bins)");
    DaemonEnv::start(&daemon, mptcp_policy_tests::handover::DAEMON_POLICY).expect("daemon env")
}

/// Where screenshots go: `<target dir>/gui-screenshots/` (kept after the
/// run as test artifacts).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("gui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// An Xvfb server with one screen of the given size; killed on drop.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start(width: u32, height: u32) -> Result<Xvfb> {
        // -displayfd 1: Xvfb picks a free display and prints its number.
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-ac", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb (apt install xvfb)")?;
        let stdout = child.stdout.take().context("Xvfb stdout")?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut xvfb = Xvfb {
            child,
            display: String::new(),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .context("Xvfb did not report its display")?;
        let n: u32 = line
            .trim()
            .parse()
            .with_context(|| format!("Xvfb printed {line:?}"))?;
        xvfb.display = format!(":{n}");
        Ok(xvfb)
    }

    /// `import -window root` into `path` (PNG).
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        let out = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(path)
            .output()
            .context("running import (apt install imagemagick)")?;
        if !out.status.success() {
            bail!("import failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Number of distinct colours and the standard deviation of an image.
pub fn image_stats(path: &Path) -> Result<(u64, f64)> {
    let out = Command::new("identify")
        .args(["-format", "%k %[fx:standard_deviation]"])
        .arg(path)
        .output()
        .context("running identify")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let colours = it.next().and_then(|s| s.parse().ok()).context("colours")?;
    let sd = it.next().and_then(|s| s.parse().ok()).context("sd")?;
    Ok((colours, sd))
}

/// Width and height of an image.
pub fn image_size(path: &Path) -> Result<(u32, u32)> {
    let out = Command::new("identify")
        .args(["-format", "%w %h"])
        .arg(path)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u32> = text
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect();
    match v[..] {
        [w, h] => Ok((w, h)),
        _ => bail!("identify printed {text:?}"),
    }
}

/// The panel under test.
pub struct Panel {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
    log: PathBuf,
    _dir: TempDir,
}

impl Panel {
    /// Runs the panel as root on `env`'s bus, on `xvfb`, at `size`.
    pub fn start(env: &DaemonEnv, xvfb: &Xvfb, size: (u32, u32)) -> Result<Panel> {
        Self::spawn(Command::new(PANEL), env.bus.address(), xvfb, size)
    }

    /// Runs the panel as root with the system bus at `bus_address`.
    pub fn start_on_bus(bus_address: &str, xvfb: &Xvfb, size: (u32, u32)) -> Result<Panel> {
        Self::spawn(Command::new(PANEL), bus_address, xvfb, size)
    }

    /// Like [`Panel::start`] with extra environment variables.
    pub fn start_with_env(
        env: &DaemonEnv,
        xvfb: &Xvfb,
        size: (u32, u32),
        vars: &[(&str, &str)],
    ) -> Result<Panel> {
        let mut cmd = Command::new(PANEL);
        cmd.envs(vars.iter().copied());
        Self::spawn(cmd, env.bus.address(), xvfb, size)
    }

    /// Runs the panel as `user` (an unprivileged caller).
    pub fn start_as(
        user: &TestUser,
        env: &DaemonEnv,
        xvfb: &Xvfb,
        size: (u32, u32),
    ) -> Result<Panel> {
        let staged = stage_executable(Path::new(PANEL), env.bus.dir())?;
        Self::spawn(
            user.bus_command(&env.bus, staged),
            env.bus.address(),
            xvfb,
            size,
        )
    }

    fn spawn(mut cmd: Command, bus: &str, xvfb: &Xvfb, size: (u32, u32)) -> Result<Panel> {
        let dir = TempDir::new("mptcp-panel")?;
        // The user the panel may run as needs its runtime dir.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )?;
        let log = dir.join("panel.log");
        if !cmd.get_envs().any(|(k, _)| k == "LANGUAGE") {
            cmd.env("LANGUAGE", "C");
        }
        cmd.args([
            "--test-control",
            "--size",
            &format!("{}x{}", size.0, size.1),
        ])
        .env("DISPLAY", &xvfb.display)
        .env(mptcp_policy_tests::SYSTEM_BUS_ENV, bus)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", dir.path())
        .env("GSETTINGS_BACKEND", "memory")
        .env("GSK_RENDERER", "cairo")
        .env("GTK_A11Y", "none")
        .env("NO_AT_BRIDGE", "1")
        .env("LC_ALL", "C.UTF-8")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?);
        let mut child = cmd.spawn().context("starting mptcp-policy-panel")?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, replies) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Panel {
            child,
            stdin,
            replies,
            log,
            _dir: dir,
        })
    }

    /// The panel's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends one command and returns its reply.
    pub fn command(&mut self, line: &str) -> Result<Value> {
        writeln!(self.stdin, "{line}").context("panel stdin (did it exit?)")?;
        self.stdin.flush()?;
        match self.replies.recv_timeout(Duration::from_secs(15)) {
            Ok(reply) => serde_json::from_str(&reply).with_context(|| format!("reply {reply:?}")),
            Err(RecvTimeoutError::Timeout) => bail!("no reply to {line:?}; log:\n{}", self.log()),
            Err(RecvTimeoutError::Disconnected) => {
                bail!("the panel exited; log:\n{}", self.log())
            }
        }
    }

    /// A command that must succeed.
    pub fn ok(&mut self, line: &str) -> Value {
        let v = self
            .command(line)
            .unwrap_or_else(|e| panic!("{line}: {e:#}"));
        assert_eq!(v["ok"], Value::Bool(true), "{line}: {v}");
        v
    }

    /// The widget trees of all toplevels.
    pub fn dump(&mut self) -> Value {
        self.ok("dump")
    }

    /// Dumps until `pred` holds (every 50 ms); the last dump, or a panic
    /// with it after `timeout`.
    pub fn wait(&mut self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + timeout;
        loop {
            let tree = self.dump();
            if pred(&tree) {
                return tree;
            }
            if Instant::now() >= end {
                panic!(
                    "timed out ({timeout:?}) waiting for {what}; widget texts: {:?}\npanel log:\n{}",
                    texts(&tree),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Panel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every node of the tree(s), depth first.
pub fn nodes(tree: &Value) -> Vec<&Value> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => {
                if o.contains_key("type") {
                    out.push(v);
                }
                for key in ["windows", "children"] {
                    if let Some(c) = o.get(key) {
                        walk(c, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut out);
    out
}

/// The widget named `name`.
pub fn named<'a>(tree: &'a Value, name: &str) -> Option<&'a Value> {
    nodes(tree).into_iter().find(|n| n["name"] == name)
}

/// Widgets whose name starts with `prefix`.
pub fn named_prefix<'a>(tree: &'a Value, prefix: &str) -> Vec<&'a Value> {
    nodes(tree)
        .into_iter()
        .filter(|n| n["name"].as_str().is_some_and(|s| s.starts_with(prefix)))
        .collect()
}

/// Every visible text (labels, titles, subtitles) in the tree.
pub fn texts(tree: &Value) -> Vec<String> {
    nodes(tree)
        .into_iter()
        .flat_map(|n| {
            ["text", "title", "subtitle", "description"]
                .into_iter()
                .filter_map(|k| n[k].as_str().map(str::to_string))
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The selector of interface `ifname` shows `role` (its label), mapped.
pub fn role_shown(tree: &Value, ifname: &str) -> Option<String> {
    named(tree, &format!("role-{ifname}"))
        .filter(|n| n["mapped"] == true)
        .and_then(|n| n["selected"].as_str().map(str::to_string))
}

/// The kernel's endpoint line for `addr` in `ip mptcp endpoint show`.
pub fn endpoint_line(env: &DaemonEnv, addr: &str) -> Option<String> {
    env.tb
        .client_endpoints()
        .ok()?
        .lines()
        .find(|l| l.split_whitespace().next() == Some(addr))
        .map(str::to_string)
}

/// Waits until the kernel's endpoint for `addr` satisfies `pred`.
pub fn wait_endpoint(env: &DaemonEnv, addr: &str, what: &str, pred: impl Fn(&str) -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let line = endpoint_line(env, addr);
        if line.as_deref().is_some_and(&pred) {
            return;
        }
        if Instant::now() >= end {
            panic!(
                "endpoint of {addr}: {what} not reached; now {line:?}; all: {:?}\ndaemon log:\n{}",
                env.tb.client_endpoints(),
                env.log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
