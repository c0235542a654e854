//! Running commands (optionally inside a namespace) with timeouts, and
//! background processes that are killed and reaped when their guard drops.

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Default timeout for short configuration commands.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// Wait for `child` at most `timeout`; on timeout kill and reap it, then fail.
pub fn wait_timeout(child: &mut Child, timeout: Duration, what: &str) -> Result<ExitStatus> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(st) = child
            .try_wait()
            .with_context(|| format!("waiting for {what}"))?
        {
            return Ok(st);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} did not finish within {timeout:?} (killed)");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Run `program args…` with a timeout; return stdout, fail with stderr on a non-zero exit.
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Result<String> {
    let what = format!("`{program} {}`", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {what}"))?;
    // Collect output in threads so a chatty command cannot block on a full pipe.
    let out = child.stdout.take().map(read_in_thread);
    let err = child.stderr.take().map(read_in_thread);
    let status = wait_timeout(&mut child, timeout, &what)?;
    let output = Output {
        status,
        stdout: out.and_then(|h| h.join().ok()).unwrap_or_default(),
        stderr: err.and_then(|h| h.join().ok()).unwrap_or_default(),
    };
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Run a prepared command with a timeout (stdin `/dev/null`) and return its
/// `Output` whatever the exit status (for commands expected to fail).
pub fn run_output(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let what = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {what}"))?;
    let out = child.stdout.take().map(read_in_thread);
    let err = child.stderr.take().map(read_in_thread);
    let status = wait_timeout(&mut child, timeout, &what)?;
    Ok(Output {
        status,
        stdout: out.and_then(|h| h.join().ok()).unwrap_or_default(),
        stderr: err.and_then(|h| h.join().ok()).unwrap_or_default(),
    })
}

fn read_in_thread<R: std::io::Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// `ip args…` (use `-n NS` in `args` to act inside a namespace).
pub fn ip(args: &[&str]) -> Result<String> {
    run("ip", args, CMD_TIMEOUT)
}

/// `ip netns exec NS program args…` with the default timeout.
pub fn ns_exec(ns: &str, program: &str, args: &[&str]) -> Result<String> {
    let mut full = vec!["netns", "exec", ns, program];
    full.extend_from_slice(args);
    run("ip", &full, CMD_TIMEOUT)
}

/// A process running in the background (in a namespace), stdout/stderr to
/// files. Dropping the guard terminates it (SIGTERM, then SIGKILL) and reaps it.
#[derive(Debug)]
pub struct BgProcess {
    child: Option<Child>,
    name: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl BgProcess {
    /// Spawn `ip netns exec NS program args…`; logs go to `log_dir/<name>.{out,err}`.
    pub fn spawn_in_ns(
        ns: &str,
        name: &str,
        program: &Path,
        args: &[String],
        log_dir: &Path,
    ) -> Result<Self> {
        let stdout = log_dir.join(format!("{name}.out"));
        let stderr = log_dir.join(format!("{name}.err"));
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).context("creating stdout log")?)
            .stderr(File::create(&stderr).context("creating stderr log")?)
            .spawn()
            .with_context(|| format!("spawning {name} ({}) in {ns}", program.display()))?;
        Ok(Self {
            child: Some(child),
            name: name.to_string(),
            stdout,
            stderr,
        })
    }

    /// Spawn an arbitrary prepared command (in the current namespaces); logs
    /// go to `log_dir/<name>.{out,err}`, stdin is `/dev/null`.
    pub fn spawn(name: &str, cmd: &mut Command, log_dir: &Path) -> Result<Self> {
        let stdout = log_dir.join(format!("{name}.out"));
        let stderr = log_dir.join(format!("{name}.err"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).context("creating stdout log")?)
            .stderr(File::create(&stderr).context("creating stderr log")?)
            .spawn()
            .with_context(|| format!("spawning {name} ({:?})", cmd.get_program()))?;
        Ok(Self {
            child: Some(child),
            name: name.to_string(),
            stdout,
            stderr,
        })
    }

    /// Process id (`ip netns exec` execs the program, so this is the program).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Path of the stdout log.
    pub fn stdout_path(&self) -> &Path {
        &self.stdout
    }

    /// Path of the stderr log.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr
    }

    /// Captured stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Captured stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `Some(status)` if the process has exited.
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(c) => Ok(c.try_wait()?),
            None => bail!("{} already reaped", self.name),
        }
    }

    /// Wait for exit at most `timeout` (killed on timeout).
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let name = self.name.clone();
        let child = self.child.as_mut().context("already reaped")?;
        let st = wait_timeout(child, timeout, &name);
        self.child = None;
        st.with_context(|| format!("stderr of {name}: {}", self.stderr().trim()))
    }

    /// Wait for exit and fail unless it exited 0 (stderr in the error).
    pub fn wait_success(&mut self, timeout: Duration) -> Result<()> {
        let st = self.wait(timeout)?;
        if !st.success() {
            bail!("{} exited with {st}: {}", self.name, self.stderr().trim());
        }
        Ok(())
    }

    /// Terminate (SIGTERM, up to 1 s, then SIGKILL) and reap.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Ok(None) = c.try_wait() {
                // SAFETY: plain kill(2) on our own child's pid.
                unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
                if wait_timeout(&mut c, Duration::from_secs(1), &self.name).is_ok() {
                    return;
                }
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for BgProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Poll `cond` every 5 ms until it returns `Ok(true)` or `timeout` elapses.
pub fn wait_for(
    what: &str,
    timeout: Duration,
    mut cond: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let end = Instant::now() + timeout;
    loop {
        if cond()? {
            return Ok(());
        }
        if Instant::now() >= end {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
