//! The watcher task: its own system-bus connection, follows
//! `org.freedesktop.NetworkManager` through `NameOwnerChanged`, reads every
//! device's properties when NetworkManager appears (or a device comes or
//! goes), and re-reads a device whenever NetworkManager signals a change of
//! one of the properties that matter. Sends [`NmEvent`]s to the engine;
//! holds no state of its own.
//!
//! Signals are drained by their own tasks into an unbounded queue and
//! coalesced: zbus stops reading the socket while a stream's queue is full,
//! so a burst (NetworkManager starting up) next to a pending call would
//! otherwise starve the call's reply.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use futures::StreamExt;
use mptcp_policy::{type_from_nm_device_type, Connectivity, NmMetered};
use tokio::sync::mpsc;
use zbus::fdo::DBusProxy;
use zbus::message::Type as MessageType;
use zbus::{Connection, MatchRule, Message, MessageStream, OwnedObjectPath, OwnedVariant};

use super::{NmDevice, NmEvent};

const NM_BUS: &str = "org.freedesktop.NetworkManager";
const NM_PATH: &str = "/org/freedesktop/NetworkManager";
const NM_DEVICES_PATH: &str = "/org/freedesktop/NetworkManager/Devices";
const DEVICE_INTERFACE: &str = "org.freedesktop.NetworkManager.Device";
/// Device properties whose change is worth a re-read.
const WATCHED: [&str; 8] = [
    "Metered",
    "Ip4Connectivity",
    "Ip6Connectivity",
    "State",
    "DeviceType",
    "Managed",
    "Interface",
    "IpInterface",
];
/// NM_DEVICE_STATE_ACTIVATED.
const STATE_ACTIVATED: u32 = 100;
/// Longest wait for NetworkManager's answer to one call.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// When to read again after a failed read.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// The engine's handle: asks the watcher to re-read every device now (the
/// hook's fast path makes sure nothing is missed).
#[derive(Debug, Clone)]
pub struct NmWatcher {
    refresh: mpsc::Sender<String>,
}

impl NmWatcher {
    /// Asks for a full re-read; never waits (a refresh already queued is enough).
    pub fn refresh(&self, why: String) {
        let _ = self.refresh.try_send(why);
    }
}

/// Starts the watcher. It connects to the system bus in the background and
/// quietly does nothing while NetworkManager is not there.
pub fn spawn(events: mpsc::Sender<NmEvent>) -> NmWatcher {
    let (refresh, rx) = mpsc::channel::<String>(4);
    tokio::spawn(async move {
        if let Err(e) = run(events, rx).await {
            tracing::warn!("NetworkManager watcher stopped: {e}");
        }
    });
    NmWatcher { refresh }
}

/// The signals that matter, filtered by the bus.
fn rules() -> zbus::Result<Vec<MatchRule<'static>>> {
    let device_props = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .interface("org.freedesktop.DBus.Properties")
        .member("PropertiesChanged")
        .path_namespace(NM_DEVICES_PATH)
        .arg(0, DEVICE_INTERFACE)
        .build()?;
    let device_state = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .interface(DEVICE_INTERFACE)
        .member("StateChanged")
        .path_namespace(NM_DEVICES_PATH)
        .build()?;
    let mut rules = vec![device_props, device_state];
    for member in ["DeviceAdded", "DeviceRemoved"] {
        rules.push(
            MatchRule::builder()
                .msg_type(MessageType::Signal)
                .interface(NM_BUS)
                .member(member)
                .path(NM_PATH)
                .build()?,
        );
    }
    Ok(rules)
}

