//! Event load benchmark for the userspace path manager: a server namespace
//! where the daemon (`path_manager = "userspace"`) follows every MPTCP
//! connection, and a client that opens and closes 10,000 connections, 500
//! at a time, as fast as it goes. Prints a table: connections made against
//! connections the daemon saw, events handled per second, daemon CPU time
//! per event, RSS before and after.
//!
//! Two runs: the daemon's default 8 MiB event buffer, as fast as it goes;
//! then a deliberately small buffer (the kernel drops events: ENOBUFS) with
//! a checkpoint after each batch — the client holds its 500 connections
//! open while the daemon is asked (SIGUSR1) how many it manages, which
//! must reach 500 through the resync — proving no connection is left
//! unmanaged.
//!
//! Subcommands `serve` and `load` are the two ends, run by the benchmark
//! itself inside the namespaces.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use mptcp_policy_tests::bins::default_daemon_bin;
use mptcp_policy_tests::health::proc_cpu_secs;
use mptcp_policy_tests::{sock, BgProcess, Testbed, TestbedOpts};

#[derive(Parser)]
#[command(about = "MPTCP event load benchmark for mptcp-policyd's userspace path manager")]
struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Connections per run.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Connections open at a time.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// The small event buffer of the second run, bytes.
    #[arg(long, default_value_t = 16 * 1024)]
    small_buffer: usize,
    /// The daemon binary.
    #[arg(long)]
    daemon: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Accept MPTCP connections on ADDR, read each until EOF, close.
    Serve {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        ready: PathBuf,
    },
    /// Open BATCH connections to ADDR at once, then close them; repeat.
    /// Prints `open N` after each batch and, with --pause, waits for a line
    /// on stdin before closing.
    Load {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        connections: usize,
        #[arg(long)]
        batch: usize,
        #[arg(long)]
        pause: bool,
    },
}

const ADDR: &str = "10.9.0.1:7100";

const SERVER_POLICY: &str = r#"
[general]
path_manager = "userspace"

[[interface]]
name = "wlan0p"
role = "preferred"

[[interface]]
name = "wwan0p"
role = "backup"
"#;

fn main() -> Result<()> {
    let args = Args::parse();
    match args.cmd {
        Some(Cmd::Serve { addr, ready }) => serve(addr, &ready),
        Some(Cmd::Load {
            addr,
            connections,
            batch,
            pause,
        }) => load(addr, connections, batch, pause),
        None => {
            let daemon = args.daemon.clone().unwrap_or_else(default_daemon_bin);
            let rows = [
                run(
                    &daemon,
                    &args,
                    mptcp_policy_netlink::pm::EVENT_RCVBUF,
                    false,
                )?,
                run(&daemon, &args, args.small_buffer, true)?,
            ];
            print_table(&rows);
            Ok(())
        }
    }
}

fn serve(addr: SocketAddr, ready: &Path) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let std_listener = sock::listen(&addr)?;
        std_listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        std::fs::write(ready, b"ready")?;
        loop {
            let (mut s, _) = listener.accept().await?;
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 512];
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    })
}

fn load(addr: SocketAddr, connections: usize, batch: usize, pause: bool) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (mut made, mut failed) = (0usize, 0usize);
        let mut active = Duration::ZERO;
        let stdin = std::io::stdin();
        while made + failed < connections {
            let t = Instant::now();
            let n = batch.min(connections - made - failed);
            let opens = (0..n).map(|_| async move {
                let s = sock::connect_nonblocking(&addr)?;
                let s = tokio::net::TcpStream::from_std(s)?;
                s.writable().await?;
                match s.take_error()? {
                    Some(e) => Err(anyhow::Error::new(e)),
                    None => Ok(s),
                }
            });
            let results = futures::future::join_all(opens).await;
            if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
                eprintln!("a connection failed: {e:#}");
            }
            let open: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
            failed += n - open.len();
            made += open.len();
            active += t.elapsed();
            if pause {
                println!("open {}", open.len());
                std::io::stdout().flush()?;
                let mut line = String::new();
                stdin.lock().read_line(&mut line)?;
            }
            let t = Instant::now();
            drop(open);
            active += t.elapsed();
        }
        println!(
            "done made={made} failed={failed} active_ms={}",
            active.as_millis()
        );
        Ok(())
    })
}

