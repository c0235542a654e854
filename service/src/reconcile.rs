//! The reconciler: the one place that changes the kernel's endpoints and
//! limits (per-connection commands of the userspace path manager are sent by
//! `userspace/`, the path-manager sysctl by `userspace/sysctl.rs`, the
//! package's clean-up by `cleanup.rs`). It asks the pure `plan()` for the
//! difference between what the kernel holds and what the policy wants, sends
//! exactly those commands, and records which endpoints are ours. `EEXIST`/`ENOENT` are idempotent outcomes, other kernel errors
//! are logged with the command and do not stop the daemon.

use std::net::IpAddr;
use std::time::Instant;

use mptcp_policy::{
    plan, Actual, Desired, DesiredEndpoint, EndpointFlags, KernelEndpoint, Limits, Ownership, PmOp,
};
use mptcp_policy_netlink::pm::{self, PmError, PmHandle};

use crate::store::StateDir;

/// What one reconcile did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Commands acknowledged by the kernel.
    pub sent: usize,
    /// Commands the kernel refused (logged).
    pub failed: usize,
    /// When the first command went out: the end of the daemon's own part
    /// of a reaction (the rest is the kernel).
    pub first_sent: Option<Instant>,
    /// When the first command that deletes an endpoint was acknowledged —
    /// the moment data starts moving off a dead path.
    pub first_delete_acked: Option<Instant>,
    /// Each refused command with the kernel's answer.
    pub errors: Vec<String>,
}

/// Owns the kernel side: the last known kernel state and our ownership.
pub struct Reconciler {
    pm: PmHandle,
    dry_run: bool,
    state: StateDir,
    actual: Actual,
    owned: Ownership,
    reported_foreign: Vec<KernelEndpoint>,
    reported_blocked: Vec<(DesiredEndpoint, String)>,
    /// Adds whose outcome is not known yet (the re-read after them failed):
    /// the address and the ids the kernel had before. Settled by the next
    /// successful re-read, so an endpoint we created never becomes foreign.
    unsettled_adds: Vec<(IpAddr, Vec<(u8, IpAddr)>)>,
    /// What the state directory holds (as loaded or last written): an
    /// unchanged ownership is not written again (each write is two fsyncs).
    saved: Ownership,
}

/// How often start-up reads the kernel before giving up (a refused or
/// garbled dump is retried at once; the kernel answers within ms).
const START_READS: u32 = 3;

impl Reconciler {
    /// Reads the kernel's endpoints and limits and our recorded ownership;
    /// an id counts as ours only if the kernel still has it with the same
    /// address (an admin may have reused the id meanwhile).
    pub async fn start(
        pm: PmHandle,
        state: StateDir,
        dry_run: bool,
    ) -> Result<Reconciler, PmError> {
        let owned = state.load_ownership();
        let mut r = Reconciler {
            pm,
            dry_run,
            saved: owned.clone(),
            owned,
            state,
            actual: Actual::default(),
            reported_foreign: Vec::new(),
            reported_blocked: Vec::new(),
            unsettled_adds: Vec::new(),
        };
        let mut attempt = 1;
        while let Err(e) = r.refresh().await {
            if attempt == START_READS {
                return Err(e);
            }
            tracing::warn!("cannot read the kernel's endpoints and limits ({e}); trying again");
            attempt += 1;
        }
        let before = r.owned.owned.len();
        r.owned.retain_present(&r.actual);
        if r.owned.owned.len() != before {
            tracing::info!(
                "{} recorded endpoint(s) are gone from the kernel or were reused; forgetting them",
                before - r.owned.owned.len()
            );
            r.persist();
        }
        Ok(r)
    }

    /// The `mptcp_pm` handle (the userspace PM's per-connection commands
    /// go through the same socket).
    pub fn pm(&self) -> &PmHandle {
        &self.pm
    }

    /// Re-reads the kernel's endpoints and limits (start, after changes,
    /// and the resync after a lost notification), then settles the
    /// ownership of adds whose re-read had failed.
    pub async fn refresh(&mut self) -> Result<(), PmError> {
        self.read_kernel().await?;
        if !self.unsettled_adds.is_empty() {
            let adds = std::mem::take(&mut self.unsettled_adds);
            for (addr, before) in &adds {
                self.settle_add(*addr, before);
            }
            self.persist();
        }
        Ok(())
    }

