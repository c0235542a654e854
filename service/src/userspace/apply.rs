//! Sending a connection's plan to the kernel (`mptcp_pm` commands) and
//! keeping the bookkeeping in step with what was sent.

use std::time::Instant;

use mptcp_policy::{ConnOp, ConnPlan};
use mptcp_policy_netlink::pm::{PmError, PmHandle};

use super::{FlagChange, UserspacePm, PENDING_TIMEOUT};

impl UserspacePm {
    /// Sends a plan's commands; returns the backup flags that changed.
    pub async fn apply(&mut self, pm: &PmHandle, token: u32, plan: &ConnPlan) -> Vec<FlagChange> {
        let mut changes = Vec::new();
        for op in &plan.ops {
            let Some(c) = self.conns.get(&token) else {
                break;
            };
            let label = format!(
                "connection {token:08x} {} -> {} ({})",
                c.local, c.remote, c.mode
            );
            self.stats.commands += 1;
            let result = match *op {
                ConnOp::Destroy { local, remote } => {
                    // Tell the peer first (REMOVE_ADDR over a path that
                    // still works): a sender on the other side would
                    // otherwise keep sending into the dead subflow until
                    // its retransmission timer gives up (~300 ms measured).
                    // The first subflow has local id 0; our joins the id we
                    // gave their address.
                    let id = if local == c.local {
                        0
                    } else {
                        self.id_for(local.ip())
                    };
                    if let Err(e) = pm.remove(token, id).await {
                        tracing::debug!("{label}: REMOVE_ADDR id {id} not sent: {e}");
                    }
                    let r = pm.subflow_destroy(token, local, remote).await;
                    if let Some(c) = self.conns.get_mut(&token) {
                        c.subflows
                            .retain(|s| !(s.local == local && s.remote == remote));
                        c.destroyed.push(local);
                    }
                    ignore_gone(r)
                }
                ConnOp::SetBackup {
                    local,
                    remote,
                    backup,
                } => {
                    let r = pm.set_flags_conn(token, local.ip(), remote, backup).await;
                    if r.is_ok() {
                        if let Some(c) = self.conns.get_mut(&token) {
                            for s in c.subflows.iter_mut() {
                                if s.local == local && s.remote == remote {
                                    s.backup = backup;
                                }
                            }
                        }
                        changes.push(FlagChange {
                            token,
                            local,
                            remote,
                            backup,
                        });
                    }
                    r
                }
                ConnOp::Create {
                    local,
                    ifindex,
                    remote,
                    backup,
                } => {
                    let id = self.id_for(local);
                    if let Some(c) = self.conns.get_mut(&token) {
                        c.pending
                            .push((local, backup, Instant::now() + PENDING_TIMEOUT));
                    }
                    let r = pm
                        .subflow_create(token, id, local, Some(ifindex), remote, backup)
                        .await;
                    if r.is_err() {
                        // Refused: not pending, so the next plan tries again
                        // (not only once the pending time-out ran out).
                        if let Some(c) = self.conns.get_mut(&token) {
                            c.pending.retain(|p| p.0 != local);
                        }
                    }
                    r
                }
                ConnOp::Announce { addr, ifindex } => {
                    let id = self.id_for(addr);
                    let r = pm.announce(token, id, addr, None, Some(ifindex)).await;
                    if let Some(c) = self.conns.get_mut(&token) {
                        // Also on failure: not again for this connection.
                        c.announced.push(addr);
                    }
                    r
                }
                ConnOp::Withdraw { addr } => {
                    let id = self.id_for(addr);
                    if let Some(c) = self.conns.get_mut(&token) {
                        c.announced.retain(|a| *a != addr);
                    }
                    ignore_gone(pm.remove(token, id).await)
                }
            };
            match result {
                Ok(()) => tracing::info!("{label}: {}", describe(op)),
                Err(e) if token_gone(&e) => {
                    // Closed meanwhile (its `closed` event is on its way or
                    // was lost): nothing left to steer.
                    tracing::debug!("{label}: closed before {}", describe(op));
                    if self.conns.remove(&token).is_some() {
                        self.stats.closed += 1;
                    }
                    break;
                }
                Err(e) if made_by_kernel_pm(&e) => {
                    // Opened before the switch to the userspace PM: the
                    // kernel decided its path manager then; it stays with
                    // the in-kernel one (endpoints), still listed.
                    tracing::info!("{label}: opened under the in-kernel path manager, left to it");
                    self.conns.remove(&token);
                    break;
                }
                Err(e) => {
                    self.stats.failed += 1;
                    tracing::warn!("{label}: {} failed: {e}", describe(op));
                }
            }
        }
        changes
    }
}

/// The kernel no longer knows the connection: `EINVAL` with the extack
/// "invalid token" (`mptcp_userspace_pm_get_sock`); the errno alone is also
/// used for bad arguments, so the kernel's text decides.
fn token_gone(e: &PmError) -> bool {
    e.errno() == Some(22) && e.to_string().contains("invalid token")
}

/// The connection belongs to the in-kernel PM (`EINVAL`, extack
/// "userspace PM not selected").
fn made_by_kernel_pm(e: &PmError) -> bool {
    e.errno() == Some(22) && e.to_string().contains("userspace PM not selected")
}

/// A subflow or address that is already gone is what we wanted.
fn ignore_gone(r: Result<(), PmError>) -> Result<(), PmError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

fn describe(op: &ConnOp) -> String {
    match op {
        ConnOp::Destroy { local, remote } => format!("subflow {local} -> {remote} closed"),
        ConnOp::SetBackup {
            local,
            remote,
            backup,
        } => format!(
            "subflow {local} -> {remote} {}",
            if *backup { "now backup" } else { "now active" }
        ),
        ConnOp::Create {
            local,
            remote,
            backup,
            ..
        } => format!(
            "subflow {local} -> {remote} opened{}",
            if *backup { " as backup" } else { "" }
        ),
        ConnOp::Announce { addr, .. } => format!("{addr} announced"),
        ConnOp::Withdraw { addr } => format!("{addr} withdrawn"),
    }
}
