//! The panel's link to `mptcp-policyd`: watches the bus name, loads every
//! object at once (ObjectManager) and follows the daemon's signals
//! (InterfacesAdded/Removed, PropertiesChanged, budget signals) — never
//! polling. Calls change state with the interactive-authorization flag, so
//! polkit may ask the user. Everything runs as futures on the GLib main
//! loop (zbus's own runtime, no tokio), so the UI never blocks.

use futures::channel::mpsc::UnboundedSender;
use futures::future::{select, Either};
use futures::StreamExt;
use mptcp_policy_dbus::names::{BUS_NAME, MANAGER_PATH};
use mptcp_policy_dbus::{Calls, DaemonSignal, ManagerProxy, Signal};
use zbus::fdo::{DBusProxy, ObjectManagerProxy};
use zbus::message::Type as MessageType;
use zbus::proxy::CacheProperties;
use zbus::{MatchRule, Message, MessageStream};

use crate::model::{ObjectKind, Props};

/// What the daemon did, for the window.
#[derive(Debug)]
pub enum DaemonEvent {
    /// Not running (or the bus is unreachable): why, for the empty state.
    Absent(String),
    /// (Re)connected: every object and the manager's properties.
    Snapshot {
        objects: Vec<(ObjectKind, String, Props)>,
        version: String,
        path_manager: String,
    },
    Added(ObjectKind, String, Props),
    Changed(ObjectKind, String, Props),
    Removed(ObjectKind, String),
    /// Something to tell the user (budget warnings).
    Notice(String),
}

/// A cloneable handle for calls to the daemon.
#[derive(Clone)]
pub struct Daemon {
    conn: zbus::Connection,
}

