//! The D-Bus adapter: owns the system-bus connection, serves the manager,
//! interface and connection objects (under an ObjectManager), and publishes
//! what the engine hands it through a [`Publisher`] — one PropertiesChanged
//! per object and change, in a task of its own.
//! It holds no state of its own beyond the last published records: a
//! change notification is the diff of two records (`mptcp_policy_dbus::records`).

mod errors;
mod manager;
mod objects;
mod polkit;
mod publisher;

pub use publisher::{Publication, Publisher};

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use mptcp_policy_dbus::names::{
    connection_path, interface_path, BUS_NAME, CONNECTION_INTERFACE, INTERFACE_INTERFACE,
    MANAGER_INTERFACE, MANAGER_PATH,
};
use mptcp_policy_dbus::records::{Changes, ConnectionRecord};
use mptcp_policy_dbus::signals::Signal;
use zbus::fdo::{ObjectManager, Properties};
use zbus::names::InterfaceName;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, Variant};
use zbus_polkit::policykit1::AuthorityProxy;

use crate::connections::ConnChange;
use crate::control::EngineHandle;
use crate::views::{ConnectionView, InterfaceView, ManagerView};
use manager::Manager;
use objects::{ConnectionObject, InterfaceObject};

/// Connects to the system bus, serves the objects and starts the task that
/// publishes what the engine sends.
pub async fn start(engine: EngineHandle, manager: ManagerView) -> anyhow::Result<Publisher> {
    let mut bus = Bus::start(engine, manager).await?;
    let (publisher, mut queue) = Publisher::new();
    tokio::spawn(async move {
        while let Some(p) = queue.recv().await {
            bus.publish(p).await;
        }
    });
    Ok(publisher)
}

/// The daemon's presence on the system bus.
struct Bus {
    conn: Connection,
    /// Emits the manager's signals.
    manager_emitter: SignalEmitter<'static>,
    manager: ManagerView,
    manager_tx: tokio::sync::watch::Sender<ManagerView>,
    interfaces: BTreeMap<String, InterfaceView>,
}

