//! Shared helpers of the daemon's end-to-end tests: start/stop/signal the
//! real `mptcp-policyd` in a testbed's client namespace, read the kernel's
//! endpoints, measure which radio carried the bytes. Everything a test
//! starts is stopped by Drop (the testbed deletes its namespaces).

#![allow(dead_code)] // each test file uses a different subset

pub mod bus_env;
pub mod mptcp_ss;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mptcp_policy_tests::bins::find_bin;
use mptcp_policy_tests::process::{wait_for, BgProcess};
use mptcp_policy_tests::{link_bytes, Testbed};

/// WiFi preferred, LTE backup: the policy most tests use (the same one the
/// handover benchmark gives the daemon).
pub const WIFI_FIRST: &str = mptcp_policy_tests::handover::DAEMON_POLICY;

/// [`WIFI_FIRST`] with a 1-s path-health recovery time: health tests
/// see WiFi come back quickly.
pub const WIFI_FIRST_QUICK_RECOVERY: &str = r#"[limits]
subflows = 4
add_addr_accepted = 4
[health]
recovery_ms = 1000
[[interface]]
type = "wifi"
role = "preferred"
[[interface]]
type = "cellular"
role = "backup"
"#;

/// The same with the roles swapped.
pub const LTE_FIRST: &str = r#"[limits]
subflows = 4
add_addr_accepted = 4
[[interface]]
type = "wifi"
role = "backup"
[[interface]]
type = "cellular"
role = "preferred"
"#;

pub fn daemon_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mptcp-policyd"))
}

pub fn stream_bin() -> PathBuf {
    find_bin("mptcp-stream", "MPTCP_STREAM")
        .expect("mptcp-stream built (cargo build --workspace --bins)")
}

/// The daemon under test, running in the client namespace.
pub struct Daemon {
    process: Option<BgProcess>,
    ns: String,
    pub config: PathBuf,
    pub state: PathBuf,
    log_dir: PathBuf,
    generation: u32,
    /// Mount cgroup2 at /sys/fs/cgroup in the daemon's mount namespace
    /// (`ip netns exec` remounts /sys, which hides the host's cgroup
    /// mounts; a system service sees them).
    cgroup2: bool,
    /// Extra environment (`NAME=value`), e.g. the fault plan.
    env: Vec<String>,
}

impl Daemon {
    /// Writes `policy` and starts the daemon; waits until it says it is ready.
    pub fn start(tb: &Testbed, policy: &str) -> Result<Daemon> {
        Self::start_opts(tb, policy, false, Vec::new())
    }

    /// Like [`Daemon::start`], with extra environment variables (such as
    /// `MPTCP_POLICYD_FAULTS` for the fault-injection tests).
    pub fn start_with_env(tb: &Testbed, policy: &str, env: &[(&str, &str)]) -> Result<Daemon> {
        let env = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Self::start_opts(tb, policy, false, env)
    }

    /// Like [`Daemon::start`], with the cgroup2 hierarchy visible to the
    /// daemon (for `[[rule]] cgroup`).
    #[allow(dead_code)] // not every test binary uses it
    pub fn start_with_cgroup2(tb: &Testbed, policy: &str) -> Result<Daemon> {
        Self::start_opts(tb, policy, true, Vec::new())
    }

    fn start_opts(tb: &Testbed, policy: &str, cgroup2: bool, env: Vec<String>) -> Result<Daemon> {
        let config = tb.tmp_dir().join("policy.toml");
        std::fs::write(&config, policy)?;
        let state = tb.tmp_dir().join("state");
        std::fs::create_dir_all(&state)?;
        let mut d = Daemon {
            process: None,
            ns: tb.client_ns().to_string(),
            config,
            state,
            log_dir: tb.tmp_dir().to_path_buf(),
            generation: 0,
            cgroup2,
            env,
        };
        d.spawn()?;
        d.wait_log("ready", Duration::from_secs(10))?;
        Ok(d)
    }

    /// Starts the daemon again (same config and state) after a stop/kill.
    pub fn restart(&mut self) -> Result<()> {
        self.spawn()?;
        self.wait_log("ready", Duration::from_secs(10))
    }

    fn spawn(&mut self) -> Result<()> {
        self.generation += 1;
        let dir = self.log_dir.join(format!("daemon{}", self.generation));
        std::fs::create_dir_all(&dir)?;
        let mut args = vec![
            "--config".to_string(),
            self.config.display().to_string(),
            "--no-dbus".to_string(),
            "--state-dir".to_string(),
            self.state.display().to_string(),
        ];
        let program = if self.cgroup2 {
            // sh mounts, then execs the daemon (same pid).
            let mut wrapped = vec![
                "-c".to_string(),
                "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$0\" \"$@\"".to_string(),
                daemon_bin().display().to_string(),
            ];
            wrapped.append(&mut args);
            args = wrapped;
            PathBuf::from("/bin/sh")
        } else if !self.env.is_empty() {
            // env(1) sets the variables, then execs the daemon (same pid).
            let mut wrapped = self.env.clone();
            wrapped.push(daemon_bin().display().to_string());
            wrapped.append(&mut args);
            args = wrapped;
            PathBuf::from("/usr/bin/env")
        } else {
            daemon_bin()
        };
        self.process = Some(BgProcess::spawn_in_ns(
            &self.ns,
            "mptcp-policyd",
            &program,
            &args,
            &dir,
        )?);
        Ok(())
    }

    fn process(&self) -> Result<&BgProcess> {
        self.process.as_ref().context("daemon not running")
    }