impl Daemon {
    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` or the default
    /// socket).
    pub async fn connect() -> zbus::Result<Daemon> {
        Ok(Daemon {
            conn: zbus::Connection::system().await?,
        })
    }

    /// Sends what the daemon does to `events` until the receiver is gone.
    pub async fn watch(self, events: UnboundedSender<DaemonEvent>) {
        if let Err(e) = self.watch_inner(&events).await {
            let _ = events.unbounded_send(DaemonEvent::Absent(e.to_string()));
        }
    }

    async fn watch_inner(&self, events: &UnboundedSender<DaemonEvent>) -> zbus::Result<()> {
        let dbus = DBusProxy::new(&self.conn).await?;
        let mut owners = dbus
            .receive_name_owner_changed_with_args(&[(0, BUS_NAME)])
            .await?;
        let name = zbus::names::BusName::try_from(BUS_NAME)?;
        loop {
            let owner = dbus.get_name_owner(name.clone()).await.ok();
            match owner {
                Some(unique) => {
                    if let Err(e) = self.session(unique.as_str(), &mut owners, events).await {
                        // The daemon went away mid-load or sent garbage:
                        // start over from the name's current owner, after a
                        // pause so a lasting failure does not spin.
                        let _ = events.unbounded_send(DaemonEvent::Absent(e.to_string()));
                        gtk::glib::timeout_future_seconds(1).await;
                    }
                }
                None => {
                    if events
                        .unbounded_send(DaemonEvent::Absent(String::new()))
                        .is_err()
                    {
                        return Ok(());
                    }
                    // Wait until someone owns the name.
                    loop {
                        let Some(signal) = owners.next().await else {
                            return Ok(());
                        };
                        let args = signal.args()?;
                        if args.new_owner().is_some() {
                            break;
                        }
                    }
                }
            }
            if events.is_closed() {
                return Ok(());
            }
        }
    }

    /// One run of the daemon (one unique name): snapshot, then its signals
    /// until the name changes owner.
    async fn session(
        &self,
        unique: &str,
        owners: &mut zbus::fdo::NameOwnerChangedStream,
        events: &UnboundedSender<DaemonEvent>,
    ) -> zbus::Result<()> {
        // Subscribe before loading, so nothing between the two is lost.
        let rule = MatchRule::builder()
            .msg_type(MessageType::Signal)
            .sender(unique)
            .path_namespace(MANAGER_PATH)
            .build()?;
        let mut signals =
            MessageStream::for_match_rule(rule, &self.conn, std::num::NonZeroUsize::new(256))
                .await?;
        events
            .unbounded_send(self.snapshot(unique).await?)
            .map_err(|_| zbus::Error::Failure("window closed".into()))?;
        loop {
            match select(signals.next(), owners.next()).await {
                Either::Left((Some(Ok(msg)), _)) => {
                    for ev in decode_signal(&msg)? {
                        if events.unbounded_send(ev).is_err() {
                            return Ok(());
                        }
                    }
                }
                Either::Left((Some(Err(e)), _)) => return Err(e),
                Either::Left((None, _)) => return Ok(()),
                Either::Right((Some(_), _)) => return Ok(()), // owner changed
                Either::Right((None, _)) => return Ok(()),
            }
        }
    }

    async fn snapshot(&self, unique: &str) -> zbus::Result<DaemonEvent> {
        let om = ObjectManagerProxy::builder(&self.conn)
            .destination(unique.to_string())
            .path(MANAGER_PATH)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        let mut objects = Vec::new();
        for (path, ifaces) in om.get_managed_objects().await? {
            for (iface, props) in ifaces {
                if let Some(kind @ (ObjectKind::Interface | ObjectKind::Connection)) =
                    ObjectKind::of(iface.as_str())
                {
                    objects.push((kind, path.to_string(), props));
                }
            }
        }
        let manager = self.manager().await?;
        Ok(DaemonEvent::Snapshot {
            objects,
            version: manager.version().await.unwrap_or_default(),
            path_manager: manager.path_manager().await.unwrap_or_default(),
        })
    }

    async fn manager(&self) -> zbus::Result<ManagerProxy<'static>> {
        ManagerProxy::builder(&self.conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await
    }

    /// The manager's calls with ALLOW_INTERACTIVE_AUTH (like
    /// `mptcp-policyctl` without `--no-ask`); an error comes back as the
    /// daemon's message.
    async fn calls(&self) -> Result<Calls, String> {
        Calls::connect(&self.conn, true)
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn set_role(&self, interface: &str, role: &str) -> Result<(), String> {
        let calls = self.calls().await?;
        calls
            .set_interface_role(interface, role)
            .await
            .map_err(error_message)
    }

    pub async fn set_metered(&self, interface: &str, metered: bool) -> Result<(), String> {
        let calls = self.calls().await?;
        calls
            .set_metered(interface, metered)
            .await
            .map_err(error_message)
    }

    pub async fn set_budget(
        &self,
        interface: &str,
        bytes: u64,
        period: &str,
    ) -> Result<(), String> {
        let calls = self.calls().await?;
        calls
            .set_budget(interface, bytes, period)
            .await
            .map_err(error_message)
    }

    pub async fn reset_usage(&self, interface: &str) -> Result<(), String> {
        let calls = self.calls().await?;
        calls.reset_usage(interface).await.map_err(error_message)
    }
}

/// The daemon's own message for its errors; zbus's text for the rest.
fn error_message(e: mptcp_policy_dbus::Error) -> String {
    if let Some((_, m)) = e.daemon() {
        return m.to_string();
    }
    match e {
        mptcp_policy_dbus::Error::ZBus(zbus::Error::MethodError(name, Some(m), _)) => {
            format!("{name}: {m}")
        }
        e => e.to_string(),
    }
}

/// The events one signal of the daemon means (none for signals the panel
/// does not show).
fn decode_signal(msg: &Message) -> zbus::Result<Vec<DaemonEvent>> {
    let signal = DaemonSignal::decode(msg).map_err(|e| zbus::Error::Failure(e.to_string()))?;
    let shown = |k: &ObjectKind| *k != ObjectKind::Manager;
    Ok(match signal {
        Some(DaemonSignal::Changed {
            path,
            kind,
            changed,
            ..
        }) if shown(&kind) => vec![DaemonEvent::Changed(kind, path, changed)],
        Some(DaemonSignal::Added { path, objects }) => objects
            .into_iter()
            .filter(|(k, _)| shown(k))
            .map(|(k, props)| DaemonEvent::Added(k, path.clone(), props))
            .collect(),
        Some(DaemonSignal::Removed { path, kinds }) => kinds
            .into_iter()
            .filter(shown)
            .map(|k| DaemonEvent::Removed(k, path.clone()))
            .collect(),
        Some(DaemonSignal::Manager(Signal::BudgetWarning {
            interface,
            used,
            budget,
        })) => vec![DaemonEvent::Notice(budget_notice(
            false, &interface, used, budget,
        ))],
        Some(DaemonSignal::Manager(Signal::BudgetExhausted {
            interface,
            used,
            budget,
        })) => vec![DaemonEvent::Notice(budget_notice(
            true, &interface, used, budget,
        ))],
        _ => Vec::new(),
    })
}

fn budget_notice(exhausted: bool, name: &str, used: u64, budget: u64) -> String {
    use crate::format::bytes;
    let text = if exhausted {
        crate::i18n::gettext("{name}: budget of {budget} used up")
    } else {
        crate::i18n::gettext("{name}: {used} of {budget} used")
    };
    text.replace("{name}", name)
        .replace("{used}", &bytes(used))
        .replace("{budget}", &bytes(budget))
}
