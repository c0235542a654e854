//! Running one `mptcp-stream` server/client pair across a [`Testbed`].

use crate::process::{wait_for, BgProcess};
use crate::record::Record;
use crate::testbed::{Testbed, SERVER_V4, SERVER_V6};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// [`Record::mode`] of both sides of a request/response run.
pub const RR_MODE: &str = "rr";

/// Which way the payload flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Direction {
    /// Client (phone) → server.
    Upload,
    /// Server → client (phone).
    Download,
}

impl Direction {
    /// "upload" / "download".
    pub fn name(self) -> &'static str {
        match self {
            Direction::Upload => "upload",
            Direction::Download => "download",
        }
    }
}

/// What to stream.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub direction: Direction,
    pub duration_ms: u64,
    pub chunk: usize,
    pub interval_us: u64,
    pub port: u16,
    pub ipv6: bool,
    /// On/off sender: stream `on_ms`, pause `off_ms`, repeat (0/0: continuous).
    pub on_ms: u64,
    pub off_ms: u64,
    /// Idle connection: connect, send nothing for `duration_ms`, close.
    pub idle: bool,
    /// Request/response (0: off): the client sends a `chunk`-byte request
    /// every `rr_interval_ms` for `duration_ms`, the server answers each
    /// with `chunk` bytes; `direction`, `interval_us` and on/off are ignored.
    /// The client's record holds the response times (it is the "sender").
    pub rr_interval_ms: u64,
}

impl Default for StreamSpec {
    fn default() -> Self {
        Self {
            direction: Direction::Upload,
            duration_ms: 3000,
            chunk: 1024,
            interval_us: 1000,
            port: 5201,
            ipv6: false,
            on_ms: 0,
            off_ms: 0,
            idle: false,
            rr_interval_ms: 0,
        }
    }
}

/// A running stream; both processes are killed on drop if still running.
#[derive(Debug)]
pub struct StreamRun {
    server: BgProcess,
    client: BgProcess,
    server_rec: PathBuf,
    client_rec: PathBuf,
    direction: Direction,
}

/// Both sides' records after a stream. Request/response: the client is the
/// sender (requests, [`Record::responses`]), the server the receiver.
#[derive(Debug)]
pub struct StreamResult {
    pub sender: Record,
    pub receiver: Record,
}

impl StreamResult {
    /// Fail if a side recorded an error or bytes were lost.
    pub fn check(&self) -> Result<()> {
        for r in [&self.sender, &self.receiver] {
            if let Some(e) = &r.error {
                bail!("{} ({}) error: {e}", r.role, r.mode);
            }
        }
        if self.sender.bytes_sent != self.receiver.bytes_received {
            bail!(
                "sent {} bytes but received {}",
                self.sender.bytes_sent,
                self.receiver.bytes_received
            );
        }
        if self.sender.mode == RR_MODE {
            let (client, server) = (&self.sender, &self.receiver);
            if server.bytes_sent != client.bytes_received {
                bail!(
                    "server answered {} bytes but the client received {}",
                    server.bytes_sent,
                    client.bytes_received
                );
            }
            let lost = client.responses.iter().filter(|r| r.1 == 0).count();
            if lost > 0 {
                bail!("{lost} of {} requests unanswered", client.responses.len());
            }
        }
        Ok(())
    }
}

impl StreamRun {
    /// Start the server in the server namespace, wait until it listens, then
    /// start the client in the client namespace.
    pub fn start(tb: &Testbed, bin: &Path, spec: &StreamSpec) -> Result<Self> {
        let dir = tb.tmp_dir();
        let addr = if spec.ipv6 {
            format!("[{SERVER_V6}]:{}", spec.port)
        } else {
            format!("{SERVER_V4}:{}", spec.port)
        };
        let rr = spec.rr_interval_ms > 0;
        let rr_flag = || {
            vec![
                "--rr-interval-ms".to_string(),
                spec.rr_interval_ms.to_string(),
            ]
        };
        let (srv_mode, cli_mode) = match spec.direction {
            _ if rr => (rr_flag(), rr_flag()),
            Direction::Upload => (vec!["--recv".to_string()], vec!["--send".to_string()]),
            Direction::Download => (vec!["--send".to_string()], vec!["--recv".to_string()]),
        };
        // Both sides may legitimately wait through a whole pause (or the
        // whole idle connection, or between requests) for a byte.
        let quiet_ms = if spec.idle {
            spec.duration_ms
        } else {
            spec.off_ms.max(spec.rr_interval_ms)
        };
        let idle_timeout_ms = (15_000 + quiet_ms).to_string();
        let common = |mode: &[String], rec: &Path| -> Vec<String> {
            let mut v: Vec<String> = [
                "--addr",
                &addr,
                "--chunk",
                &spec.chunk.to_string(),
                "--interval-us",
                &spec.interval_us.to_string(),
                "--duration-ms",
                &spec.duration_ms.to_string(),
                "--record",
                &rec.display().to_string(),
                "--idle-timeout-ms",
                &idle_timeout_ms,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            v.extend_from_slice(mode);
            if spec.on_ms > 0 || spec.off_ms > 0 {
                v.extend([
                    "--on-ms".to_string(),
                    spec.on_ms.to_string(),
                    "--off-ms".to_string(),
                    spec.off_ms.to_string(),
                ]);
            }
            if spec.idle {
                v.push("--idle".to_string());
            }
            v
        };
        // Per port: several streams may run at once on one testbed.
        let port = spec.port;
        let server_rec = dir.join(format!("server-{port}.json"));
        let client_rec = dir.join(format!("client-{port}.json"));
        let ready = dir.join(format!("server-{port}.ready"));
        let _ = std::fs::remove_file(&ready);
        let mut sargs = vec!["server".to_string()];
        sargs.extend(common(&srv_mode, &server_rec));
        sargs.extend(["--ready-file".to_string(), ready.display().to_string()]);
        let mut server = BgProcess::spawn_in_ns(
            tb.server_ns(),
            &format!("stream-server-{port}"),
            bin,
            &sargs,
            dir,
        )?;
        wait_for("stream server to listen", Duration::from_secs(5), || {
            if let Some(st) = server.try_status()? {
                bail!("stream server exited ({st}): {}", server.stderr().trim());
            }
            Ok(ready.exists())
        })?;
        let mut cargs = vec!["client".to_string()];
        cargs.extend(common(&cli_mode, &client_rec));
        let client = BgProcess::spawn_in_ns(
            tb.client_ns(),
            &format!("stream-client-{port}"),
            bin,
            &cargs,
            dir,
        )?;
        Ok(Self {
            server,
            client,
            server_rec,
            client_rec,
            // Request/response: the client's record is the sender's.
            direction: if rr {
                Direction::Upload
            } else {
                spec.direction
            },
        })
    }

    /// Wait for both sides to finish (at most `timeout` each) and load their records.
    pub fn wait(mut self, timeout: Duration) -> Result<StreamResult> {
        let cst = self.client.wait(timeout).context("stream client")?;
        let sst = self.server.wait(timeout).context("stream server")?;
        let client = Record::load(&self.client_rec)
            .with_context(|| format!("client exited {cst}: {}", self.client.stderr().trim()))?;
        let server = Record::load(&self.server_rec)
            .with_context(|| format!("server exited {sst}: {}", self.server.stderr().trim()))?;
        Ok(match self.direction {
            Direction::Upload => StreamResult {
                sender: client,
                receiver: server,
            },
            Direction::Download => StreamResult {
                sender: server,
                receiver: client,
            },
        })
    }
}
