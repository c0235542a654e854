//! The health monitor: a thread that watches the MPTCP subflows of the
//! monitored (preferred) paths through inet_diag, feeds each path's pure
//! state machine (`policy::PathHealth`) and tells the engine about
//! transitions. It polls fast only while some subflow has data in flight or
//! was receiving; when everything is idle it sleeps until the engine wakes
//! it (the interface counters grew), so idle costs no polls. Stalled paths
//! are probed (a TCP connection attempt over the path) until they answer.

mod probe;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use mptcp_policy::{HealthConfig, PathHealth, ProbeResult, SubflowSample, Transition};
use mptcp_policy_netlink::diag::{DiagSocket, SubflowDiag};
use tokio::sync::{mpsc, watch};

/// What the monitor needs to know from the engine.
#[derive(Debug, Clone, Default)]
pub struct HealthContext {
    pub cfg: HealthConfig,
    /// Paths to watch: interface name and its local addresses.
    pub paths: Vec<(String, Vec<IpAddr>)>,
    /// Paths the engine holds as stalled. One the monitor does not (its
    /// state was reset, e.g. the link went down and up meanwhile) is
    /// reported good again, so no path stays demoted with nobody probing it.
    pub stalled: Vec<String>,
    /// Degraded paths whose traffic a backup now carries.
    pub handed_over: Vec<String>,
}

/// A path changed state.
#[derive(Debug)]
pub struct HealthEvent {
    pub interface: String,
    pub transition: Transition,
    /// When the sample that decided it was taken (reaction time start).
    pub at: Instant,
}

/// The engine's side of the monitor.
pub struct HealthMonitor {
    context: watch::Sender<HealthContext>,
    wake: std_mpsc::Sender<()>,
}

impl HealthMonitor {
    /// Starts the monitor thread in the daemon's network namespace.
    pub fn spawn(events: mpsc::Sender<HealthEvent>) -> std::io::Result<HealthMonitor> {
        let (context, ctx_rx) = watch::channel(HealthContext::default());
        let (wake, wake_rx) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("health".into())
            .spawn(move || Monitor::new(ctx_rx, wake_rx, events).run())?;
        Ok(HealthMonitor { context, wake })
    }

    /// New configuration or set of paths.
    pub fn update(&self, ctx: HealthContext) {
        self.context.send_replace(ctx);
        let _ = self.wake.send(());
    }

    /// Traffic was seen: start polling.
    pub fn wake(&self) {
        let _ = self.wake.send(());
    }
}

struct Monitor {
    ctx: watch::Receiver<HealthContext>,
    wake: std_mpsc::Receiver<()>,
    events: mpsc::Sender<HealthEvent>,
    paths: HashMap<String, PathHealth>,
    /// The last peer each path talked to, and from which address: the probe target.
    peers: HashMap<String, (IpAddr, SocketAddr, Duration)>,
    probes_tx: std_mpsc::Sender<ProbeAnswer>,
    probes_rx: std_mpsc::Receiver<ProbeAnswer>,
    probing: std::collections::HashSet<String>,
    /// Stale stalls already reported as good (until the engine catches up).
    resets_sent: std::collections::HashSet<String>,
    started: Instant,
    diag_warned: bool,
    /// The watched paths' subflows as last read, the paths they were read
    /// for, and when the last full dump was.
    subflows: Vec<SubflowDiag>,
    known: Vec<(String, Vec<IpAddr>)>,
    last_full_dump: Option<Instant>,
}

/// `TCP_ESTABLISHED` in inet_diag's state field.
const TCP_ESTABLISHED: u8 = 1;

/// A finished probe: the path's name and what it found.
type ProbeAnswer = (String, ProbeResult);

/// Longest sleep while nothing is busy but a path is not good.
const SLOW_POLL: Duration = Duration::from_millis(200);
/// A full subflow dump at least this often (new subflows show up); exact
/// per-socket reads in between.
const FULL_DUMP_EVERY: Duration = Duration::from_millis(250);

