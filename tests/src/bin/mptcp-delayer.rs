//! `mptcp-delayer`: holds every packet of one or more NFQUEUE queues for a
//! fixed delay, then accepts it (this kernel has no netem).
//!
//! `--queue NUM:DELAY_MS` (repeatable). Packets are released in order of
//! release time (a min-heap), so verdicts may go out of packet-id order.
//! The netlink socket is polled with `ppoll` (µs timeouts) and drained
//! non-blocking. Any error ends the process with a message and exit code 1
//! (the NFQUEUE rules have no bypass, so a dead delayer stops traffic
//! loudly) — except `ENOENT` for a packet whose interface went down.
//!
//! `--ramp NUM:TO_MS:OVER_MS` (repeatable) makes queue NUM's delay fade: on
//! SIGUSR1 it goes linearly from the `--queue` delay to TO_MS over OVER_MS,
//! then stays there; SIGUSR2 restores the `--queue` delay at once. A packet
//! gets the delay in force when the delayer receives it. Each queue stays a
//! FIFO, as a radio is: when the delay drops, a packet waits for the ones
//! held before it instead of overtaking them (TCP would take reordering for
//! loss).

use anyhow::{bail, Context, Result};
// clock_gettime underneath: async-signal-safe, so the handler may use it.
use clap::Parser;
use mptcp_policy_tests::clock::monotonic_us;
use nfq::{Message, Queue, Verdict};
use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "NFQUEUE delayer: hold packets D ms, then accept")]
struct Args {
    /// NUM:DELAY_MS, e.g. 1:5 (repeatable).
    #[arg(long = "queue", required = true, value_parser = parse_queue)]
    queues: Vec<(u16, u64)>,
    /// NUM:TO_MS:OVER_MS, e.g. 1:100:1000: on SIGUSR1 queue NUM's delay
    /// rises from its `--queue` delay to TO_MS over OVER_MS (repeatable).
    #[arg(long = "ramp", value_parser = parse_ramp)]
    ramps: Vec<(u16, u64, u64)>,
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

fn parse_ramp(s: &str) -> Result<(u16, u64, u64), String> {
    let mut it = s.split(':');
    let (Some(n), Some(to), Some(over), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err("expected NUM:TO_MS:OVER_MS".into());
    };
    let n = n.parse().map_err(|e| format!("queue number: {e}"))?;
    let to = to.parse().map_err(|e| format!("target delay: {e}"))?;
    let over = over.parse().map_err(|e| format!("ramp length: {e}"))?;
    Ok((n, to, over))
}

/// CLOCK_MONOTONIC µs at which the running ramp began; 0 = no ramp. Written
/// by the signal handler, hence an atomic.
static RAMP_START_US: AtomicU64 = AtomicU64::new(0);

/// SIGUSR1 starts the ramp (a second one while it runs is ignored: the delay
/// would jump back down), SIGUSR2 ends it. Only atomics and clock_gettime:
/// async-signal-safe.
extern "C" fn on_signal(sig: libc::c_int) {
    if sig == libc::SIGUSR1 {
        let _ = RAMP_START_US.compare_exchange(
            0,
            monotonic_us().max(1),
            AtomicOrdering::SeqCst,
            AtomicOrdering::SeqCst,
        );
    } else {
        RAMP_START_US.store(0, AtomicOrdering::SeqCst);
    }
}

/// Install [`on_signal`] for SIGUSR1/SIGUSR2. SA_RESTART keeps the other
/// syscalls going; ppoll still returns EINTR, which `wait_readable` accepts.
fn install_signal_handlers() -> Result<()> {
    for sig in [libc::SIGUSR1, libc::SIGUSR2] {
        // SAFETY: a zeroed sigaction is valid; the handler only touches
        // atomics and clock_gettime (async-signal-safe).
        let r = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error()).context("sigaction");
        }
    }
    Ok(())
}

/// One queue's delay: `base`, or during a ramp `to` reached linearly over `over`.
#[derive(Debug, Clone, Copy)]
struct QueueDelay {
    base: Duration,
    ramp: Option<(Duration, Duration)>,
}