struct Row {
    buffer: usize,
    made: usize,
    failed: usize,
    seen_by_events: u64,
    found_by_resync: u64,
    overflows: usize,
    resyncs: u64,
    checkpoints: Option<(usize, usize, Duration)>,
    left_over: u64,
    events: u64,
    active: Duration,
    cpu_secs: f64,
    rss_before_kib: u64,
    rss_after_kib: u64,
}

/// What one `stats:` line (SIGUSR1) says.
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    managed: u64,
    events: u64,
    seen: u64,
    resyncs: u64,
    found: u64,
}

fn parse_stats(line: &str) -> Option<Stats> {
    let rest = line.split("stats: ").nth(1)?;
    let num_before = |needle: &str| -> Option<u64> {
        let i = rest.find(needle)?;
        rest[..i].split_whitespace().last()?.parse().ok()
    };
    let num_after = |needle: &str| -> Option<u64> {
        let i = rest.find(needle)? + needle.len();
        rest[i..]
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())?
            .parse()
            .ok()
    };
    Some(Stats {
        managed: num_before(" managed by")?,
        events: num_after("events ")?,
        seen: num_after("connections seen ")?,
        resyncs: num_after("resyncs ")?,
        found: num_after("found by resync ")?,
    })
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

/// Asks the daemon for a stats line and returns it once written.
fn ask_stats(daemon: &BgProcess) -> Result<Stats> {
    let pid = daemon.pid().context("daemon pid")?;
    let before = daemon.stderr().matches("stats: ").count();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGUSR1) };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = daemon.stderr();
        if log.matches("stats: ").count() > before {
            let line = log
                .lines()
                .rev()
                .find(|l| l.contains("stats: "))
                .context("stats line")?;
            return parse_stats(line).with_context(|| format!("cannot parse {line:?}"));
        }
        if Instant::now() > deadline {
            bail!("the daemon wrote no stats line");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run(daemon_bin: &Path, args: &Args, buffer: usize, checkpoints: bool) -> Result<Row> {
    eprintln!(
        "run: {} connections, {} at a time, event buffer {buffer} B{}",
        args.connections,
        args.batch,
        if checkpoints {
            ", checkpoint after each batch"
        } else {
            ", as fast as it goes"
        }
    );
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })?;
    let dir = tb.tmp_dir().to_path_buf();
    let config = dir.join("server-policy.toml");
    std::fs::write(&config, SERVER_POLICY)?;
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", tb.server_ns()])
        .arg(daemon_bin)
        .arg("--config")
        .arg(&config)
        .args(["--no-dbus", "--state-dir"])
        .arg(dir.join("state"))
        .args(["--event-buffer", &buffer.to_string()])
        // per-connection lines off: they would measure the log, not the daemon
        .env(
            "RUST_LOG",
            std::env::var("EVENT_BENCH_LOG")
                .unwrap_or_else(|_| "info,mptcp_policyd::userspace=warn".into()),
        );
    let mut daemon = BgProcess::spawn("daemon", &mut cmd, &dir)?;
    mptcp_policy_tests::wait_for("daemon ready", Duration::from_secs(10), || {
        Ok(daemon.stderr().contains("ready"))
    })?;
    let pid = daemon.pid().context("daemon pid")?;
    let rss_before_kib = rss_kib(pid)?;
    let cpu0 = proc_cpu_secs(pid)?;

    let me = std::env::current_exe()?;
    let ready = dir.join("serve.ready");
    let _server = BgProcess::spawn_in_ns(
        tb.server_ns(),
        "serve",
        &me,
        &[
            "serve".into(),
            "--addr".into(),
            ADDR.into(),
            "--ready".into(),
            ready.display().to_string(),
        ],
        &dir,
    )?;
    mptcp_policy_tests::wait_for("server listening", Duration::from_secs(5), || {
        Ok(ready.exists())
    })?;

    let mut client = Command::new("ip")
        .args(["netns", "exec", tb.client_ns()])
        .arg(&me)
        .args(["load", "--addr", ADDR])
        .args(["--connections", &args.connections.to_string()])
        .args(["--batch", &args.batch.to_string()])
        .args(if checkpoints {
            &["--pause"][..]
        } else {
            &[][..]
        })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("load client")?;
    let mut to_client = client.stdin.take().context("client stdin")?;
    let from_client = BufReader::new(client.stdout.take().context("client stdout")?);
    let (mut made, mut failed, mut active) = (0, 0, Duration::ZERO);
    let (mut cp_total, mut cp_ok, mut cp_slowest) = (0, 0, Duration::ZERO);
    for line in from_client.lines() {
        let line = line?;
        if let Some(n) = line.strip_prefix("open ") {
            let open: u64 = n.parse()?;
            cp_total += 1;
            let t = Instant::now();
            loop {
                let s = ask_stats(&daemon)?;
                if s.managed == open {
                    cp_ok += 1;
                    cp_slowest = cp_slowest.max(t.elapsed());
                    break;
                }
                if t.elapsed() > Duration::from_secs(5) {
                    eprintln!("checkpoint: {open} open, daemon manages {}", s.managed);
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            writeln!(to_client, "close")?;
        } else if let Some(rest) = line.strip_prefix("done ") {
            for kv in rest.split_whitespace() {
                match kv.split_once('=') {
                    Some(("made", v)) => made = v.parse()?,
                    Some(("failed", v)) => failed = v.parse()?,
                    Some(("active_ms", v)) => active = Duration::from_millis(v.parse()?),
                    _ => {}
                }
            }
        }
    }
    let status = client.wait()?;
    if std::env::var_os("EVENT_BENCH_KEEP_LOG").is_some() {
        std::fs::write("/tmp/event-bench-daemon.log", daemon.stderr())?;
    }
    if !status.success() {
        bail!("load client failed: {status}");
    }
    // Let the last closes arrive, then the daemon should track nothing.
    let t = Instant::now();
    let last = loop {
        let s = ask_stats(&daemon)?;
        if s.managed == 0 || t.elapsed() > Duration::from_secs(5) {
            break s;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let cpu_secs = proc_cpu_secs(pid)? - cpu0;
    let rss_after_kib = rss_kib(pid)?;
    // Every overflow (ENOBUFS) is one resync after lost events; the log
    // names a storm of them once, so count them from the stats.
    let overflows = last.resyncs as usize;
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    daemon.wait_success(Duration::from_secs(10))?;
    Ok(Row {
        buffer,
        made,
        failed,
        seen_by_events: last.seen - last.found,
        found_by_resync: last.found,
        overflows,
        resyncs: last.resyncs,
        checkpoints: checkpoints.then_some((cp_ok, cp_total, cp_slowest)),
        left_over: last.managed,
        events: last.events,
        active,
        cpu_secs,
        rss_before_kib,
        rss_after_kib,
    })
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| event buffer | connections made | seen by events | found by resync | never seen | ENOBUFS / resyncs | checkpoints all managed | left over | events | events/s | CPU µs/event | RSS before → after |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let never = (r.made as u64).saturating_sub(r.seen_by_events + r.found_by_resync);
        let cp = match r.checkpoints {
            Some((ok, total, slowest)) => {
                format!("{ok}/{total} (slowest {} ms)", slowest.as_millis())
            }
            None => "— (no pauses)".into(),
        };
        let eps = r.events as f64 / r.active.as_secs_f64().max(1e-9);
        println!(
            "| {} KiB | {}{} | {} | {} | {} | {} / {} | {} | {} | {} | {:.0} | {:.1} | {} → {} KiB |",
            r.buffer / 1024,
            r.made,
            if r.failed > 0 {
                format!(" ({} failed)", r.failed)
            } else {
                String::new()
            },
            r.seen_by_events,
            r.found_by_resync,
            never,
            r.overflows,
            r.resyncs,
            cp,
            r.left_over,
            r.events,
            eps,
            r.cpu_secs * 1e6 / (r.events.max(1) as f64),
            r.rss_before_kib,
            r.rss_after_kib
        );
    }
    println!();
    println!("never seen: opened and closed while the kernel was dropping events (nothing to manage any more); left over: connections the daemon still tracks after all closed (must be 0).");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_stats_line() {
        let line = "2026-11-28T05:00:00Z  INFO stats: 3 connection(s) tracked, 2 managed by the userspace path manager; events 30, connections seen 12, closed 10, resyncs 1, found by resync 4, commands 24, failed 0";
        let s = parse_stats(line).expect("parses");
        assert_eq!(
            (s.managed, s.events, s.seen, s.resyncs, s.found),
            (2, 30, 12, 1, 4)
        );
    }
}
