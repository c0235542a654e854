//! One booted container: unpacked root, `systemd-nspawn --boot` inside a
//! prepared network namespace, commands run in it through `nsenter`.

use super::cgroup::OwnCgroup;
use crate::process::{run_output, BgProcess};
use crate::tempdir::TempDir;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long start-up may take (`systemctl is-system-running --wait`).
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
/// Capabilities the container's systemd may hand to services: those the
/// daemon's unit asks for (systemd/mptcp-policyd.service).
const CAPABILITIES: &[&str] = &["CAP_NET_ADMIN", "CAP_BPF", "CAP_PERFMON"];

/// Commands in the container get this long unless they say otherwise.
const EXEC_TIMEOUT: Duration = Duration::from_secs(120);

/// A booted Debian with systemd as PID 1. Dropping it powers the system
/// off (SIGKILL after 20 s, also of a container PID 1 left behind) and
/// removes the root.
#[derive(Debug)]
pub struct Container {
    // Field order = drop order after `Drop::drop`: nspawn, then the files.
    nspawn: Option<BgProcess>,
    pid1: u32,
    /// The container's own cgroup; removed once its processes are gone.
    _cgroup: OwnCgroup,
    name: String,
    root: PathBuf,
    /// Holds the unpacked root; removed last.
    _dir: TempDir,
}

impl Container {
    /// Unpacks `tarball` and boots it inside network namespace `netns`
    /// (`/run/netns/<netns>`); returns once `systemctl is-system-running`
    /// says the boot is over.
    pub fn boot(tarball: &Path, netns: &str, name: &str) -> Result<Container> {
        let dir = TempDir::new("mptcp-booted")?;
        let root = dir.join("root");
        std::fs::create_dir_all(&root)?;
        let out = run_output(
            Command::new("tar")
                .arg("-xf")
                .arg(tarball)
                .arg("-C")
                .arg(&root),
            Duration::from_secs(120),
        )?;
        if !out.status.success() {
            bail!(
                "unpacking {}: {}",
                tarball.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The machine's name in its journal and prompts.
        std::fs::write(root.join("etc/hostname"), format!("{name}\n"))?;
        // A container's root is set up by systemd-nspawn: remounting it as
        // /etc/fstab says has nothing to do, and now and then it failed
        // (a degraded boot) when two containers started at once.
        std::os::unix::fs::symlink(
            "/dev/null",
            root.join("etc/systemd/system/systemd-remount-fs.service"),
        )?;
        // nspawn started from a shell that first moves itself into the
        // container's own cgroup (see cgroup.rs).
        let cgroup = OwnCgroup::new(name)?;
        let procs: Vec<String> = cgroup
            .procs_files()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"for f in $CGROUP_PROCS; do echo $$ > "$f" || exit 1; done; exec "$@""#)
            .arg("sh")
            .arg("systemd-nspawn")
            .env("CGROUP_PROCS", procs.join(" "))
            .arg("-D")
            .arg(&root)
            .args(["--boot", "--register=no", "--keep-unit", "--console=pipe"])
            .arg(format!("--machine={name}"))
            // A container's bounding set lacks these by default; a real
            // host's PID 1 has them, so the unit can hand them on.
            .arg(format!("--capability={}", CAPABILITIES.join(",")))
            .arg(format!("--network-namespace-path=/run/netns/{netns}"));
        let nspawn = BgProcess::spawn("nspawn", &mut cmd, dir.path())?;
        let mut c = Container {
            pid1: 0,
            nspawn: Some(nspawn),
            _cgroup: cgroup,
            name: name.to_string(),
            root,
            _dir: dir,
        };
        c.pid1 = c
            .find_pid1()
            .context("waiting for the container's systemd")?;
        c.wait_booted()?;
        Ok(c)
    }

    /// The container's root directory on the host (to copy files in).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The container's PID 1 as the host sees it.
    pub fn pid1(&self) -> u32 {
        self.pid1
    }

    /// Runs `argv` inside the container (all its namespaces) as root.
    pub fn exec(&self, argv: &[&str]) -> Result<Output> {
        self.exec_timeout(argv, EXEC_TIMEOUT)
    }

    /// [`Container::exec`] with an explicit time-out.
    pub fn exec_timeout(&self, argv: &[&str], timeout: Duration) -> Result<Output> {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.pid1.to_string(), "-a", "--"])
            .args(argv)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C.UTF-8");
        run_output(&mut cmd, timeout)
            .with_context(|| format!("in container {}: {}", self.name, argv.join(" ")))
    }