impl QueueDelay {
    /// The delay for a packet received `since_ramp` after the ramp began
    /// (None: no ramp running).
    fn at(&self, since_ramp: Option<Duration>) -> Duration {
        let (Some((to, over)), Some(t)) = (self.ramp, since_ramp) else {
            return self.base;
        };
        if t >= over {
            return to;
        }
        // t < over, so over > 0; i128 ns: exact, and no overflow or sign
        // trouble for a falling ramp (to < base).
        let (b, to) = (self.base.as_nanos() as i128, to.as_nanos() as i128);
        let ns = b + (to - b) * t.as_nanos() as i128 / over.as_nanos() as i128;
        Duration::from_nanos(ns.clamp(0, u64::MAX as i128) as u64)
    }
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
    // Before anything else: SIGUSR1/2 would otherwise kill us.
    install_signal_handlers()?;
    let mut delays = HashMap::new();
    for &(num, ms) in &args.queues {
        let d = QueueDelay {
            base: Duration::from_millis(ms),
            ramp: None,
        };
        if delays.insert(num, d).is_some() {
            bail!("queue {num} given twice");
        }
    }
    for &(num, to, over) in &args.ramps {
        let d = delays
            .get_mut(&num)
            .with_context(|| format!("--ramp for queue {num}, which has no --queue"))?;
        if d.ramp.is_some() {
            bail!("two --ramp for queue {num}");
        }
        d.ramp = Some((Duration::from_millis(to), Duration::from_millis(over)));
    }
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
    for &(num, _) in &args.queues {
        q.bind(num)
            .with_context(|| format!("binding queue {num}"))?;
        q.set_copy_range(num, 0).context("set_copy_range")?; // metadata only
        q.set_recv_gso(num, true).context("set_recv_gso")?;
        q.set_queue_max_len(num, args.max_len)
            .context("set_queue_max_len")?;
        q.set_fail_open(num, false).context("set_fail_open")?;
    }
    q.set_nonblocking(true);
    if let Some(p) = &args.ready_file {
        std::fs::write(p, b"ready").context("writing ready file")?;
    }
    eprintln!(
        "mptcp-delayer: ready, queues {:?}, ramps {:?}",
        args.queues, args.ramps
    );

    let mut heap: BinaryHeap<Held> = BinaryHeap::new();
    let mut seq = 0u64;
    // Per queue, the latest release time handed out (FIFO order).
    let mut last_release: HashMap<u16, Instant> = HashMap::new();
    let mut ramp_seen = 0u64;
    loop {
        let ramp_start = RAMP_START_US.load(AtomicOrdering::SeqCst);
        if ramp_start != ramp_seen {
            ramp_seen = ramp_start;
            let what = if ramp_start == 0 { "reset" } else { "started" };
            eprintln!("mptcp-delayer: ramp {what}");
        }
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
                    let ramp = RAMP_START_US.load(AtomicOrdering::SeqCst);
                    let since = (ramp != 0)
                        .then(|| Duration::from_micros(monotonic_us().saturating_sub(ramp)));
                    let mut release = Instant::now() + d.at(since);
                    let last = last_release.entry(qn).or_insert(release);
                    release = release.max(*last);
                    *last = release;
                    seq += 1;
                    heap.push(Held { release, seq, msg });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_is_linear_then_flat() {
        let ms = Duration::from_millis;
        let d = QueueDelay {
            base: ms(5),
            ramp: Some((ms(105), ms(1000))),
        };
        assert_eq!(d.at(None), ms(5));
        assert_eq!(d.at(Some(ms(0))), ms(5));
        assert_eq!(d.at(Some(ms(500))).as_micros(), 55_000);
        assert_eq!(d.at(Some(ms(1000))), ms(105));
        assert_eq!(d.at(Some(ms(9000))), ms(105));
        let down = QueueDelay {
            base: ms(100),
            ramp: Some((ms(0), ms(0))),
        };
        assert_eq!(down.at(Some(ms(0))), Duration::ZERO);
        let flat = QueueDelay {
            base: ms(7),
            ramp: None,
        };
        assert_eq!(flat.at(Some(ms(300))), ms(7));
    }

    #[test]
    fn ramp_arg() {
        assert_eq!(parse_ramp("1:100:1000"), Ok((1, 100, 1000)));
        assert!(parse_ramp("1:100").is_err());
        assert!(parse_ramp("1:100:1000:5").is_err());
        assert!(parse_ramp("x:1:1").is_err());
    }
}
