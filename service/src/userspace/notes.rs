//! What a connection's plan means beyond its commands: backup paths its
//! `[[rule]]` made active, and paths it cannot use because the peer
//! forbids joins to its initial address — kept per connection, logged when
//! they change, published on its D-Bus object.

use std::net::{IpAddr, SocketAddr};

use mptcp_policy::{ConnPlan, PathChoice};
use mptcp_policy_netlink::pm::PmEvent;

use super::UserspacePm;

/// A connection's notes changed: the new values for its D-Bus object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notes {
    pub token: u32,
    /// Interfaces whose role is backup that the rule made active.
    pub promoted: Vec<String>,
    /// Why the connection cannot do what its mode wants ("" when nothing).
    pub constraint: String,
}

fn names(addrs: &[IpAddr], paths: &[PathChoice]) -> Vec<String> {
    let mut out: Vec<String> = addrs
        .iter()
        .filter_map(|a| paths.iter().find(|p| p.addr == *a))
        .map(|p| p.ifname.clone())
        .collect();
    out.dedup();
    out
}

impl UserspacePm {
    /// `ANNOUNCED`: an address the peer allows joins to. Returns the token
    /// when the connection should be planned again.
    pub(super) fn peer_announced(&mut self, token: u32, e: &PmEvent) -> Option<u32> {
        let c = self.conns.get_mut(&token)?;
        let (id, ip) = (e.rem_id?, e.daddr?);
        // No port: the peer's initial port (RFC 8684 ADD_ADDR).
        let addr = SocketAddr::new(ip, e.dport.unwrap_or(0));
        c.peer_addrs.retain(|(i, _)| *i != id);
        c.peer_addrs.push((id, addr));
        tracing::debug!("connection {token:08x}: the peer announced {addr} (id {id})");
        c.deny_join_initial.then_some(token)
    }

    /// Records what `plan` says about promoted and held-back paths; logs
    /// and returns the new notes when they changed.
    pub fn note_plan(
        &mut self,
        token: u32,
        plan: &ConnPlan,
        paths: &[PathChoice],
    ) -> Option<Notes> {
        let c = self.conns.get_mut(&token)?;
        if c.promoted == plan.promoted && c.join_denied == plan.join_denied {
            return None;
        }
        let label = format!(
            "connection {token:08x} {} -> {} ({})",
            c.local, c.remote, c.mode
        );
        let now = names(&plan.promoted, paths);
        let before = names(&c.promoted, paths);
        for name in now.iter().filter(|n| !before.contains(n)) {
            tracing::info!(
                "{label}: {name} carries data although its role is backup: promoted by {}",
                c.rule
            );
        }
        for name in before.iter().filter(|n| !now.contains(n)) {
            tracing::info!("{label}: {name} no longer promoted: its role (backup) decides again");
        }
        let denied = names(&plan.join_denied, paths);
        let constraint = if denied.is_empty() {
            String::new()
        } else {
            format!(
                "the peer forbids joins to its initial address {} (MP_CAPABLE C flag) and \
                 announced no other address: no subflow on {}, the connection cannot move there",
                c.remote,
                denied.join(", ")
            )
        };
        c.promoted = plan.promoted.clone();
        c.join_denied = plan.join_denied.clone();
        Some(Notes {
            token,
            promoted: now,
            constraint,
        })
    }
}