    /// Runs `argv` and returns its stdout; fails with stdout and stderr when
    /// it exits non-zero.
    pub fn ok(&self, argv: &[&str]) -> Result<String> {
        let out = self.exec(argv)?;
        if !out.status.success() {
            bail!(
                "in container {}: `{}` exited with {}\nstdout: {}\nstderr: {}",
                self.name,
                argv.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `sh -c SCRIPT` inside, stdout on success.
    pub fn sh(&self, script: &str) -> Result<String> {
        self.ok(&["sh", "-c", script])
    }

    /// The journal of `unit` (or of the whole system with `None`).
    pub fn journal(&self, unit: Option<&str>) -> String {
        let mut argv = vec!["journalctl", "--no-pager", "-o", "short-monotonic"];
        if let Some(u) = unit {
            argv.extend(["-u", u]);
        }
        match self.exec(&argv) {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(e) => format!("(no journal: {e:#})"),
        }
    }

    /// What the bus and the daemon look like from inside, for a failure's
    /// report: whether the daemon's name has an owner, whether that owner
    /// answers a plain `Ping` (a stuck daemon from a lost reply), the
    /// units' states and the processes.
    pub fn bus_state(&self) -> String {
        let probes: [&[&str]; 4] = [
            &[
                "busctl",
                "--system",
                "--no-pager",
                "status",
                "org.mptcp.Policy1",
            ],
            &[
                "busctl",
                "--system",
                "--timeout=5",
                "call",
                "org.mptcp.Policy1",
                "/org/mptcp/Policy1",
                "org.freedesktop.DBus.Peer",
                "Ping",
            ],
            &["systemctl", "--no-pager", "status", "mptcp-policyd", "dbus"],
            &["ps", "-eo", "pid,stat,wchan:24,etime,cmd"],
        ];
        let mut report = String::new();
        for argv in probes {
            let text = match self.exec(argv) {
                Ok(out) => format!(
                    "{}{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    if out.status.success() {
                        String::new()
                    } else {
                        format!("({})\n", out.status)
                    }
                ),
                Err(e) => format!("({e:#})\n"),
            };
            report.push_str(&format!("$ {}\n{text}", argv.join(" ")));
        }
        report
    }

    /// systemd-nspawn runs systemd as its child; that child is PID 1 inside.
    fn find_pid1(&mut self) -> Result<u32> {
        let nspawn = self
            .nspawn
            .as_ref()
            .and_then(BgProcess::pid)
            .context("systemd-nspawn has no pid")?;
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            let children =
                std::fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children"))
                    .unwrap_or_default();
            // nspawn's first child sets the container up and goes; the
            // container's init is the child that runs systemd (taking the
            // first child raced: now and then it was gone a moment later,
            // and every nsenter into it failed until the boot timed out).
            let init = children.split_whitespace().find_map(|p| {
                let pid: u32 = p.parse().ok()?;
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
                (comm.trim() == "systemd").then_some(pid)
            });
            if let Some(pid) = init {
                return Ok(pid);
            }
            if let Some(st) = self
                .nspawn
                .as_mut()
                .and_then(|n| n.try_status().ok().flatten())
            {
                bail!("systemd-nspawn exited with {st}: {}", self.nspawn_log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!(
            "systemd-nspawn started no systemd within 30 s: {}",
            self.nspawn_log()
        )
    }

    fn wait_booted(&self) -> Result<()> {
        // Two containers boot at once while the tests beside them load
        // both cores: start-up has been seen to take longer than 90 s.
        let end = Instant::now() + BOOT_TIMEOUT;
        let mut state = String::new();
        let mut last_error = String::new();
        while Instant::now() < end {
            // --wait returns once start-up is over (running or degraded).
            match self.exec_timeout(
                &["systemctl", "is-system-running", "--wait"],
                Duration::from_secs(60),
            ) {
                Err(e) => last_error = format!("{e:#}"),
                Ok(out) => {
                    state = String::from_utf8_lossy(&out.stdout).trim().to_string();
                    last_error = String::from_utf8_lossy(&out.stderr).trim().to_string();
                    match state.as_str() {
                        "running" => return Ok(()),
                        "degraded" => {
                            let failed = self.exec(&["systemctl", "--failed", "--no-legend"]);
                            let failed = failed
                                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                                .unwrap_or_default();
                            bail!("the container booted degraded; failed units:\n{failed}");
                        }
                        _ => {}
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // What start-up still waits for, to name the culprit.
        let jobs = self
            .exec_timeout(
                &["systemctl", "list-jobs", "--no-legend"],
                Duration::from_secs(10),
            )
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        // And what the container's systemd said last.
        let journal = self
            .exec_timeout(
                &["journalctl", "-b", "-n", "40", "--no-pager"],
                Duration::from_secs(10),
            )
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("(journalctl: {e:#})"));
        bail!(
            "the container did not finish booting within {} s (state {state:?}, last error: {last_error}); jobs still queued:\n{jobs}\njournal:\n{journal}\n{}",
            BOOT_TIMEOUT.as_secs(),
            self.nspawn_log()
        )
    }

    fn nspawn_log(&self) -> String {
        let Some(n) = &self.nspawn else {
            return String::new();
        };
        format!("{}{}", n.stdout(), n.stderr())
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.pid1 != 0 {
            let _ = self.exec_timeout(
                &["systemctl", "poweroff", "--no-block"],
                Duration::from_secs(10),
            );
        }
        if let Some(mut n) = self.nspawn.take() {
            if n.wait(Duration::from_secs(20)).is_err() {
                n.stop();
            }
        }
        // A SIGKILLed nspawn leaves systemd running: killing PID 1 of the
        // container's pid namespace ends every process in it.
        if self.pid1 != 0 && Path::new(&format!("/proc/{}", self.pid1)).exists() {
            // SAFETY: kill(2) of the container's init, which we started.
            unsafe { libc::kill(self.pid1 as libc::pid_t, libc::SIGKILL) };
            let end = Instant::now() + Duration::from_secs(5);
            while Path::new(&format!("/proc/{}", self.pid1)).exists() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
