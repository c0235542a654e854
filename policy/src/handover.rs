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
    // The interfaces that have endpoints: only they can hand over or take over.
    let paths: Vec<Path> = verdicts
        .iter()
        .filter(|v| endpoints.iter().any(|(_, e)| e.ifindex == v.index))
        .map(|v| Path {
            index: v.index,
            name: v.name.clone(),
            role: v.role,
            promotable: v.promotable,
            degraded: observed
                .iter()
                .find(|o| o.index == v.index)
                .and_then(|o| o.degraded.clone()),
        })
        .collect();
    let sick: Vec<&Path> = paths
        .iter()
        .filter(|p| p.role == Role::Preferred && p.degraded.is_some())
        .collect();
    if sick.is_empty() {
        return;
    }
    let healthy_preferred: Vec<&Path> = paths
        .iter()
        .filter(|p| p.role == Role::Preferred && p.degraded.is_none())
        .collect();
    // Backups are promoted only when no healthy preferred path is left.
    let stand_ins: Vec<&Path> = paths
        .iter()
        .filter(|p| p.role == Role::Backup && p.promotable && p.degraded.is_none())
        .filter(|_| healthy_preferred.is_empty())
        .collect();
    let is = |list: &[&Path], index: u32| list.iter().any(|p| p.index == index);
    if healthy_preferred.is_empty() && stand_ins.is_empty() {
        for v in verdicts.iter_mut().filter(|v| is(&sick, v.index)) {
            v.reason.push_str(
                "; path degraded, but no healthy path may take over (none preferred, no backup allowed to carry data): it keeps the traffic",
            );
        }
        return;
    }
    let names = |list: &[&Path]| list.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    let sick_names = names(&sick);
    let carriers = names(if stand_ins.is_empty() {
        &healthy_preferred
    } else {
        &stand_ins
    });
    for (_, ep) in endpoints.iter_mut() {
        if is(&sick, ep.ifindex) {
            ep.flags.backup = true;
        } else if is(&stand_ins, ep.ifindex) {
            ep.flags.backup = false;
        }
    }
    for v in verdicts.iter_mut() {
        if let Some(p) = sick.iter().find(|p| p.index == v.index) {
            v.reason.push_str(&format!(
                "; path degraded ({}): backup while {} carries the traffic",
                p.degraded.as_deref().unwrap_or_default(),
                carriers.join(", ")
            ));
        } else if is(&stand_ins, v.index) {
            v.reason.push_str(&format!(
                "; promoted: carries the traffic while {} is degraded",
                sick_names.join(", ")
            ));
            v.stands_in_for = sick_names.clone();
        }
    }
}

/// An interface with endpoints, as the hand-over sees it.
struct Path {
    index: u32,
    name: String,
    role: Role,
    promotable: bool,
    degraded: Option<String>,
}
