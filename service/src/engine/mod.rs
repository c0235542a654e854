//! The engine: the one task that owns the observed state, the policy and the
//! reconciler. Everything that happens (link/address events, MPTCP events,
//! signals) arrives here in turn; each change is evaluated by the pure
//! policy and applied by the reconciler at once — the first reaction to a
//! link going away is never delayed (a burst already queued is folded into
//! the same reaction).

mod budget;
mod commands;
mod decide;
mod layer;
mod networkmanager;
mod paths;
mod pm_events;
mod publish;
mod revert;
mod steer;
mod timer;

use std::time::{Duration, Instant};

use anyhow::Context;
use budget::Counting;
use layer::Layers;
use mptcp_policy::{InterfaceVerdict, OnExit, Policy};
use mptcp_policy_netlink::link::{LinkEvent, LinkWatch};
use mptcp_policy_netlink::pm::{PmError, PmHandle};
use networkmanager::Nm;
use paths::PathHealth;
use pm_events::{PmEventSource, PmInput};
use steer::Userspace;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::apps::Apps;
use crate::bus::Publisher;
use crate::cli::Args;
use crate::config::PolicyLocation;
use crate::connections::{ConnChange, ConnectionTable};
use crate::control::{Command, EngineHandle};
use crate::health::{HealthEvent, HealthMonitor};
use crate::links::LinkTable;
use crate::networkmanager::NmEvent;
use crate::preflight;
use crate::reconcile::{Outcome, Reconciler};
use crate::store::StateDir;

/// The one owner of the daemon's state; each part has one job.
struct Engine {
    /// The policy's sources (files and the D-Bus layer).
    layers: Layers,
    /// The effective policy: files + the D-Bus layer.
    policy: Policy,
    state: StateDir,
    table: LinkTable,
    reconciler: Reconciler,
    verdicts: Vec<InterfaceVerdict>,
    conns: ConnectionTable,
    counting: Counting,
    health: PathHealth,
    nm: Nm,
    userspace: Userspace,
    /// cgroups put on MPTCP through the BPF hook.
    apps: Apps,
    /// The bus task's queue (None with `--no-dbus`).
    bus: Option<Publisher>,
    /// `--dry-run`: print commands, change nothing (the path manager sysctl
    /// included).
    dry_run: bool,
}

/// What the engine waits on, besides its own timer ([`Engine::next_wake`]).
struct Sources {
    watch: LinkWatch,
    pm_events: PmEventSource,
    commands: tokio::sync::mpsc::Receiver<Command>,
    health: tokio::sync::mpsc::Receiver<HealthEvent>,
    nm: tokio::sync::mpsc::Receiver<NmEvent>,
    hup: Signal,
    term: Signal,
    int: Signal,
    usr1: Signal,
}

/// PropertiesChanged for usage at most this often.
const USAGE_PUBLISH_INTERVAL: Duration = Duration::from_secs(1);
/// How often counted usage is saved at most (and on exit, and on reset).
const USAGE_SAVE_INTERVAL: Duration = Duration::from_secs(60);

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let Some((mut engine, sources)) = start(args).await? else {
        return Ok(());
    };
    let result = serve(&mut engine, sources).await;
    engine.on_exit().await;
    result
}