async fn run(
    events: mpsc::Sender<NmEvent>,
    mut refresh: mpsc::Receiver<String>,
) -> zbus::Result<()> {
    // A call NetworkManager does not answer must not hold the watcher:
    // short time-outs, and a re-read later.
    let conn = zbus::connection::Builder::system()
        .method_timeout(CALL_TIMEOUT)
        .build()
        .await?;
    let dbus = DBusProxy::new(&conn).await?;
    let mut owners = dbus
        .receive_name_owner_changed_with_args(&[(0, NM_BUS)])
        .await?;
    let (sig_tx, mut signals) = mpsc::unbounded_channel();
    for rule in rules()? {
        let mut stream = MessageStream::for_match_rule(rule, &conn, None).await?;
        let tx = sig_tx.clone();
        tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                let Ok(msg) = msg else { continue };
                if tx.send((Instant::now(), msg)).is_err() {
                    break;
                }
            }
        });
    }
    let mut present = dbus
        .name_has_owner(NM_BUS.try_into()?)
        .await
        .unwrap_or(false);
    // When a read failed: read everything again then.
    let mut retry: Option<tokio::time::Instant> = None;
    let later = || Some(tokio::time::Instant::now() + RETRY_AFTER);
    if present {
        tracing::info!("NetworkManager is on the bus: following its devices");
        if !send_all(&conn, &events, "NetworkManager found on the bus").await {
            retry = later();
        }
    } else {
        tracing::info!("NetworkManager is not on the bus; its hints will be used when it appears");
    }
    loop {
        tokio::select! {
            Some(change) = owners.next() => {
                let Ok(args) = change.args() else { continue };
                present = args.new_owner().is_some();
                if present {
                    tracing::info!("NetworkManager appeared on the bus");
                    if !send_all(&conn, &events, "NetworkManager appeared").await {
                        retry = later();
                    }
                } else {
                    tracing::info!("NetworkManager left the bus: its hints are dropped");
                    retry = None;
                    if events.send(NmEvent::Gone).await.is_err() {
                        return Ok(());
                    }
                }
            }
            Some((at, msg)) = signals.recv() => {
                let mut work = Work::default();
                work.add(at, &msg);
                while let Ok((at, msg)) = signals.try_recv() {
                    work.add(at, &msg);
                }
                if !present {
                    continue;
                }
                match work.run(&conn, &events).await {
                    None => return Ok(()),
                    Some(false) => retry = later(),
                    Some(true) => {}
                }
            }
            Some(why) = refresh.recv() => {
                if present && !send_all(&conn, &events, &why).await {
                    retry = later();
                }
            }
            _ = sleep_until(retry), if retry.is_some() => {
                retry = None;
                if present && !send_all(&conn, &events, "re-read after a failed read").await {
                    retry = later();
                }
            }
            else => return Ok(()),
        }
    }
}

/// Sleeps until `at` (never returns for `None`).
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What a batch of signals asks for: a full re-read, or some devices.
#[derive(Default)]
struct Work {
    /// Why and since when everything must be read again.
    full: Option<(Instant, String)>,
    /// Device paths to re-read: (first signal's arrival, what it was).
    devices: BTreeMap<String, (Instant, String)>,
}

impl Work {
    fn add(&mut self, at: Instant, msg: &Message) {
        let header = msg.header();
        let (Some(path), Some(member)) = (header.path(), header.member()) else {
            return;
        };
        let (path, member) = (path.as_str(), member.as_str());
        if matches!(member, "DeviceAdded" | "DeviceRemoved") {
            self.full
                .get_or_insert((at, format!("NetworkManager {member}")));
            return;
        }
        let relevant =
            member == "StateChanged" || (member == "PropertiesChanged" && changes_watched(msg));
        if relevant {
            self.devices
                .entry(path.to_owned())
                .or_insert((at, member.to_owned()));
        }
    }