    async fn read_kernel(&mut self) -> Result<(), PmError> {
        let endpoints = self.pm.endpoint_dump().await?;
        let limits = self.pm.limits_get().await?;
        self.actual = Actual {
            endpoints: endpoints.into_iter().map(kernel_endpoint).collect(),
            limits: Some(Limits {
                subflows: limits.subflows,
                add_addr_accepted: limits.add_addr_accepted,
            }),
        };
        Ok(())
    }

    /// Brings the kernel to `desired`, sending the fewest commands.
    pub async fn reconcile(&mut self, desired: &Desired, why: &str) -> Outcome {
        let plan = plan(&self.actual, desired, &self.owned);
        self.report_foreign(&plan.foreign);
        self.report_blocked(&plan.blocked);
        let mut outcome = Outcome::default();
        if plan.ops.is_empty() {
            return outcome;
        }
        // Adds that may have created an endpoint (not those the kernel
        // answered EEXIST: that endpoint was there before, maybe someone
        // else's, added since our last read).
        let mut created = Vec::new();
        let mut answers = Vec::with_capacity(plan.ops.len());
        for op in &plan.ops {
            if self.dry_run {
                println!("would run: {op}");
                continue;
            }
            outcome.first_sent.get_or_insert_with(Instant::now);
            let result = self.send(op).await;
            if let PmOp::AddEndpoint(d) = op {
                if !result.as_ref().is_err_and(PmError::is_exists) {
                    created.push(d.addr);
                }
            }
            if result.is_ok()
                && matches!(op, PmOp::DeleteEndpoint { .. })
                && outcome.first_delete_acked.is_none()
            {
                outcome.first_delete_acked = Some(Instant::now());
            }
            answers.push((op, result));
        }
        // Logged once the last command is answered: a line is a write to
        // the journal, and the next command (the next path) must not wait
        // for it.
        for (op, result) in answers {
            match result {
                Ok(()) => {
                    outcome.sent += 1;
                    tracing::info!("{why}: {op}");
                }
                Err(e) if is_idempotent(op, &e) => {
                    tracing::info!("{why}: {op} (already so: {e})");
                }
                Err(e) => {
                    outcome.failed += 1;
                    tracing::error!("{why}: {op} failed: {e}");
                    outcome.errors.push(format!("{op}: {e}"));
                }
            }
        }
        if !self.dry_run {
            self.after_changes(created).await;
        }
        outcome
    }

    /// The kernel's endpoints as last read.
    pub fn endpoints(&self) -> &[KernelEndpoint] {
        &self.actual.endpoints
    }

    /// The kernel's limits as last read.
    pub fn limits(&self) -> Option<Limits> {
        self.actual.limits
    }

    /// Endpoints not created by this daemon (reported, never touched).
    pub fn foreign(&self) -> impl Iterator<Item = &KernelEndpoint> {
        self.actual.endpoints.iter().filter(|e| !self.owned.owns(e))
    }

    /// On exit with `on_exit = "remove"`: deletes every endpoint we own.
    pub async fn remove_owned(&mut self) {
        let ids: Vec<(u8, IpAddr)> = self.owned.owned.iter().map(|(i, a)| (*i, *a)).collect();
        for (id, addr) in ids {
            let op = PmOp::DeleteEndpoint { id, addr };
            if self.dry_run {
                println!("would run: {op}");
                continue;
            }
            match self.send(&op).await {
                Ok(()) => tracing::info!("exit: {op}"),
                Err(e) => tracing::warn!("exit: {op} failed: {e}"),
            }
            self.owned.owned.remove(&id);
        }
        if !self.dry_run {
            self.persist();
        }
    }

    async fn send(&self, op: &PmOp) -> Result<(), PmError> {
        match op {
            PmOp::SetLimits(l) => {
                self.pm
                    .limits_set(pm::Limits {
                        subflows: l.subflows,
                        add_addr_accepted: l.add_addr_accepted,
                    })
                    .await
            }
            PmOp::DeleteEndpoint { id, .. } => self.pm.endpoint_del(*id).await,
            PmOp::SetFlags { id, flags, .. } => {
                self.pm.endpoint_set_flags(*id, netlink_flags(flags)).await
            }
            PmOp::AddEndpoint(e) => {
                self.pm
                    .endpoint_add(e.addr, None, None, Some(e.ifindex), netlink_flags(&e.flags))
                    .await
            }
        }
    }