/// Reads the policy, opens the kernel's sockets, applies the policy once and
/// goes on the bus. None for `--check` (the policy printed, nothing started).
async fn start(args: Args) -> anyhow::Result<Option<(Engine, Sources)>> {
    // First of all: a SIGTERM during start-up must end the daemon through
    // its orderly exit, not the default action.
    let hup = signal(SignalKind::hangup())?;
    let term = signal(SignalKind::terminate())?;
    let int = signal(SignalKind::interrupt())?;
    let usr1 = signal(SignalKind::user_defined1())?;
    let location = match &args.config {
        Some(file) => PolicyLocation::Single(file.clone()),
        None => PolicyLocation::Layered {
            vendor_dir: args.vendor_dir.clone(),
            admin_file: args.admin_file.clone(),
            admin_dir: args.admin_dir.clone(),
        },
    };
    let choice = args.state_choice();
    let state = StateDir::open(&choice.dir)?;
    let (layers, policy) = layer::load_at_start(&choice, &state, location)?;
    if args.check {
        print!("{}", policy.to_toml());
        return Ok(None);
    }
    preflight::check_mptcp_enabled()?;
    let pm = PmHandle::connect().await.map_err(|e| match e {
        PmError::FamilyNotFound => anyhow::anyhow!(
            "the kernel has no generic netlink family mptcp_pm: its MPTCP path manager cannot be driven"
        ),
        other => anyhow::Error::new(other).context("cannot open the mptcp_pm netlink socket"),
    })?;
    let (watch, snapshot) = LinkWatch::open()
        .await
        .context("cannot watch links (rtnetlink)")?;
    let snapshot_at = Instant::now();
    let pm_events = PmEventSource::open(&pm, args.event_buffer);
    let reconciler = Reconciler::start(pm, state.clone(), args.dry_run)
        .await
        .context("cannot read the kernel's MPTCP endpoints and limits")?;
    let (handle, commands) = EngineHandle::new(64);
    let mut engine = Engine {
        layers,
        policy,
        counting: Counting::new(state.load_usage(), watch.counters()),
        state,
        table: LinkTable::from_snapshot(snapshot),
        reconciler,
        verdicts: Vec::new(),
        conns: ConnectionTable::default(),
        health: PathHealth::default(),
        nm: Nm::default(),
        userspace: Userspace::default(),
        apps: Apps::new(&choice.dir, args.cgroup_root.clone()),
        bus: None,
        dry_run: args.dry_run,
    };
    engine.count_start_dump(snapshot_at);
    engine.reconcile("start", None).await;
    // What the first endpoints need not wait for: the health thread, the
    // cgroups and the BPF probe (it parses the kernel's BTF; the program
    // lives, attached, until exit).
    let (health_tx, health) = tokio::sync::mpsc::channel(64);
    match HealthMonitor::spawn(health_tx) {
        Ok(m) => {
            engine.health.monitor = Some(m);
            engine.update_health_paths();
        }
        Err(e) => tracing::warn!("path health monitoring off: cannot start its thread: {e}"),
    }
    engine.apps.start(args.dry_run);
    if !args.no_dbus {
        engine.bus = Some(crate::bus::start(handle, engine.manager_view()).await?);
        engine.publish();
    }
    // Connections open before a (re)start: listed on the bus and, under the
    // userspace path manager, steered again.
    engine.resync_connections(false).await;
    let (nm_tx, nm) = tokio::sync::mpsc::channel(64);
    if !args.no_dbus {
        engine.nm.watcher = Some(crate::networkmanager::spawn(nm_tx));
    }
    tracing::info!(dry_run = args.dry_run, "ready");
    let sources = Sources {
        watch,
        pm_events,
        commands,
        health,
        nm,
        hup,
        term,
        int,
        usr1,
    };
    Ok(Some((engine, sources)))
}

/// Handles what arrives, one thing at a time, until SIGTERM/SIGINT.
async fn serve(engine: &mut Engine, mut s: Sources) -> anyhow::Result<()> {
    loop {
        let wake = engine.next_wake(s.pm_events.is_subscribed());
        tokio::select! {
            event = s.watch.next() => {
                let event = event.context("rtnetlink watch ended")?;
                engine.on_link_event(event, &mut s.watch).await;
            }
            input = s.pm_events.next() => engine.on_pm_event(input).await,
            Some(command) = s.commands.recv() => engine.on_command(command).await,
            Some(event) = s.health.recv() => engine.on_health(event).await,
            Some(event) = s.nm.recv() => engine.on_nm_event(event).await,
            _ = sleep_until(wake) => {
                engine.on_counters(s.pm_events.is_subscribed()).await;
            }
            _ = s.hup.recv() => engine.on_reload().await,
            _ = s.usr1.recv() => engine.log_stats(),
            _ = s.term.recv() => return Ok(()),
            _ = s.int.recv() => return Ok(()),
        }
    }
}

impl Engine {
    async fn on_link_event(&mut self, first: LinkEvent, watch: &mut LinkWatch) {
        let started = event_time(&first);
        let mut changes = Vec::new();
        let mut overflow = false;
        let mut next = Some(first);
        // Fold what is already queued into this reaction; never wait for more.
        while let Some(event) = next {
            if matches!(event, LinkEvent::Overflow { .. }) {
                overflow = true;
            } else if let Some(change) = self.table.apply(&event) {
                changes.push(change);
            }
            next = watch.try_next();
        }
        if overflow {
            tracing::warn!("rtnetlink notifications were lost (ENOBUFS): full resync");
            match watch.dump().await {
                Ok(snapshot) => self.table = LinkTable::from_snapshot(snapshot),
                Err(e) => tracing::error!("resync dump failed: {e}"),
            }
            if let Err(e) = self.reconciler.refresh().await {
                tracing::error!("resync of endpoints failed: {e}");
            }
            changes.push("resync after lost notifications".into());
        }
        if changes.is_empty() {
            return;
        }
        let why = changes.join("; ");
        self.reconcile(&why, Some(started)).await;
    }