    /// `None` when the engine is gone, `Some(false)` when a read failed.
    async fn run(self, conn: &Connection, events: &mpsc::Sender<NmEvent>) -> Option<bool> {
        if let Some((_, why)) = self.full {
            return Some(send_all(conn, events, &why).await);
        }
        let mut ok = true;
        for (path, (at, member)) in self.devices {
            match read_device(conn, &path).await {
                Ok(Some(device)) => {
                    let why = format!("NetworkManager {member} on {}", device.iface);
                    events
                        .send(NmEvent::Device { device, at, why })
                        .await
                        .ok()?;
                }
                Ok(None) | Err(zbus::Error::MethodError(..)) => {}
                Err(e) => {
                    tracing::debug!("NetworkManager device {path}: {e}");
                    ok = false;
                }
            }
        }
        Some(ok)
    }
}

/// Whether a `PropertiesChanged` names a property the daemon uses.
fn changes_watched(msg: &Message) -> bool {
    type Changed = (String, HashMap<String, OwnedVariant>, Vec<String>);
    msg.body()
        .deserialize::<Changed>()
        .is_ok_and(|(_, changed, invalidated)| {
            changed
                .keys()
                .chain(invalidated.iter())
                .any(|k| WATCHED.contains(&k.as_str()))
        })
}

/// Reads every device and sends them; false when the read failed.
async fn send_all(conn: &Connection, events: &mpsc::Sender<NmEvent>, why: &str) -> bool {
    let at = Instant::now();
    tracing::debug!("reading NetworkManager's devices ({why})");
    let read = read_all(conn).await;
    tracing::debug!("read NetworkManager's devices in {:?}", at.elapsed());
    match read {
        Ok(devices) => {
            let _ = events
                .send(NmEvent::Devices {
                    devices,
                    at,
                    why: why.to_owned(),
                })
                .await;
            true
        }
        Err(e) => {
            tracing::warn!("cannot read NetworkManager's devices ({e}); reading again soon");
            false
        }
    }
}

async fn read_all(conn: &Connection) -> zbus::Result<Vec<NmDevice>> {
    let reply = conn
        .call_method(Some(NM_BUS), NM_PATH, Some(NM_BUS), "GetDevices", &())
        .await?;
    let paths: Vec<OwnedObjectPath> = reply.body().deserialize()?;
    let mut devices = Vec::new();
    for p in paths {
        match read_device(conn, p.as_str()).await {
            Ok(Some(d)) => devices.push(d),
            Ok(None) => {}
            // The device vanished between the list and the read.
            Err(zbus::Error::MethodError(..)) => {}
            // No answer: the list would be incomplete.
            Err(e) => return Err(e),
        }
    }
    Ok(devices)
}

/// One device's properties; `None` for devices without an interface name.
async fn read_device(conn: &Connection, path: &str) -> zbus::Result<Option<NmDevice>> {
    let reply = conn
        .call_method(
            Some(NM_BUS),
            path,
            Some("org.freedesktop.DBus.Properties"),
            "GetAll",
            &(DEVICE_INTERFACE,),
        )
        .await?;
    let props: HashMap<String, OwnedVariant> = reply.body().deserialize()?;
    let u = |k: &str| props.get(k).and_then(|v| u32::try_from(v.clone()).ok());
    let s = |k: &str| {
        props
            .get(k)
            .and_then(|v| String::try_from(v.clone()).ok())
            .unwrap_or_default()
    };
    let ip_iface = s("IpInterface");
    let iface = if ip_iface.is_empty() {
        s("Interface")
    } else {
        ip_iface
    };
    if iface.is_empty() {
        return Ok(None);
    }
    let managed = props
        .get("Managed")
        .and_then(|v| bool::try_from(v.clone()).ok())
        .unwrap_or(false);
    Ok(Some(NmDevice {
        iface,
        device_type: u("DeviceType").and_then(type_from_nm_device_type),
        metered: u("Metered").and_then(NmMetered::from_nm),
        connectivity: Connectivity::best(
            u("Ip4Connectivity").and_then(Connectivity::from_nm),
            u("Ip6Connectivity").and_then(Connectivity::from_nm),
        ),
        managed,
        activated: u("State") == Some(STATE_ACTIVATED),
    }))
}