impl Bus {
    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` if set), serves
    /// the manager object and takes the name `org.mptcp.Policy1`.
    async fn start(engine: EngineHandle, manager: ManagerView) -> anyhow::Result<Bus> {
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
                },
            )
            .await?;
        conn.request_name(BUS_NAME)
            .await
            .with_context(|| format!("cannot own the bus name {BUS_NAME} (another instance running, or the bus policy forbids it)"))?;
        tracing::info!("on the system bus as {BUS_NAME}");
        Ok(Bus {
            manager_emitter: SignalEmitter::new(&conn, MANAGER_PATH)?,
            conn,
            manager,
            manager_tx,
            interfaces: BTreeMap::new(),
        })
    }

    /// Publishes one thing; failures are logged, never fatal (the kernel
    /// side matters more than the bus).
    async fn publish(&mut self, p: Publication) {
        let (what, result) = match p {
            Publication::Manager(view) => (
                "the manager's properties",
                self.publish_manager(*view).await,
            ),
            Publication::Interfaces(views) => {
                ("interface objects", self.publish_interfaces(views).await)
            }
            Publication::Connection(change, current) => (
                "a connection",
                self.publish_connection(&change, current.as_deref()).await,
            ),
            Publication::Signal(signal) => ("a signal", self.emit(*signal).await),
            Publication::Then(f) => {
                f();
                return;
            }
        };
        if let Err(e) = result {
            tracing::warn!("D-Bus: cannot publish {what}: {e}");
        }
    }

    /// Emits one of the manager's own signals.
    async fn emit(&self, signal: Signal) -> zbus::Result<()> {
        let e = &self.manager_emitter;
        match signal {
            Signal::HealthChanged {
                interface,
                health,
                evidence,
            } => Manager::health_changed(e, &interface, &health, &evidence).await,
            Signal::BudgetWarning {
                interface,
                used,
                budget,
            } => Manager::budget_warning(e, &interface, used, budget).await,
            Signal::BudgetExhausted {
                interface,
                used,
                budget,
            } => Manager::budget_exhausted(e, &interface, used, budget).await,
            Signal::PolicyChanged => Manager::policy_changed(e).await,
            // Connection signals follow connection changes
            // (`Publication::Connection`), which also update the objects.
            other => Err(zbus::Error::Failure(format!(
                "{other:?} is published with its connection change"
            ))),
        }
    }

    fn emitter(&self, path: &str) -> zbus::Result<SignalEmitter<'static>> {
        SignalEmitter::new(&self.conn, path.to_string())
    }

    /// Updates the manager's properties; one PropertiesChanged if any changed.
    async fn publish_manager(&mut self, view: ManagerView) -> zbus::Result<()> {
        if view == self.manager {
            return Ok(());
        }
        let old = std::mem::replace(&mut self.manager, view.clone());
        let changed = old.record().diff(&view.record())?;
        self.manager_tx.send_replace(view);
        emit_changed(&self.emitter(MANAGER_PATH)?, MANAGER_INTERFACE, changed).await
    }

    /// Adds, updates and removes interface objects to match `views`.
    async fn publish_interfaces(&mut self, views: Vec<InterfaceView>) -> zbus::Result<()> {
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
                    // Name is the object's key: it never changes here.
                    let changed = old.diff(&view)?;
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
    async fn publish_connection(
        &self,
        change: &ConnChange,
        current: Option<&ConnectionView>,
    ) -> zbus::Result<()> {
        let server = self.conn.object_server();
        let manager = &self.manager_emitter;
        match change {
            ConnChange::Created(v) => {
                server
                    .at(
                        connection_path(v.token),
                        ConnectionObject { record: v.record() },
                    )
                    .await?;
                let (l, r) = ends(v);
                Manager::connection_created(manager, v.token, &l.0, l.1, &r.0, r.1).await
            }
            ConnChange::Established(v) => {
                self.update_connection(v).await?;
                let (l, r) = ends(v);
                Manager::connection_established(manager, v.token, &l.0, l.1, &r.0, r.1).await
            }
            ConnChange::Closed(token) => {
                server
                    .remove::<ConnectionObject, _>(connection_path(*token))
                    .await?;
                Manager::connection_closed(manager, *token).await
            }
            ConnChange::SubflowEstablished(token, s) => {
                self.refresh_subflows(current).await?;
                Manager::subflow_established(manager, *token, s.info()).await
            }
            ConnChange::SubflowClosed(token, s) => {
                self.refresh_subflows(current).await?;
                Manager::subflow_closed(manager, *token, s.info()).await
            }
            ConnChange::SubflowPriority(token, s) => {
                self.refresh_subflows(current).await?;
                Manager::subflow_priority(manager, *token, s.info()).await
            }
            ConnChange::Announced { token, id, addr } => {
                Manager::address_announced(
                    manager,
                    *token,
                    *id,
                    &addr.ip().to_string(),
                    addr.port(),
                )
                .await
            }
            ConnChange::Notes(_) => self.refresh_subflows(current).await,
            ConnChange::Removed { token, id } => {
                Manager::address_removed(manager, *token, *id).await
            }
        }
    }

    async fn refresh_subflows(&self, current: Option<&ConnectionView>) -> zbus::Result<()> {
        match current {
            Some(v) => self.update_connection(v).await,
            None => Ok(()),
        }
    }

    /// Replaces a connection object's record (after a subflow change) and
    /// emits the diff as one PropertiesChanged. A refresh that changed
    /// nothing still re-announces `Subflows` (clients re-read the subflows
    /// after a subflow event).
    async fn update_connection(&self, v: &ConnectionView) -> zbus::Result<()> {
        let path = connection_path(v.token);
        let server = self.conn.object_server();
        let record = v.record();
        let Ok(iface) = server.interface::<_, ConnectionObject>(path.as_str()).await else {
            server.at(path, ConnectionObject { record }).await?;
            return Ok(());
        };
        let old = std::mem::replace(&mut iface.get_mut().await.record, record.clone());
        let mut changed = old.diff(&record)?;
        let notes_changed = changed
            .iter()
            .any(|(name, _)| matches!(*name, "Promoted" | "Constraint"));
        if !notes_changed && !changed.iter().any(|(name, _)| *name == "Subflows") {
            changed.push(("Subflows", encode_subflows(&record)?));
        }
        emit_changed(iface.signal_emitter(), CONNECTION_INTERFACE, changed).await
    }
}

fn ends(v: &ConnectionView) -> ((String, u16), (String, u16)) {
    let f = |a: Option<std::net::SocketAddr>| {
        a.map(|a| (a.ip().to_string(), a.port()))
            .unwrap_or_default()
    };
    (f(v.local), f(v.remote))
}

fn encode_subflows(r: &ConnectionRecord) -> zbus::Result<zbus::wire::OwnedVariant> {
    zbus::wire::as_variant::to_owned_variant(&r.subflows)
}

async fn emit_changed(
    emitter: &SignalEmitter<'_>,
    interface: &'static str,
    changed: Changes,
) -> zbus::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let changed: HashMap<&str, Variant<'_>> = changed
        .into_iter()
        .map(|(name, value)| (name, Variant::from(value)))
        .collect();
    let name = InterfaceName::from_static_str_unchecked(interface);
    Properties::properties_changed(emitter, name, changed, Cow::Borrowed(&[])).await
}
