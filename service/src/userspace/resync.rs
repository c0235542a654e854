//! Connections rebuilt from a subflow dump (`inet_diag`), for the resync
//! after lost `mptcp_pm` events. Pure.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use mptcp_policy_netlink::diag::{flags, SubflowDiag};

/// `TCP_ESTABLISHED`.
const ESTABLISHED: u8 = 1;

/// One connection as the dump shows it.
#[derive(Debug, Clone)]
pub struct DumpedConn {
    pub token: u32,
    /// The first subflow's ends (the initial subflow when it is still
    /// there, else the oldest join seen).
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// No `MCAP_LOC` on the initial subflow: the peer opened it.
    pub server_side: bool,
    /// Established subflows.
    pub subflows: Vec<SubflowDiag>,
}

/// Groups established subflows by connection token, in token order.
pub fn group_by_token(dump: &[SubflowDiag]) -> Vec<DumpedConn> {
    let mut by_token: BTreeMap<u32, Vec<&SubflowDiag>> = BTreeMap::new();
    for s in dump.iter().filter(|s| s.state == ESTABLISHED) {
        if let Some(t) = s.token {
            by_token.entry(t).or_default().push(s);
        }
    }
    by_token
        .into_iter()
        .filter_map(|(token, subs)| {
            let first = subs.iter().find(|s| !s.is_join()).or(subs.first())?;
            let server_side = if first.is_join() {
                // only joins left: we opened them unless the peer did
                first.flags & flags::JOIN_LOC == 0
            } else {
                first.flags & flags::MCAP_LOC == 0
            };
            Some(DumpedConn {
                token,
                local: first.local,
                remote: first.remote,
                server_side,
                subflows: subs.into_iter().cloned().collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sf(token: u32, local: &str, remote: &str, f: u32, state: u8) -> SubflowDiag {
        SubflowDiag {
            token: Some(token),
            local: local.parse().expect("local"),
            remote: remote.parse().expect("remote"),
            flags: f,
            state,
            ..SubflowDiag::default()
        }
    }

    #[test]
    fn groups_subflows_and_tells_sides_apart() {
        let dump = [
            sf(7, "10.2.0.2:4001", "10.9.0.1:5201", flags::JOIN_LOC, 1),
            sf(7, "10.1.0.2:4000", "10.9.0.1:5201", flags::MCAP_LOC, 1),
            sf(9, "10.9.0.1:443", "10.1.0.2:5000", flags::MCAP_REM, 1),
            // closing: not counted
            sf(11, "10.1.0.2:4100", "10.9.0.1:5201", flags::MCAP_LOC, 7),
        ];
        let g = group_by_token(&dump);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].token, 7);
        assert_eq!(g[0].local, "10.1.0.2:4000".parse().expect("addr"));
        assert!(!g[0].server_side);
        assert_eq!(g[0].subflows.len(), 2);
        assert_eq!(g[1].token, 9);
        assert!(g[1].server_side);
    }
}
