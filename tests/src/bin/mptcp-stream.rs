//! `mptcp-stream`: a paced MPTCP stream between a server and a client.
//!
//! The sender writes `--chunk` bytes every `--interval-us` (absolute deadlines
//! on CLOCK_MONOTONIC) for `--duration-ms`, then shuts down its side and waits
//! for the peer to close. The receiver records every read as
//! (CLOCK_MONOTONIC µs, bytes). Both write a JSON [`Record`] to `--record`;
//! any socket error is recorded and makes the exit code non-zero. With
//! `--on-ms N --off-ms M` the sender streams N ms, pauses M ms, and so on;
//! with `--idle` it sends nothing at all for the duration (an idle connection). The server
//! keeps its listener open while the connection runs (MPTCP joins need it).
//!
//! `--rr-interval-ms N` (instead of `--send`/`--recv`, on both sides) is
//! request/response: the client writes a `--chunk` request every N ms for
//! `--duration-ms` while a second thread reads the answers, the server
//! answers each complete request with `--chunk` bytes. The client records
//! each request's send time and the time its whole answer was read
//! ([`Record::responses`]): the latency an interactive app would see.

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use mptcp_policy_tests::clock::{monotonic_us, sleep_until_us};
use mptcp_policy_tests::stream::RR_MODE;
use mptcp_policy_tests::{sock, Record};
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Role {
    Server,
    Client,
}

#[derive(Parser, Debug)]
#[command(about = "Paced MPTCP stream (server or client, either direction)")]
#[command(group = clap::ArgGroup::new("mode").required(true).args(["send", "recv", "rr_interval_ms"]))]
struct Args {
    /// Listen (server) or connect (client).
    role: Role,
    /// Address to listen on / connect to, e.g. 10.9.0.1:5000 or [fd00:9::1]:5000.
    #[arg(long)]
    addr: SocketAddr,
    /// This side sends.
    #[arg(long)]
    send: bool,
    /// This side receives.
    #[arg(long)]
    recv: bool,
    /// Client: bind to this local address first.
    #[arg(long)]
    local: Option<IpAddr>,
    /// Bytes per write.
    #[arg(long, default_value_t = 1024)]
    chunk: usize,
    /// Interval between writes (µs).
    #[arg(long, default_value_t = 1000)]
    interval_us: u64,
    /// How long the sender streams (ms).
    #[arg(long, default_value_t = 3000)]
    duration_ms: u64,
    /// Where to write the JSON record.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Server: file created once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Fail if a read or write blocks longer than this (ms).
    #[arg(long, default_value_t = 15_000)]
    idle_timeout_ms: u64,
    /// Keep Nagle's algorithm (default: TCP_NODELAY).
    #[arg(long)]
    nagle: bool,
    /// Sender: stream for this long (ms), then pause `--off-ms`, repeat
    /// (0: stream without pauses).
    #[arg(long, default_value_t = 0)]
    on_ms: u64,
    /// Sender: pause length (ms) of the on/off pattern.
    #[arg(long, default_value_t = 0)]
    off_ms: u64,
    /// Sender: connect and exchange nothing for `--duration-ms`, then close.
    #[arg(long)]
    idle: bool,
    /// Request/response with a request every N ms (both sides; replaces
    /// `--send`/`--recv`).
    #[arg(long, conflicts_with_all = ["idle", "on_ms", "off_ms"],
          value_parser = clap::value_parser!(u64).range(1..))]
    rr_interval_ms: Option<u64>,
}

