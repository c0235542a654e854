//! Make before break: a degraded preferred path hands its traffic to a
//! healthy backup before it dies. Both keep their endpoints (and their
//! subflows); only the backup flags swap, so the kernel moves the data with
//! `MP_PRIO` at once and moves it back the same way when the path is clean
//! again. Roles and budgets bound it: only a backup that
//! [`InterfaceVerdict::promotable`] says may carry data (not `off`, no
//! spent budget, no NetworkManager cap) stands in.

use crate::evaluate::{DesiredEndpoint, InterfaceVerdict};
use crate::model::Role;
use crate::observed::ObservedInterface;

/// Swaps the backup flags of `endpoints` (with their interfaces' verdicts)
/// when a preferred path is degraded:
/// - a degraded preferred path becomes backup when something healthy
///   carries the traffic instead: another preferred path, or a promotable
///   backup path;
/// - with no healthy preferred path left, the promotable healthy backups
///   become active and their verdicts name the paths they stand in for.
///
/// With nothing healthy to hand over to, the degraded path keeps carrying.
pub(crate) fn hand_over_degraded<R>(
    observed: &[&ObservedInterface],
    verdicts: &mut [InterfaceVerdict],
    endpoints: &mut [(R, DesiredEndpoint)],
) {
    let degraded = |index: u32| {
        observed
            .iter()
            .find(|o| o.index == index)
            .and_then(|o| o.degraded.clone())
    };
    let has_endpoint = |index: u32| endpoints.iter().any(|(_, e)| e.ifindex == index);
    let with_endpoints: Vec<(u32, Role, bool, Option<String>)> = verdicts
        .iter()
        .filter(|v| has_endpoint(v.index))
        .map(|v| (v.index, v.role, v.promotable, degraded(v.index)))
        .collect();
    let sick: Vec<(u32, String)> = with_endpoints
        .iter()
        .filter(|(_, role, _, d)| *role == Role::Preferred && d.is_some())
        .map(|(i, _, _, d)| (*i, d.clone().unwrap_or_default()))
        .collect();
    if sick.is_empty() {
        return;
    }
    let healthy_preferred = with_endpoints
        .iter()
        .any(|(_, role, _, d)| *role == Role::Preferred && d.is_none());
    let stand_ins: Vec<u32> = with_endpoints
        .iter()
        .filter(|(_, role, promotable, d)| *role == Role::Backup && *promotable && d.is_none())
        .map(|(i, ..)| *i)
        .collect();
    if !healthy_preferred && stand_ins.is_empty() {
        for v in verdicts
            .iter_mut()
            .filter(|v| sick.iter().any(|(i, _)| *i == v.index))
        {
            v.reason.push_str(
                "; path degraded, but no healthy path may take over (none preferred, no backup allowed to carry data): it keeps the traffic",
            );
        }
        return;
    }
    let name = |index: u32| {
        verdicts
            .iter()
            .find(|v| v.index == index)
            .map(|v| v.name.clone())
            .unwrap_or_default()
    };
    let sick_names: Vec<String> = sick.iter().map(|(i, _)| name(*i)).collect();
    let carriers: Vec<String> = if healthy_preferred {
        with_endpoints
            .iter()
            .filter(|(_, role, _, d)| *role == Role::Preferred && d.is_none())
            .map(|(i, ..)| name(*i))
            .collect()
    } else {
        stand_ins.iter().map(|&i| name(i)).collect()
    };
    for (_, ep) in endpoints.iter_mut() {
        if sick.iter().any(|(i, _)| *i == ep.ifindex) {
            ep.flags.backup = true;
        } else if !healthy_preferred && stand_ins.contains(&ep.ifindex) {
            ep.flags.backup = false;
        }
    }
    for v in verdicts.iter_mut() {
        if let Some((_, evidence)) = sick.iter().find(|(i, _)| *i == v.index) {
            v.reason.push_str(&format!(
                "; path degraded ({evidence}): backup while {} carries the traffic",
                carriers.join(", ")
            ));
        } else if !healthy_preferred && stand_ins.contains(&v.index) {
            v.reason.push_str(&format!(
                "; promoted: carries the traffic while {} is degraded",
                sick_names.join(", ")
            ));
            v.stands_in_for = sick_names.clone();
        }
    }
}
