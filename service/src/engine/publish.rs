//! Turning the engine's state into the published views, and handing them to
//! the bus adapter (when there is one). Publishing failures are logged, never
//! fatal: the kernel side matters more than the bus.

use mptcp_policy::{InterfaceRule, TypeSource};

use mptcp_policy_dbus::networkmanager::ORIGIN_NETWORKMANAGER;

use super::budget::state_name;

use super::Engine;
use crate::connections::ConnChange;
use crate::views::{InterfaceView, ManagerView};

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
                    let origin = if self.nm_hints.is_activated(&iface) {
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
                    type_source: match (source, self.nm_hints.device_type(&v.name)) {
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
                    bytes_used: self.usage.bytes(&v.name),
                    mptcp_bytes_used: self.usage.mptcp_bytes(&v.name),
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
                    hints: self.nm_hints.published(&v.name),
                })
            })
            .collect()
    }

    /// Publishes the manager and interface views.
    pub(super) async fn publish(&mut self) {
        let manager = self.manager_view();
        let interfaces = self.interface_views();
        let Some(bus) = self.bus.as_mut() else { return };
        if let Err(e) = bus.publish_manager(manager).await {
            tracing::warn!("D-Bus: cannot publish the manager's properties: {e}");
        }
        if let Err(e) = bus.publish_interfaces(interfaces).await {
            tracing::warn!("D-Bus: cannot publish interface objects: {e}");
        }
    }

    pub(super) async fn publish_connection(&self, change: &ConnChange) {
        let Some(bus) = self.bus.as_ref() else { return };
        let token = match change {
            ConnChange::Created(v) | ConnChange::Established(v) => v.token,
            ConnChange::Closed(t) | ConnChange::Notes(t) => *t,
            ConnChange::SubflowEstablished(t, _)
            | ConnChange::SubflowClosed(t, _)
            | ConnChange::SubflowPriority(t, _) => *t,
            ConnChange::Announced { token, .. } | ConnChange::Removed { token, .. } => *token,
        };
        if let Err(e) = bus.publish_connection(change, self.conns.get(token)).await {
            tracing::warn!("D-Bus: cannot publish connection {token}: {e}");
        }
    }

    pub(super) async fn policy_changed(&self) {
        if let Some(bus) = self.bus.as_ref() {
            if let Err(e) = bus.policy_changed().await {
                tracing::warn!("D-Bus: cannot signal PolicyChanged: {e}");
            }
        }
    }
}