fn main() {
    let args = Args::parse();
    let mut rec = Record {
        role: format!("{:?}", args.role).to_lowercase(),
        mode: if args.rr_interval_ms.is_some() {
            RR_MODE
        } else if args.send {
            "send"
        } else {
            "recv"
        }
        .into(),
        ..Record::default()
    };
    let result = run(&args, &mut rec);
    if let Err(e) = &result {
        rec.error = Some(format!("{e:#}"));
    }
    if rec.end_us == 0 {
        rec.end_us = monotonic_us();
    }
    if let Some(p) = &args.record {
        if let Err(e) = rec.save(p) {
            eprintln!("mptcp-stream: {e:#}");
            std::process::exit(2);
        }
    }
    eprintln!(
        "mptcp-stream {} {}: sent {} received {} bytes, subflows {:?}",
        rec.role, rec.mode, rec.bytes_sent, rec.bytes_received, rec.mptcp_subflows
    );
    if let Err(e) = result {
        eprintln!("mptcp-stream: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: &Args, rec: &mut Record) -> Result<()> {
    match args.role {
        Role::Server => {
            let listener = sock::listen(&args.addr)?;
            if let Some(p) = &args.ready_file {
                std::fs::write(p, b"ready").context("writing ready file")?;
            }
            let (stream, peer) = listener.accept().context("accept")?;
            eprintln!("mptcp-stream server: connection from {peer}");
            let r = serve(args, stream, rec);
            drop(listener); // only now: joins need the listener while we run
            r
        }
        Role::Client => {
            let stream = sock::connect(&args.addr, args.local)?;
            serve(args, stream, rec)
        }
    }
}

fn serve(args: &Args, mut s: TcpStream, rec: &mut Record) -> Result<()> {
    rec.start_us = monotonic_us();
    let idle = Some(Duration::from_millis(args.idle_timeout_ms.max(1)));
    s.set_read_timeout(idle)?;
    s.set_write_timeout(idle)?;
    s.set_nodelay(!args.nagle).context("TCP_NODELAY")?;
    let r = if let Some(interval_ms) = args.rr_interval_ms {
        match args.role {
            Role::Client => rr_client(args, interval_ms, &mut s, rec),
            Role::Server => rr_server(args, &mut s, rec),
        }
    } else if args.send {
        send(args, &mut s, rec)
    } else {
        receive(&mut s, rec)
    };
    rec.mptcp_subflows = sock::mptcp_subflows(&s);
    rec.end_us = monotonic_us();
    r
}

fn send(args: &Args, s: &mut TcpStream, rec: &mut Record) -> Result<()> {
    if args.chunk == 0 || args.interval_us == 0 {
        bail!("--chunk and --interval-us must be > 0");
    }
    if (args.on_ms == 0) != (args.off_ms == 0) {
        bail!("--on-ms and --off-ms go together");
    }
    let buf = vec![0x5au8; args.chunk];
    let start = monotonic_us();
    let end = start + args.duration_ms * 1000;
    if args.idle {
        sleep_until_us(end);
    }
    let (on, period) = (args.on_ms * 1000, (args.on_ms + args.off_ms) * 1000);
    let mut deadline = if args.idle { end } else { start };
    while deadline < end {
        if period > 0 {
            let phase = (deadline - start) % period;
            if phase >= on {
                deadline += period - phase;
                continue;
            }
        }
        sleep_until_us(deadline);
        s.write_all(&buf).context("write")?;
        rec.bytes_sent += buf.len() as u64;
        deadline += args.interval_us;
    }
    s.shutdown(Shutdown::Write).context("shutdown(SHUT_WR)")?;
    // Wait for the receiver to read everything and close.
    let mut sink = [0u8; 4096];
    loop {
        let n = s.read(&mut sink).context("read after shutdown")?;
        if n == 0 {
            return Ok(());
        }
        rec.bytes_received += n as u64;
    }
}

fn receive(s: &mut TcpStream, rec: &mut Record) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    rec.reads.reserve(16 * 1024);
    loop {
        let n = s.read(&mut buf).context("read")?;
        if n == 0 {
            return Ok(());
        }
        rec.reads.push((monotonic_us(), n as u32));
        rec.bytes_received += n as u64;
    }
}

/// What the client's response reader saw.
#[derive(Default)]
struct Answers {
    reads: Vec<(u64, u32)>,
    bytes: u64,
    /// Time the k-th complete answer was read.
    done: Vec<u64>,
    error: Option<anyhow::Error>,
}

fn rr_client(args: &Args, interval_ms: u64, s: &mut TcpStream, rec: &mut Record) -> Result<()> {
    if args.chunk == 0 || interval_ms == 0 {
        bail!("--chunk and --rr-interval-ms must be > 0");
    }
    let chunk = args.chunk;
    // Answers are read on their own thread so that a slow one never delays
    // the next request (requests pipeline when the RTT exceeds the interval).
    let mut rd = s.try_clone().context("cloning the socket")?;
    let reader = std::thread::spawn(move || read_answers(&mut rd, chunk));
    let buf = vec![0x5au8; chunk];
    let start = monotonic_us();
    let end = start + args.duration_ms * 1000;
    let mut sent = Vec::with_capacity((args.duration_ms / interval_ms + 1) as usize);
    let mut write = || -> Result<()> {
        let mut deadline = start;
        while deadline < end {
            sleep_until_us(deadline);
            let t = monotonic_us();
            s.write_all(&buf).context("write request")?;
            sent.push(t);
            rec.bytes_sent += chunk as u64;
            deadline += interval_ms * 1000;
        }
        s.shutdown(Shutdown::Write).context("shutdown(SHUT_WR)")
    };
    let written = write();
    if written.is_err() {
        // Unblock the reader: it would wait for answers that cannot come.
        let _ = s.shutdown(Shutdown::Both);
    }
    let a = reader
        .join()
        .map_err(|_| anyhow::anyhow!("response reader panicked"))?;
    rec.reads = a.reads;
    rec.bytes_received = a.bytes;
    rec.responses = sent
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, a.done.get(i).copied().unwrap_or(0)))
        .collect();
    written?;
    if let Some(e) = a.error {
        return Err(e);
    }
    if a.done.len() != sent.len() || !a.bytes.is_multiple_of(chunk as u64) {
        bail!(
            "{} requests sent, {} answered ({} bytes) when the server closed",
            sent.len(),
            a.done.len(),
            a.bytes
        );
    }
    Ok(())
}

/// Read answers until EOF; the k-th is complete once k × `chunk` bytes arrived.
fn read_answers(s: &mut TcpStream, chunk: usize) -> Answers {
    let mut a = Answers::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return a,
            Ok(n) => {
                let t = monotonic_us();
                a.reads.push((t, n as u32));
                a.bytes += n as u64;
                while a.bytes >= (a.done.len() as u64 + 1) * chunk as u64 {
                    a.done.push(t);
                }
            }
            Err(e) => {
                a.error = Some(anyhow::Error::new(e).context("read response"));
                return a;
            }
        }
    }
}

fn rr_server(args: &Args, s: &mut TcpStream, rec: &mut Record) -> Result<()> {
    if args.chunk == 0 {
        bail!("--chunk must be > 0");
    }
    let chunk = args.chunk as u64;
    let answer = vec![0xa5u8; args.chunk];
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = s.read(&mut buf).context("read request")?;
        if n == 0 {
            break;
        }
        rec.reads.push((monotonic_us(), n as u32));
        rec.bytes_received += n as u64;
        while rec.bytes_sent + chunk <= rec.bytes_received {
            s.write_all(&answer).context("write response")?;
            rec.bytes_sent += chunk;
        }
    }
    if !rec.bytes_received.is_multiple_of(chunk) {
        bail!(
            "client closed mid-request ({} bytes of a {chunk}-byte request)",
            rec.bytes_received % chunk
        );
    }
    s.shutdown(Shutdown::Write).context("shutdown(SHUT_WR)")
}
