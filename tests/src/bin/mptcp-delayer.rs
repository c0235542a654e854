//! `mptcp-delayer`: holds every packet of one or more NFQUEUE queues for a
//! fixed delay, then accepts it (this kernel has no netem).
//!
//! `--queue NUM:DELAY_MS` (repeatable). Packets are released in order of
//! release time (a min-heap), so verdicts may go out of packet-id order.
//! The netlink socket is polled with `ppoll` (µs timeouts) and drained
//! non-blocking. Any error ends the process with a message and exit code 1
//! (the NFQUEUE rules have no bypass, so a dead delayer stops traffic
//! loudly) — except `ENOENT` for a packet whose interface went down.

use anyhow::{bail, Context, Result};
use clap::Parser;
use nfq::{Message, Queue, Verdict};
use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "NFQUEUE delayer: hold packets D ms, then accept")]
struct Args {
    /// NUM:DELAY_MS, e.g. 1:5 (repeatable).
    #[arg(long = "queue", required = true, value_parser = parse_queue)]
    queues: Vec<(u16, u64)>,
    /// Kernel queue max length per queue.
    #[arg(long, default_value_t = 65_536)]
    max_len: u32,
    /// File created once all queues are bound.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

fn parse_queue(s: &str) -> Result<(u16, u64), String> {
    let (n, d) = s.split_once(':').ok_or("expected NUM:DELAY_MS")?;
    let n = n.parse().map_err(|e| format!("queue number: {e}"))?;
    let d = d.parse().map_err(|e| format!("delay: {e}"))?;
    Ok((n, d))
}

/// A held packet, ordered by release time (then arrival) for a min-heap.
struct Held {
    release: Instant,
    seq: u64,
    msg: Message,
}

impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the earliest first.
        (o.release, o.seq).cmp(&(self.release, self.seq))
    }
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("mptcp-delayer: FATAL: {e:#}");
        std::process::exit(1);
    }
}

fn open_fds() -> Result<BTreeSet<RawFd>> {
    let mut set = BTreeSet::new();
    for e in std::fs::read_dir("/proc/self/fd").context("listing /proc/self/fd")? {
        if let Some(fd) = e?.file_name().to_str().and_then(|s| s.parse().ok()) {
            set.insert(fd);
        }
    }
    Ok(set)
}

fn sock_int(fd: RawFd, opt: libc::c_int) -> Option<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: pointer/length describe a live c_int.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            &mut v as *mut _ as *mut _,
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// Open the queue and find its socket fd (the `nfq` crate does not expose
/// it): the process's only NETLINK_NETFILTER socket.
fn open_queue() -> Result<(Queue, RawFd)> {
    let q = Queue::open().context("opening NFQUEUE netlink socket")?;
    let cands: Vec<RawFd> = open_fds()?
        .into_iter()
        .filter(|&fd| {
            sock_int(fd, libc::SO_DOMAIN) == Some(libc::AF_NETLINK)
                && sock_int(fd, libc::SO_PROTOCOL) == Some(libc::NETLINK_NETFILTER)
        })
        .collect();
    match cands.as_slice() {
        [fd] => Ok((q, *fd)),
        other => bail!("cannot identify the NFQUEUE socket fd (candidates {other:?})"),
    }
}

fn run(args: &Args) -> Result<()> {
    let (mut q, fd) = open_queue()?;
    let big: libc::c_int = 32 << 20;
    // SAFETY: pointer/length describe a live c_int. Needs CAP_NET_ADMIN; a
    // failure only means the default buffer size, so it is just reported.
    if unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &big as *const _ as *const _,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    } != 0
    {
        eprintln!(
            "mptcp-delayer: SO_RCVBUFFORCE failed: {}",
            std::io::Error::last_os_error()
        );
    }
    let mut delays = HashMap::new();
    for &(num, ms) in &args.queues {
        q.bind(num)
            .with_context(|| format!("binding queue {num}"))?;
        q.set_copy_range(num, 0).context("set_copy_range")?; // metadata only
        q.set_recv_gso(num, true).context("set_recv_gso")?;
        q.set_queue_max_len(num, args.max_len)
            .context("set_queue_max_len")?;
        q.set_fail_open(num, false).context("set_fail_open")?;
        delays.insert(num, Duration::from_millis(ms));
    }
    q.set_nonblocking(true);
    if let Some(p) = &args.ready_file {
        std::fs::write(p, b"ready").context("writing ready file")?;
    }
    eprintln!("mptcp-delayer: ready, queues {:?}", args.queues);

    let mut heap: BinaryHeap<Held> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|h| h.release <= now) {
            if let Some(mut h) = heap.pop() {
                h.msg.set_verdict(Verdict::Accept);
                q.verdict(h.msg).context("sending verdict")?;
            }
        }
        let timeout = heap
            .peek()
            .map(|h| h.release.saturating_duration_since(now));
        wait_readable(fd, timeout)?;
        loop {
            match q.recv() {
                Ok(msg) => {
                    let qn = msg.get_queue_num();
                    let d = delays
                        .get(&qn)
                        .with_context(|| format!("packet from unknown queue {qn}"))?;
                    seq += 1;
                    heap.push(Held {
                        release: Instant::now() + *d,
                        seq,
                        msg,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // The kernel's answer to a verdict for a packet whose
                // interface went down meanwhile: that packet is gone, as on
                // a real radio. Not an error of the delayer.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => return Err(e).context("receiving from NFQUEUE"),
            }
        }
    }
}

/// ppoll the socket for input, at most `timeout` (None = forever).
fn wait_readable(fd: RawFd, timeout: Option<Duration>) -> Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const _);
    // SAFETY: one valid pollfd; `tsp` is null or points to a live timespec.
    let r = unsafe { libc::ppoll(&mut pfd, 1, tsp, std::ptr::null()) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("ppoll");
        }
    }
    if pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        bail!("NFQUEUE socket error (revents {:#x})", pfd.revents);
    }
    Ok(())
}