    async fn on_pm_event(&mut self, input: PmInput) {
        match input {
            PmInput::Event(e) => {
                tracing::debug!(
                    "mptcp event {:?} token {:?} {:?}:{:?} -> {:?}:{:?} backup {:?}",
                    e.kind,
                    e.token,
                    e.saddr,
                    e.sport,
                    e.daddr,
                    e.dport,
                    e.backup
                );
                if self.conns.is_late_established(&e) {
                    // Closed before fully established: nothing to follow.
                    return;
                }
                // Userspace PM bookkeeping first: a new connection object
                // shows its mode from the start.
                let replan = match self.userspace.pm.as_mut() {
                    Some(u) => u.on_event(&e, &self.policy),
                    None => None,
                };
                let table = &self.table;
                let endpoints = self.reconciler.endpoints();
                let userspace = self.userspace.pm.as_ref();
                let token = e.token;
                let local = |ip, idx| {
                    // userspace PM: the flag we asked for; in-kernel: the endpoint's
                    let backup = match (userspace, token) {
                        (Some(u), Some(t)) => u.get(t).is_some_and(|c| {
                            c.subflows.iter().any(|s| s.local.ip() == ip && s.backup)
                        }),
                        _ => endpoints.iter().any(|k| k.addr == ip && k.flags.backup),
                    };
                    (table.interface_of(ip, idx), backup)
                };
                let mut change = self.conns.apply(&e, unix_ms(), local);
                if let (Some(t), Some((mode, rule))) =
                    (e.token, e.token.and_then(|t| self.mode_of(t)))
                {
                    self.conns.set_mode(t, &mode, &rule);
                    if let Some(ConnChange::Created(v) | ConnChange::Established(v)) = &mut change {
                        v.mode = mode;
                        v.rule = rule;
                    }
                }
                if let Some(change) = change {
                    self.publish_connection(&change);
                }
                if let Some(token) = replan {
                    self.steer(Some(vec![token])).await;
                }
            }
            PmInput::Lost => {
                // Logged by the source (once per storm).
                if let Err(e) = self.reconciler.refresh().await {
                    tracing::error!("resync of endpoints failed: {e}");
                }
                self.reconcile("resync after lost MPTCP events", None).await;
                self.resync_connections(true).await;
            }
            PmInput::Error(e) => tracing::warn!("MPTCP event stream: {e}"),
        }
    }

    /// SIGUSR1: one line with what the daemon tracks (for admins and the
    /// event benchmark).
    fn log_stats(&self) {
        let s = self
            .userspace
            .pm
            .as_ref()
            .map(|u| (u.len(), u.stats))
            .unwrap_or_default();
        tracing::info!(
            target: "stats",
            "stats: {} connection(s) tracked, {} managed by the userspace path manager; events {}, connections seen {}, closed {}, resyncs {}, found by resync {}, commands {}, failed {}",
            self.conns.len(),
            s.0,
            s.1.events,
            s.1.connections,
            s.1.closed,
            s.1.resyncs,
            s.1.resync_found,
            s.1.commands,
            s.1.failed
        );
    }

    /// SIGHUP: a bad file keeps the last good policy in force.
    async fn on_reload(&mut self) {
        if let Err(e) = self.reload().await {
            tracing::error!("reload refused, the last good policy stays in force: {e}");
        }
    }

    /// Re-reads the files (with the D-Bus layer on top) and applies them.
    async fn reload(&mut self) -> Result<Outcome, crate::config::LoadError> {
        let files = self.layers.location.read()?;
        let mut policy = files.merge_logged(
            layer::source(&self.state, &self.layers.dbus).as_ref(),
            "reload",
        )?;
        self.layers.files = files;
        layer::annotate(&mut policy, &self.state, &self.layers.changes);
        tracing::info!("policy reloaded");
        self.policy = policy;
        let outcome = self.reconcile("policy reloaded", None).await;
        self.policy_changed();
        Ok(outcome)
    }

    fn save_usage(&mut self) {
        match self.state.save_usage(&self.counting.usage) {
            Ok(()) => {
                self.counting.saved = Instant::now();
                self.counting.dirty = false;
            }
            Err(e) => tracing::error!("cannot save the counted usage: {e}"),
        }
    }

    async fn on_exit(&mut self) {
        self.save_usage();
        if let Some(u) = self.userspace.pm.take() {
            u.stop();
        }
        match self.policy.general.on_exit {
            OnExit::Remove => {
                tracing::info!(
                    "exiting: removing the endpoints mptcp-policyd created (on_exit = \"remove\")"
                );
                self.reconciler.remove_owned().await;
            }
            OnExit::Keep => tracing::info!("exiting: endpoints stay in place (on_exit = \"keep\")"),
        }
    }
}

/// Sleeps until `at`; for ever when None (the daemon waits for an event).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn event_time(e: &LinkEvent) -> Instant {
    match e {
        LinkEvent::Link { at, .. }
        | LinkEvent::LinkRemoved { at, .. }
        | LinkEvent::Addr { at, .. }
        | LinkEvent::AddrRemoved { at, .. }
        | LinkEvent::Overflow { at } => *at,
    }
}

/// Now as Unix time in milliseconds (a connection's opening time).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