    /// Re-reads the kernel and updates ownership from what it holds, not
    /// from the answers (an answer can be lost or wrong: a delete refused
    /// with `EBUSY` may have left the endpoint, an add answered with an
    /// error may have created it): an owned id the kernel no longer has
    /// with our address is no longer ours; an added address (not answered
    /// `EEXIST`) that now has
    /// an endpoint it did not have before is ours.
    async fn after_changes(&mut self, created: Vec<IpAddr>) {
        // (id, address) pairs, not ids: the kernel reuses an id freed by a
        // delete of the same plan at once.
        let before: Vec<(u8, IpAddr)> = self
            .actual
            .endpoints
            .iter()
            .map(|e| (e.id, e.addr))
            .collect();
        for addr in created {
            self.unsettled_adds.push((addr, before.clone()));
        }
        if let Err(e) = self.refresh().await {
            tracing::error!(
                "cannot re-read the kernel's endpoints after changing them ({e}); ownership is settled at the next read"
            );
            return;
        }
        let endpoints = &self.actual.endpoints;
        self.owned
            .owned
            .retain(|id, addr| endpoints.iter().any(|e| e.id == *id && e.addr == *addr));
        self.persist();
    }

    /// Records the endpoint `addr` got from one of our adds (an id the
    /// kernel did not have before), if it has one.
    fn settle_add(&mut self, addr: IpAddr, before: &[(u8, IpAddr)]) {
        if let Some(k) = self
            .actual
            .endpoints
            .iter()
            .find(|k| k.addr == addr && !before.contains(&(k.id, k.addr)))
        {
            self.owned.owned.insert(k.id, k.addr);
        }
    }

    fn persist(&mut self) {
        if self.dry_run || self.owned == self.saved {
            return;
        }
        match self.state.save_ownership(&self.owned) {
            Ok(()) => self.saved = self.owned.clone(),
            Err(e) => {
                tracing::error!("cannot record endpoint ownership in the state directory: {e}")
            }
        }
    }

    /// Logs endpoints that are not ours once per change of the set.
    fn report_foreign(&mut self, foreign: &[KernelEndpoint]) {
        if foreign != self.reported_foreign.as_slice() {
            for f in foreign {
                tracing::info!(
                    "endpoint id {} {} ({}) was not created by mptcp-policyd: reported, left alone",
                    f.id,
                    f.addr,
                    f.flags
                );
            }
            self.reported_foreign = foreign.to_vec();
        }
    }

    /// Logs wanted endpoints that cannot be added, once per change.
    fn report_blocked(&mut self, blocked: &[(DesiredEndpoint, String)]) {
        if blocked != self.reported_blocked.as_slice() {
            for (endpoint, reason) in blocked {
                tracing::warn!(
                    "not adding endpoint {} ({}): {reason}",
                    endpoint.addr,
                    endpoint.ifname
                );
            }
            self.reported_blocked = blocked.to_vec();
        }
    }
}

/// `EEXIST` on add and "not found" on delete mean the kernel already is as
/// wanted. (The kernel answers a delete of an unknown id with `EINVAL`
/// "address not found", not `ENOENT`.)
fn is_idempotent(op: &PmOp, e: &PmError) -> bool {
    match op {
        PmOp::AddEndpoint(_) => e.is_exists(),
        PmOp::DeleteEndpoint { .. } => {
            e.is_not_found()
                || matches!(e, PmError::Kernel { message: Some(m), .. } if m.contains("not found"))
        }
        _ => false,
    }
}

fn kernel_endpoint(e: pm::Endpoint) -> KernelEndpoint {
    KernelEndpoint {
        id: e.id,
        addr: e.addr,
        port: e.port,
        ifindex: e.ifindex,
        flags: EndpointFlags {
            signal: e.flags.signal,
            subflow: e.flags.subflow,
            backup: e.flags.backup,
            fullmesh: e.flags.fullmesh,
        },
    }
}

fn netlink_flags(f: &EndpointFlags) -> pm::EndpointFlags {
    pm::EndpointFlags {
        signal: f.signal,
        subflow: f.subflow,
        backup: f.backup,
        fullmesh: f.fullmesh,
        ..Default::default()
    }
}
