//! The watcher task: its own system-bus connection, follows
//! `org.freedesktop.NetworkManager` through `NameOwnerChanged`, reads every
//! device's properties when NetworkManager appears, and re-reads a device
//! whenever NetworkManager signals a change of one of the properties that
//! matter. Sends [`NmEvent`]s to the engine; holds no state of its own.

use std::collections::HashMap;
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
const NM_DEVICES_PATH: &str = "/org/freedesktop/NetworkManager/Devices/";
const DEVICE_INTERFACE: &str = "org.freedesktop.NetworkManager.Device";
/// Device properties whose change is worth a re-read.
const WATCHED: [&str; 9] = [
    "Metered",
    "Ip4Connectivity",
    "Ip6Connectivity",
    "State",
    "DeviceType",
    "Managed",
    "Interface",
    "IpInterface",
    "StateReason",
];
/// NM_DEVICE_STATE_ACTIVATED.
const STATE_ACTIVATED: u32 = 100;

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

async fn run(
    events: mpsc::Sender<NmEvent>,
    mut refresh: mpsc::Receiver<String>,
) -> zbus::Result<()> {
    let conn = Connection::system().await?;
    let dbus = DBusProxy::new(&conn).await?;
    let mut owners = dbus.receive_name_owner_changed().await?;
    let rule = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .path_namespace(NM_PATH)
        .build()?;
    let mut signals = MessageStream::for_match_rule(rule, &conn, None).await?;
    let mut present = dbus
        .name_has_owner(NM_BUS.try_into()?)
        .await
        .unwrap_or(false);
    if present {
        tracing::info!("NetworkManager is on the bus: following its devices");
        send_all(&conn, &events, "NetworkManager found on the bus").await;
    } else {
        tracing::info!("NetworkManager is not on the bus; its hints will be used when it appears");
    }
    loop {
        tokio::select! {
            Some(change) = owners.next() => {
                let Ok(args) = change.args() else { continue };
                if args.name().as_str() != NM_BUS {
                    continue;
                }
                present = args.new_owner().is_some();
                if present {
                    tracing::info!("NetworkManager appeared on the bus");
                    send_all(&conn, &events, "NetworkManager appeared").await;
                } else {
                    tracing::info!("NetworkManager left the bus: its hints are dropped");
                    if events.send(NmEvent::Gone).await.is_err() {
                        return Ok(());
                    }
                }
            }
            Some(msg) = signals.next() => {
                let Ok(msg) = msg else { continue };
                if present && !on_signal(&conn, &events, &msg).await {
                    return Ok(());
                }
            }
            Some(why) = refresh.recv() => {
                if present {
                    send_all(&conn, &events, &why).await;
                }
            }
            else => return Ok(()),
        }
    }
}

/// Handles one NetworkManager signal; false when the engine is gone.
async fn on_signal(conn: &Connection, events: &mpsc::Sender<NmEvent>, msg: &Message) -> bool {
    let at = Instant::now();
    let header = msg.header();
    let (Some(path), Some(member)) = (header.path(), header.member()) else {
        return true;
    };
    let path = path.as_str();
    let member = member.as_str();
    if path == NM_PATH && matches!(member, "DeviceAdded" | "DeviceRemoved") {
        send_all(conn, events, &format!("NetworkManager {member}")).await;
        return true;
    }
    if !path.starts_with(NM_DEVICES_PATH) {
        return true;
    }
    let relevant = match member {
        "StateChanged" => true,
        "PropertiesChanged" => {
            type Changed = (String, HashMap<String, OwnedVariant>, Vec<String>);
            match msg.body().deserialize::<Changed>() {
                Ok((iface, changed, invalidated)) => {
                    iface.starts_with(DEVICE_INTERFACE)
                        && changed
                            .keys()
                            .chain(invalidated.iter())
                            .any(|k| WATCHED.contains(&k.as_str()))
                }
                Err(_) => false,
            }
        }
        _ => false,
    };
    if !relevant {
        return true;
    }
    match read_device(conn, path).await {
        Ok(Some(device)) => {
            let why = format!("NetworkManager {member} on {}", device.iface);
            events
                .send(NmEvent::Device { device, at, why })
                .await
                .is_ok()
        }
        Ok(None) => true,
        Err(e) => {
            tracing::debug!("NetworkManager device {path}: {e}");
            true
        }
    }
}

async fn send_all(conn: &Connection, events: &mpsc::Sender<NmEvent>, why: &str) {
    let at = Instant::now();
    match read_all(conn).await {
        Ok(devices) => {
            let _ = events
                .send(NmEvent::Devices {
                    devices,
                    at,
                    why: why.to_owned(),
                })
                .await;
        }
        Err(e) => tracing::warn!("cannot read NetworkManager's devices: {e}"),
    }
}

async fn read_all(conn: &Connection) -> zbus::Result<Vec<NmDevice>> {
    let reply = conn
        .call_method(Some(NM_BUS), NM_PATH, Some(NM_BUS), "GetDevices", &())
        .await?;
    let paths: Vec<OwnedObjectPath> = reply.body().deserialize()?;
    let mut devices = Vec::new();
    for p in paths {
        // A device can vanish between the list and the read.
        if let Ok(Some(d)) = read_device(conn, p.as_str()).await {
            devices.push(d);
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