impl Monitor {
    fn new(
        ctx: watch::Receiver<HealthContext>,
        wake: std_mpsc::Receiver<()>,
        events: mpsc::Sender<HealthEvent>,
    ) -> Monitor {
        let (probes_tx, probes_rx) = std_mpsc::channel();
        Monitor {
            ctx,
            wake,
            events,
            paths: HashMap::new(),
            peers: HashMap::new(),
            probes_tx,
            probes_rx,
            probing: Default::default(),
            resets_sent: Default::default(),
            started: Instant::now(),
            diag_warned: false,
            subflows: Vec::new(),
            known: Vec::new(),
            last_full_dump: None,
        }
    }

    fn run(mut self) {
        let mut sock = match DiagSocket::open() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("health monitor off: cannot open inet_diag ({e})");
                return;
            }
        };
        loop {
            let ctx = self.ctx.borrow().clone();
            if !ctx.cfg.enable || ctx.paths.is_empty() {
                self.paths.clear();
                if self.wake.recv().is_err() {
                    return;
                }
                continue;
            }
            let pause = match self.read(&mut sock, &ctx) {
                Ok(subflows) => self.step(&ctx, &subflows),
                Err(e) => {
                    if !self.diag_warned {
                        self.diag_warned = true;
                        tracing::warn!("health monitor: inet_diag dump failed: {e}");
                    }
                    Some(Duration::from_secs(1))
                }
            };
            match pause {
                Some(d) => std::thread::sleep(d),
                // Idle and healthy: no polling until the engine sees traffic.
                None => {
                    if self.wake.recv().is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// The watched paths' established subflows. A full dump walks the
    /// host's whole TCP hash (~1 ms however few sockets there are); between
    /// dumps each known subflow is re-read by its 4-tuple and cookie (~12 µs
    /// each), so a busy path polled every few ms costs a fraction of the
    /// CPU. New subflows are found by the next full dump (≤ FULL_DUMP_EVERY).
    fn read(
        &mut self,
        sock: &mut DiagSocket,
        ctx: &HealthContext,
    ) -> Result<Vec<SubflowDiag>, mptcp_policy_netlink::diag::DiagError> {
        let watched = |s: &SubflowDiag| {
            s.state == TCP_ESTABLISHED
                && ctx
                    .paths
                    .iter()
                    .any(|(_, addrs)| addrs.contains(&s.local.ip()))
        };
        let stale = self
            .last_full_dump
            .is_none_or(|t| t.elapsed() >= FULL_DUMP_EVERY);
        if stale || self.known != ctx.paths {
            let all = sock.dump_subflows()?;
            self.last_full_dump = Some(Instant::now());
            self.known = ctx.paths.clone();
            self.subflows = all.into_iter().filter(|s| watched(s)).collect();
            return Ok(self.subflows.clone());
        }
        let mut fresh = Vec::with_capacity(self.subflows.len());
        for s in &self.subflows {
            if let Some(q) = sock.query(s)? {
                if watched(&q) {
                    fresh.push(q);
                }
            }
        }
        self.subflows = fresh;
        Ok(self.subflows.clone())
    }

    /// One poll; returns how long to wait before the next (None: sleep
    /// until woken).
    fn step(&mut self, ctx: &HealthContext, subflows: &[SubflowDiag]) -> Option<Duration> {
        let now = Instant::now();
        let now_ms = now.duration_since(self.started).as_millis() as u64;
        let mut results: HashMap<String, ProbeResult> = HashMap::new();
        while let Ok((name, r)) = self.probes_rx.try_recv() {
            self.probing.remove(&name);
            results.insert(name, r);
        }
        self.paths
            .retain(|name, _| ctx.paths.iter().any(|(n, _)| n == name));
        let mut next: Option<u64> = None;
        for (name, addrs) in &ctx.paths {
            // Only established subflows speak for the path: a closed one may
            // linger (FIN_WAIT, backing off) with old unacked data.
            let own: Vec<&SubflowDiag> = subflows
                .iter()
                .filter(|s| s.state == TCP_ESTABLISHED && addrs.contains(&s.local.ip()))
                .collect();
            let samples: Vec<SubflowSample> = own.iter().map(|s| sample(s)).collect();
            if let Some(s) = own.iter().find(|s| s.unacked > 0 || s.bytes_received > 0) {
                let rtt = Duration::from_micros(u64::from(s.rtt_us));
                self.peers
                    .insert(name.clone(), (s.local.ip(), s.remote, rtt));
            }
            let path = self.paths.entry(name.clone()).or_default();
            path.hand_over(ctx.handed_over.contains(name), now_ms);
            if let Some(transition) = path.observe(&ctx.cfg, &samples, results.remove(name), now_ms)
            {
                let _ = self.events.blocking_send(HealthEvent {
                    interface: name.clone(),
                    transition,
                    at: now,
                });
            }
            if ctx.stalled.contains(name) && path.state() != mptcp_policy::Health::Stalled {
                if self.resets_sent.insert(name.clone()) {
                    let _ = self.events.blocking_send(HealthEvent {
                        interface: name.clone(),
                        transition: Transition {
                            from: mptcp_policy::Health::Stalled,
                            to: path.state(),
                            evidence: "the path's monitoring restarted (its link changed)"
                                .to_owned(),
                        },
                        at: now,
                    });
                }
            } else {
                self.resets_sent.remove(name);
            }
            let wants_probe = path.wants_probe(&ctx.cfg, now_ms);
            let state = path.state();
            let slow_after = path.probe_timeout_ms().map(Duration::from_millis);
            if wants_probe && !self.probing.contains(name) {
                self.start_probe(name, &ctx.cfg, slow_after);
            }
            let busy = PathHealth::busy(&samples);
            let interval = if busy {
                Some(PathHealth::poll_interval_ms(&samples))
            } else if state != mptcp_policy::Health::Good {
                Some(SLOW_POLL.as_millis() as u64)
            } else {
                None
            };
            next = match (next, interval) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        next.map(Duration::from_millis)
    }

    /// Starts a probe over the path. With `slow_after` (a degraded path: its
    /// delay threshold) the probe waits up to 1 s, and an answer later than
    /// `slow_after` is [`ProbeResult::Slow`].
    fn start_probe(&mut self, name: &str, cfg: &HealthConfig, slow_after: Option<Duration>) {
        let Some(&(local, remote, rtt)) = self.peers.get(name) else {
            return;
        };
        // Long enough for a slow but working path, short enough to decide fast.
        let timeout = match slow_after {
            Some(_) => Duration::from_secs(1),
            None => (rtt * 3)
                .max(Duration::from_millis(u64::from(cfg.floor_ms)))
                .min(Duration::from_secs(1)),
        };
        let tx = self.probes_tx.clone();
        let name = name.to_string();
        self.probing.insert(name.clone());
        let spawned = std::thread::Builder::new()
            .name("probe".into())
            .spawn(move || {
                let started = Instant::now();
                let result = match (probe::probe(local, remote, timeout), slow_after) {
                    (ProbeResult::Reachable, Some(bound)) if started.elapsed() > bound => {
                        ProbeResult::Slow
                    }
                    (r, _) => r,
                };
                let _ = tx.send((name, result));
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start a path probe: {e}");
        }
    }
}

fn sample(s: &SubflowDiag) -> SubflowSample {
    SubflowSample {
        id: s.cookie,
        unacked: s.unacked,
        last_ack_recv_ms: s.last_ack_recv_ms,
        last_data_recv_ms: s.last_data_recv_ms,
        last_data_sent_ms: s.last_data_sent_ms,
        rtt_us: s.rtt_us,
        rttvar_us: s.rttvar_us,
        bytes_acked: s.bytes_acked,
        bytes_received: s.bytes_received,
        total_retrans: s.total_retrans,
        data_segs_out: s.data_segs_out,
        data_segs_in: s.data_segs_in,
        rcv_ooopack: s.rcv_ooopack,
        min_rtt_us: s.min_rtt_us,
        rcv_rtt_us: s.rcv_rtt_us,
    }
}
