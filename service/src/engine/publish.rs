//! Turning the engine's state into the published views, and queueing them
//! for the bus task (when there is one): the engine never waits for D-Bus.

use mptcp_policy::{InterfaceRule, TypeSource};

use mptcp_policy_dbus::networkmanager::ORIGIN_NETWORKMANAGER;

use super::budget::state_name;

use super::Engine;
use crate::bus::Publication;
use crate::connections::ConnChange;
use crate::control::{CommandError, Reply};
use crate::views::{InterfaceView, ManagerView};
use mptcp_policy_dbus::signals::Signal;

fn type_source_name(s: TypeSource) -> &'static str {
    match s {
        TypeSource::Config => "config",
        TypeSource::NetworkManager => "networkmanager",
        TypeSource::Sysfs => "sysfs",
        TypeSource::Name => "name",
        TypeSource::None => "none",
    }
}

impl Engine {
    pub(super) fn manager_view(&self) -> ManagerView {
        let limits = self.reconciler.limits().unwrap_or(self.policy.limits);
        ManagerView {
            bpf_status: self.apps.bpf_status(),
            enabled_cgroups: self.apps.enabled(),
            path_manager: self.path_manager_in_force().to_string(),
            policy_summary: self
                .verdicts
                .iter()
                .map(|v| format!("{} {} {}", v.name, v.kind, v.role))
                .collect::<Vec<_>>()
                .join("\n"),
            limits: (limits.subflows, limits.add_addr_accepted),
            foreign_endpoints: self
                .reconciler
                .foreign()
                .map(|e| {
                    let iface = self.table.interface_of(e.addr, e.ifindex);
                    let origin = if self.nm.hints.is_activated(&iface) {
                        ORIGIN_NETWORKMANAGER
                    } else {
                        ""
                    };
                    (
                        e.id,
                        e.addr.to_string(),
                        e.flags.names().join(","),
                        origin.to_string(),
                    )
                })
                .collect(),
        }
    }

    /// The `[[interface]]` entry deciding for `index`, if any.
    pub(super) fn matched_rule(&self, index: u32) -> Option<&InterfaceRule> {
        let v = self.verdicts.iter().find(|v| v.index == index)?;
        self.policy.interfaces.get(v.matched_entry?)
    }

    fn interface_views(&self) -> Vec<InterfaceView> {
        self.verdicts
            .iter()
            .filter_map(|v| {
                let link = self.table.link(v.index)?;
                let (_, source) = self.table.type_of(&self.policy, link);
                let addresses: Vec<String> = self
                    .table
                    .addresses_of(v.index)
                    .iter()
                    .map(|a| a.addr.to_string())
                    .collect();
                let rule = self.matched_rule(v.index);
                Some(InterfaceView {
                    name: v.name.clone(),
                    kind: v.kind.to_string(),
                    type_source: match (source, self.nm.hints.device_type(&v.name)) {
                        (TypeSource::NetworkManager, Some(hint)) => hint.source.to_string(),
                        _ => type_source_name(source).to_string(),
                    },
                    role: v.role.to_string(),
                    role_reason: v.reason.clone(),
                    up: link.usable(),
                    health: self.health_of(&v.name),
                    endpoint_ids: self
                        .reconciler
                        .endpoints()
                        .iter()
                        .filter(|e| {
                            e.ifindex == Some(v.index) || addresses.contains(&e.addr.to_string())
                        })
                        .map(|e| e.id)
                        .collect(),
                    addresses,
                    metered: v.metered,
                    bytes_used: self.counting.usage.bytes(&v.name),
                    mptcp_bytes_used: self.counting.usage.mptcp_bytes(&v.name),
                    rx_bytes: link.rx_bytes,
                    tx_bytes: link.tx_bytes,
                    budget_bytes: rule.and_then(|r| r.budget.as_ref()).map_or(0, |b| b.bytes),
                    budget_period: rule
                        .and_then(|r| r.budget.as_ref())
                        .map(|b| b.period.as_str().to_string())
                        .unwrap_or_default(),
                    budget_state: v
                        .budget
                        .as_ref()
                        .map(|b| state_name(b.state).to_string())
                        .unwrap_or_default(),
                    allowance_bytes: v
                        .budget
                        .as_ref()
                        .map_or(0, |b| b.allowance_left_today.unwrap_or(b.remaining)),
                    next_reset: v
                        .budget
                        .as_ref()
                        .map(|b| b.period.end.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
                        .unwrap_or_default(),
                    hints: self.nm.hints.published(&v.name),
                })
            })
            .collect()
    }

    /// Publishes the manager and interface views.
    pub(super) fn publish(&self) {
        if let Some(bus) = &self.bus {
            bus.send(Publication::Manager(Box::new(self.manager_view())));
            bus.send(Publication::Interfaces(self.interface_views()));
        }
    }

    pub(super) fn publish_connection(&self, change: &ConnChange) {
        let Some(bus) = &self.bus else { return };
        // The connection's whole state only where the bus refreshes the
        // object from it: under a storm of connections the queue holds
        // thousands of entries (an 11 MB heap peak with a copy in each).
        let refreshes = match change {
            ConnChange::Notes(t)
            | ConnChange::SubflowEstablished(t, _)
            | ConnChange::SubflowClosed(t, _)
            | ConnChange::SubflowPriority(t, _) => Some(*t),
            ConnChange::Created(_)
            | ConnChange::Established(_)
            | ConnChange::Closed(_)
            | ConnChange::Announced { .. }
            | ConnChange::Removed { .. } => None,
        };
        bus.send(Publication::Connection(
            Box::new(change.clone()),
            refreshes.and_then(|t| self.conns.get(t).cloned().map(Box::new)),
        ));
    }

    pub(super) fn policy_changed(&self) {
        if let Some(bus) = &self.bus {
            bus.send(Publication::Signal(Box::new(Signal::PolicyChanged)));
        }
    }

    /// Answers a command once what it changed is published, so the caller
    /// reads its change on the bus when its call returns.
    pub(super) fn answer<T: Send + 'static>(
        &self,
        reply: Reply<T>,
        result: Result<T, CommandError>,
    ) {
        match &self.bus {
            Some(bus) => bus.then(move || {
                let _ = reply.send(result);
            }),
            None => {
                let _ = reply.send(result);
            }
        }
    }
}
