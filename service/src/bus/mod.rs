//! The D-Bus adapter: owns the system-bus connection, serves the manager,
//! interface and connection objects (under an ObjectManager), and publishes
//! what the engine hands it — one PropertiesChanged per object and change.
//! It holds no state of its own beyond the last published views (to diff).

mod errors;
mod manager;
mod objects;
mod polkit;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use mptcp_policy_dbus::names::{
    connection_path, interface_path, BUS_NAME, INTERFACE_INTERFACE, MANAGER_INTERFACE, MANAGER_PATH,
};
use zbus::fdo::{ObjectManager, Properties};
use zbus::names::InterfaceName;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, Variant};
use zbus_polkit::policykit1::AuthorityProxy;

use crate::connections::ConnChange;
use crate::control::EngineHandle;
use crate::views::{ConnectionView, InterfaceView, ManagerView};
use manager::Manager;
use objects::{subflow_info, ConnectionObject, InterfaceObject};

/// The daemon's presence on the system bus.
pub struct Bus {
    conn: Connection,
    manager: ManagerView,
    manager_tx: tokio::sync::watch::Sender<ManagerView>,
    interfaces: BTreeMap<String, InterfaceView>,
}

impl Bus {
    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` if set), serves
    /// the manager object and takes the name `org.mptcp.Policy1`.
    pub async fn start(
        engine: EngineHandle,
        manager: ManagerView,
        apps: crate::apps::Apps,
    ) -> anyhow::Result<Bus> {
        let conn = zbus::connection::Builder::system()
            .build()
            .await
            .context("cannot connect to the system bus (use --no-dbus to run without it)")?;
        let authority = AuthorityProxy::new(&conn)
            .await
            .context("cannot create the polkit authority proxy")?;
        let (manager_tx, view) = tokio::sync::watch::channel(manager.clone());
        let server = conn.object_server();
        server.at(MANAGER_PATH, ObjectManager).await?;
        server
            .at(
                MANAGER_PATH,
                Manager {
                    engine,
                    authority,
                    view,
                    apps,
                },
            )
            .await?;
        conn.request_name(BUS_NAME)
            .await
            .with_context(|| format!("cannot own the bus name {BUS_NAME} (another instance running, or the bus policy forbids it)"))?;
        tracing::info!("on the system bus as {BUS_NAME}");
        Ok(Bus {
            conn,
            manager,
            manager_tx,
            interfaces: BTreeMap::new(),
        })
    }

    fn emitter(&self, path: &str) -> zbus::Result<SignalEmitter<'static>> {
        SignalEmitter::new(&self.conn, path.to_string())
    }

    /// Updates the manager's properties; one PropertiesChanged if any changed.
    pub async fn publish_manager(&mut self, view: ManagerView) -> zbus::Result<()> {
        if view == self.manager {
            return Ok(());
        }
        let old = std::mem::replace(&mut self.manager, view.clone());
        let mut changed: HashMap<&str, Variant<'_>> = HashMap::new();
        if old.path_manager != view.path_manager {
            changed.insert("PathManager", Variant::from(view.path_manager.clone()));
        }
        if old.policy_summary != view.policy_summary {
            changed.insert("PolicySummary", Variant::from(view.policy_summary.clone()));
        }
        if old.limits != view.limits {
            changed.insert("Limits", Variant::from(view.limits));
        }
        if old.foreign_endpoints != view.foreign_endpoints {
            changed.insert(
                "ForeignEndpoints",
                Variant::from(view.foreign_endpoints.clone()),
            );
        }
        self.manager_tx.send_replace(view);
        emit_changed(&self.emitter(MANAGER_PATH)?, MANAGER_INTERFACE, changed).await
    }

    /// Adds, updates and removes interface objects to match `views`.
    pub async fn publish_interfaces(&mut self, views: Vec<InterfaceView>) -> zbus::Result<()> {
        let server = self.conn.object_server();
        let gone: Vec<String> = self
            .interfaces
            .keys()
            .filter(|name| !views.iter().any(|v| &v.name == *name))
            .cloned()
            .collect();
        for name in gone {
            server
                .remove::<InterfaceObject, _>(interface_path(&name))
                .await?;
            self.interfaces.remove(&name);
        }
        for view in views {
            let path = interface_path(&view.name);
            match self.interfaces.get(&view.name) {
                None => {
                    server
                        .at(path, InterfaceObject { view: view.clone() })
                        .await?;
                }
                Some(old) if *old != view => {
                    let changed = interface_changes(old, &view);
                    let iface = server
                        .interface::<_, InterfaceObject>(path.as_str())
                        .await?;
                    iface.get_mut().await.view = view.clone();
                    emit_changed(&self.emitter(&path)?, INTERFACE_INTERFACE, changed).await?;
                }
                Some(_) => {}
            }
            self.interfaces.insert(view.name.clone(), view);
        }
        Ok(())
    }

    /// Reflects one connection event: objects and the matching signal.
    /// `current` is the connection's state after the event.
    pub async fn publish_connection(
        &self,
        change: &ConnChange,
        current: Option<&ConnectionView>,
    ) -> zbus::Result<()> {
        let server = self.conn.object_server();
        let manager = self.emitter(MANAGER_PATH)?;
        match change {
            ConnChange::Created(v) => {
                server
                    .at(
                        connection_path(v.token),
                        ConnectionObject { view: v.clone() },
                    )
                    .await?;
                let (l, r) = ends(v);
                Manager::connection_created(&manager, v.token, &l.0, l.1, &r.0, r.1).await
            }
            ConnChange::Established(v) => {
                self.update_connection(v).await?;
                let (l, r) = ends(v);
                Manager::connection_established(&manager, v.token, &l.0, l.1, &r.0, r.1).await
            }
            ConnChange::Closed(token) => {
                server
                    .remove::<ConnectionObject, _>(connection_path(*token))
                    .await?;
                Manager::connection_closed(&manager, *token).await
            }
            ConnChange::SubflowEstablished(token, s) => {
                self.refresh_subflows(current).await?;
                Manager::subflow_established(&manager, *token, subflow_info(s)).await
            }
            ConnChange::SubflowClosed(token, s) => {
                self.refresh_subflows(current).await?;
                Manager::subflow_closed(&manager, *token, subflow_info(s)).await
            }
            ConnChange::SubflowPriority(token, s) => {
                self.refresh_subflows(current).await?;
                Manager::subflow_priority(&manager, *token, subflow_info(s)).await
            }
            ConnChange::Announced { token, id, addr } => {
                Manager::address_announced(
                    &manager,
                    *token,
                    *id,
                    &addr.ip().to_string(),
                    addr.port(),
                )
                .await
            }
            ConnChange::Notes(_) => self.refresh_subflows(current).await,
            ConnChange::Removed { token, id } => {
                Manager::address_removed(&manager, *token, *id).await
            }
        }
    }

    async fn refresh_subflows(&self, current: Option<&ConnectionView>) -> zbus::Result<()> {
        match current {
            Some(v) => self.update_connection(v).await,
            None => Ok(()),
        }
    }

    /// Replaces a connection object's view (after a subflow change) and emits
    /// its PropertiesChanged.
    async fn update_connection(&self, v: &ConnectionView) -> zbus::Result<()> {
        let path = connection_path(v.token);
        let server = self.conn.object_server();
        let Ok(iface) = server.interface::<_, ConnectionObject>(path.as_str()).await else {
            server
                .at(path, ConnectionObject { view: v.clone() })
                .await?;
            return Ok(());
        };
        let old = std::mem::replace(&mut iface.get_mut().await.view, v.clone());
        // Subflows, Promoted and Constraint change after creation (Mode and
        // Rule are set before the object is first seen).
        let obj = iface.get().await;
        let emitter = iface.signal_emitter();
        // A subflow change, or a refresh that changed none of the notes.
        let notes_changed = old.promoted != v.promoted || old.constraint != v.constraint;
        if old.subflows != v.subflows || !notes_changed {
            obj.subflows_changed(emitter).await?;
        }
        if old.promoted != v.promoted {
            obj.promoted_changed(emitter).await?;
        }
        if old.constraint != v.constraint {
            obj.constraint_changed(emitter).await?;
        }
        Ok(())
    }

    pub async fn budget_warning(
        &self,
        interface: &str,
        used: u64,
        budget: u64,
    ) -> zbus::Result<()> {
        Manager::budget_warning(&self.emitter(MANAGER_PATH)?, interface, used, budget).await
    }

    pub async fn budget_exhausted(
        &self,
        interface: &str,
        used: u64,
        budget: u64,
    ) -> zbus::Result<()> {
        Manager::budget_exhausted(&self.emitter(MANAGER_PATH)?, interface, used, budget).await
    }

    pub async fn health_changed(
        &self,
        interface: &str,
        health: &str,
        evidence: &str,
    ) -> zbus::Result<()> {
        Manager::health_changed(&self.emitter(MANAGER_PATH)?, interface, health, evidence).await
    }

    pub async fn policy_changed(&self) -> zbus::Result<()> {
        Manager::policy_changed(&self.emitter(MANAGER_PATH)?).await
    }
}

fn ends(v: &ConnectionView) -> ((String, u16), (String, u16)) {
    let f = |a: Option<std::net::SocketAddr>| {
        a.map(|a| (a.ip().to_string(), a.port()))
            .unwrap_or_default()
    };
    (f(v.local), f(v.remote))
}

fn interface_changes(
    old: &InterfaceView,
    new: &InterfaceView,
) -> HashMap<&'static str, Variant<'static>> {
    let mut c: HashMap<&'static str, Variant<'static>> = HashMap::new();
    if old.kind != new.kind {
        c.insert("Type", Variant::from(new.kind.clone()));
    }
    if old.type_source != new.type_source {
        c.insert("TypeSource", Variant::from(new.type_source.clone()));
    }
    if old.role != new.role {
        c.insert("Role", Variant::from(new.role.clone()));
    }
    if old.role_reason != new.role_reason {
        c.insert("RoleReason", Variant::from(new.role_reason.clone()));
    }
    if old.up != new.up {
        c.insert("Up", Variant::from(new.up));
    }
    if old.health != new.health {
        c.insert("Health", Variant::from(new.health.clone()));
    }
    if old.addresses != new.addresses {
        c.insert("Addresses", Variant::from(new.addresses.clone()));
    }
    if old.metered != new.metered {
        c.insert("Metered", Variant::from(new.metered));
    }
    if old.bytes_used != new.bytes_used {
        c.insert("BytesUsed", Variant::from(new.bytes_used));
    }
    if old.mptcp_bytes_used != new.mptcp_bytes_used {
        c.insert("MptcpBytesUsed", Variant::from(new.mptcp_bytes_used));
    }
    if old.rx_bytes != new.rx_bytes {
        c.insert("RxBytes", Variant::from(new.rx_bytes));
    }
    if old.tx_bytes != new.tx_bytes {
        c.insert("TxBytes", Variant::from(new.tx_bytes));
    }
    if old.budget_bytes != new.budget_bytes {
        c.insert("BudgetBytes", Variant::from(new.budget_bytes));
    }
    if old.budget_period != new.budget_period {
        c.insert("BudgetPeriod", Variant::from(new.budget_period.clone()));
    }
    if old.budget_state != new.budget_state {
        c.insert("BudgetState", Variant::from(new.budget_state.clone()));
    }
    if old.allowance_bytes != new.allowance_bytes {
        c.insert("AllowanceBytes", Variant::from(new.allowance_bytes));
    }
    if old.next_reset != new.next_reset {
        c.insert("NextReset", Variant::from(new.next_reset.clone()));
    }
    if old.endpoint_ids != new.endpoint_ids {
        c.insert("EndpointIds", Variant::from(new.endpoint_ids.clone()));
    }
    if old.hints != new.hints {
        let hints: HashMap<String, (String, String)> = new.hints.clone().into_iter().collect();
        c.insert("Hints", Variant::from(hints));
    }
    c
}

async fn emit_changed(
    emitter: &SignalEmitter<'_>,
    interface: &'static str,
    changed: HashMap<&str, Variant<'_>>,
) -> zbus::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let name = InterfaceName::from_static_str_unchecked(interface);
    Properties::properties_changed(emitter, name, changed, Cow::Borrowed(&[])).await
}