    /// This run's log (stderr).
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(|p| p.stderr())
            .unwrap_or_default()
    }

    pub fn signal(&self, sig: libc::c_int) -> Result<()> {
        let pid = self.process()?.pid().context("no pid")?;
        // SAFETY: plain kill(2) on our own child.
        if unsafe { libc::kill(pid as libc::pid_t, sig) } != 0 {
            bail!(
                "kill({pid}, {sig}) failed: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// SIGKILL and reap: no chance to clean anything up.
    pub fn kill9(&mut self) -> Result<()> {
        self.signal(libc::SIGKILL)?;
        if let Some(p) = self.process.as_mut() {
            p.wait(Duration::from_secs(5))?;
        }
        Ok(())
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> Result<()> {
        self.signal(libc::SIGTERM)?;
        if let Some(p) = self.process.as_mut() {
            p.wait_success(Duration::from_secs(5))?;
        }
        Ok(())
    }

    /// Waits until the log contains `needle`; fails early if the daemon died.
    pub fn wait_log(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        let what = format!("daemon log to show {needle:?}");
        let result = wait_for(&what, timeout, || {
            let p = self.process.as_mut().context("daemon not running")?;
            if p.stderr().contains(needle) {
                return Ok(true);
            }
            if let Some(st) = p.try_status()? {
                bail!("daemon exited ({st}): {}", p.stderr());
            }
            Ok(false)
        });
        result.with_context(|| format!("daemon log so far:\n{}", self.log()))
    }

    /// Waits until `needle` occurs at least `n` times in the log.
    pub fn wait_log_count(&mut self, needle: &str, n: usize, timeout: Duration) -> Result<()> {
        let what = format!("daemon log to show {needle:?} {n} times");
        let result = wait_for(&what, timeout, || {
            let p = self.process.as_mut().context("daemon not running")?;
            if p.stderr().matches(needle).count() >= n {
                return Ok(true);
            }
            if let Some(st) = p.try_status()? {
                bail!("daemon exited ({st})");
            }
            Ok(false)
        });
        result.with_context(|| format!("daemon log so far:\n{}", self.log()))
    }

    /// Whether the daemon is still running.
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| matches!(p.try_status(), Ok(None)))
    }

    /// Occurrences of `needle` in this run's log.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }
}

/// One line of `ip mptcp endpoint show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ep {
    pub addr: String,
    pub id: u8,
    pub flags: Vec<String>,
    pub dev: Option<String>,
}

impl Ep {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// The client namespace's endpoints as iproute2 shows them.
pub fn endpoints(tb: &Testbed) -> Result<Vec<Ep>> {
    let text = tb.client_endpoints()?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_ep)
        .collect()
}

fn parse_ep(line: &str) -> Result<Ep> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let addr = words.first().context("empty endpoint line")?.to_string();
    let mut id = None;
    let mut dev = None;
    let mut flags = Vec::new();
    let mut i = 1;
    while i < words.len() {
        match words[i] {
            "id" => {
                id = words.get(i + 1).and_then(|v| v.parse().ok());
                i += 1;
            }
            "dev" => {
                dev = words.get(i + 1).map(|v| v.to_string());
                i += 1;
            }
            "port" => i += 1,
            f => flags.push(f.to_string()),
        }
        i += 1;
    }
    Ok(Ep {
        addr,
        id: id.with_context(|| format!("no id in {line:?}"))?,
        flags,
        dev,
    })
}

pub fn endpoint<'a>(eps: &'a [Ep], addr: &str) -> Option<&'a Ep> {
    eps.iter().find(|e| e.addr == addr)
}

/// Waits until the endpoints satisfy `cond`.
pub fn wait_endpoints(tb: &Testbed, what: &str, cond: impl Fn(&[Ep]) -> bool) -> Result<Vec<Ep>> {
    wait_for(what, Duration::from_secs(10), || Ok(cond(&endpoints(tb)?)))
        .with_context(|| format!("endpoints now: {:?}", endpoints(tb)))?;
    endpoints(tb)
}

/// Bytes sent (tx) on wlan0 and wwan0 of the client namespace, or received
/// (rx) for downloads.
pub fn radio_bytes(tb: &Testbed, tx: bool) -> Result<(u64, u64)> {
    let all = link_bytes(tb.client_ns())?;
    let pick = |name: &str| {
        all.get(name)
            .map(|b| if tx { b.tx } else { b.rx })
            .with_context(|| format!("{name} missing in {all:?}"))
    };
    Ok((pick("wlan0")?, pick("wwan0")?))
}

/// Share of the bytes in `(before, after)` that crossed wlan0.
pub fn wlan_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    let wlan = after.0.saturating_sub(before.0) as f64;
    let wwan = after.1.saturating_sub(before.1) as f64;
    if wlan + wwan == 0.0 {
        0.0
    } else {
        wlan / (wlan + wwan)
    }
}

/// `ss -tni` in the client namespace: the MPTCP subflows (TCP sockets with
/// the mptcp ULP), each as (local address, subflow flags).
pub fn subflows(tb: &Testbed) -> Result<Vec<(String, String)>> {
    let out =
        mptcp_policy_tests::ns_exec(tb.client_ns(), "ss", &["-tniH", "state", "established"])?;
    let mut result = Vec::new();
    let mut local: Option<String> = None;
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !line.starts_with(char::is_whitespace) && words.len() >= 4 {
            // Recv-Q Send-Q Local:Port Peer:Port
            local = words.get(2).map(|s| s.to_string());
        } else if line.contains("tcp-ulp-mptcp") {
            let flags = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("flags:"))
                .unwrap_or("")
                .to_string();
            if let Some(l) = local.take() {
                result.push((l, flags));
            }
        }
    }
    Ok(result)
}

pub fn file_text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}
