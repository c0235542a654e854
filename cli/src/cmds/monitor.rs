//! `monitor`: every signal of the daemon, one line each, until Ctrl-C.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::SystemTime;

use mptcp_policy_dbus::names::{
    unescape_path_element, BUS_NAME, CONNECTION_INTERFACE, INTERFACE_INTERFACE, MANAGER_INTERFACE,
    MANAGER_PATH,
};
use mptcp_policy_dbus::proxy as p;
use mptcp_policy_dbus::SubflowInfo;
use serde_json::{json, Map, Value};
use zbus::export::futures_core::Stream;
use zbus::message::{Message, Type as MsgType};
use zbus::wire::{OwnedObjectPath, OwnedVariant};
use zbus::{MatchRule, MessageStream};

use super::{out, print_json, Ctx};
use crate::error::{CliError, Result};
use crate::format::rfc3339;
use crate::model::endpoint;
use crate::units::human_bytes;

/// Follow the daemon's events live, one line each, until Ctrl-C
///
/// Prints a timestamped line for every signal of the daemon: MPTCP
/// connections created, established and closed; subflows established,
/// closed and re-prioritised (backup or active); addresses announced and
/// removed; policy changes; budget warnings and exhaustion; and every
/// property change of an interface (role, up/down, addresses, metered,
/// budget; byte counters only with --usage), interfaces appearing and disappearing, and the daemon itself
/// starting and stopping. With --json each event is one JSON object per
/// line, with "time" and "event" keys.
///
/// Example output:
///   2025-01-31T12:00:00.123Z connection-created token=3735928559 10.1.0.2:40000 -> 10.9.0.1:5201
///   2025-01-31T12:00:00.125Z subflow-established token=3735928559 10.2.0.2:40001 -> 10.9.0.1:5201 dev=wwan0 backup
///   2025-01-31T12:00:07.002Z interface-changed wlan0 state=down
///   2025-01-31T12:00:07.004Z subflow-priority token=3735928559 10.2.0.2:40001 -> 10.9.0.1:5201 dev=wwan0 active
///   2025-01-31T12:01:00.000Z budget-warning wwan0 used=1.6 GiB budget=2.0 GiB (80%)
///
/// Examples:
///   mptcp-policyctl monitor
///   mptcp-policyctl --json monitor | jq -c 'select(.event == "budget-warning")'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Also print byte-counter updates (BytesUsed), which the daemon
    /// publishes about once a second per interface
    #[arg(long)]
    pub usage: bool,
}

/// One decoded event: a kebab-case name, the human details, the JSON fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event: String,
    pub text: String,
    pub fields: Map<String, Value>,
}

impl Event {
    fn new(event: &str, text: String, fields: Value) -> Self {
        Event {
            event: event.into(),
            text,
            fields: match fields {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        }
    }

    /// `TIME EVENT DETAILS`.
    pub fn line(&self, time: SystemTime) -> String {
        if self.text.is_empty() {
            format!("{} {}", rfc3339(time), self.event)
        } else {
            format!("{} {} {}", rfc3339(time), self.event, self.text)
        }
    }

    /// `{"time": …, "event": …, fields…}`.
    pub fn json(&self, time: SystemTime) -> Value {
        let mut m = Map::new();
        m.insert("time".into(), Value::String(rfc3339(time)));
        m.insert("event".into(), Value::String(self.event.clone()));
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let client = ctx.connect().await?;
    // Subscribe first, then check the daemon is there, so nothing is missed.
    let daemon_rule = MatchRule::builder()
        .msg_type(MsgType::Signal)
        .sender(BUS_NAME)
        .path_namespace(MANAGER_PATH)
        .build()?;
    let mut events = MessageStream::for_match_rule(daemon_rule, &client.conn, None).await?;
    let owner_rule = MatchRule::builder()
        .msg_type(MsgType::Signal)
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .add_arg(BUS_NAME)
        .build()?;
    let mut owners = MessageStream::for_match_rule(owner_rule, &client.conn, None).await?;
    let version = client
        .manager
        .version()
        .await
        .map_err(|e| CliError::from(mptcp_policy_dbus::Error::from(e)))?;
    if !ctx.json {
        eprintln!("Monitoring mptcp-policyd {version} ({BUS_NAME}); Ctrl-C to stop.");
    }
    loop {
        let next = poll_fn(|cx| {
            if let Poll::Ready(m) = Pin::new(&mut events).poll_next(cx) {
                return Poll::Ready(m);
            }
            Pin::new(&mut owners).poll_next(cx)
        })
        .await;
        let msg = match next {
            None => return Err(CliError::failed("the connection to the system bus closed")),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(msg)) => msg,
        };
        match decode(&msg, args.usage) {
            Ok(Some(ev)) => {
                let now = SystemTime::now();
                if ctx.json {
                    print_json(&ev.json(now));
                } else {
                    out(&ev.line(now));
                }
            }
            Ok(None) => {}
            // A daemon bug must not end the monitor: report and go on.
            Err(e) => eprintln!("mptcp-policyctl: {e}"),
        }
    }
}

fn body<T>(msg: &Message) -> Result<T>
where
    T: serde::de::DeserializeOwned + zbus::wire::Type,
{
    msg.body().deserialize::<T>().map_err(|e| {
        let hdr = msg.header();
        CliError::failed(format!(
            "malformed signal {}.{}: {e}",
            hdr.interface().map(|i| i.to_string()).unwrap_or_default(),
            hdr.member().map(|m| m.to_string()).unwrap_or_default()
        ))
    })
}

fn args_err(e: zbus::Error) -> CliError {
    CliError::failed(format!("malformed signal from the daemon: {e}"))
}

fn conn_event(kind: &str, token: u32, local: &str, lport: u16, remote: &str, rport: u16) -> Event {
    Event::new(
        kind,
        format!(
            "token={token} {} -> {}",
            endpoint(local, lport),
            endpoint(remote, rport)
        ),
        json!({"token": token, "local_address": local, "local_port": lport,
               "remote_address": remote, "remote_port": rport}),
    )
}

fn subflow_event(kind: &str, token: u32, s: &SubflowInfo) -> Event {
    let dev = if s.interface.is_empty() {
        "-"
    } else {
        &s.interface
    };
    Event::new(
        kind,
        format!(
            "token={token} {} -> {} dev={dev} {}",
            endpoint(&s.local_address, s.local_port),
            endpoint(&s.remote_address, s.remote_port),
            if s.backup { "backup" } else { "active" }
        ),
        json!({"token": token, "subflow": s}),
    )
}

fn budget_event(kind: &str, interface: &str, used: u64, budget: u64) -> Event {
    let pct = if budget == 0 {
        String::new()
    } else {
        format!(" ({:.0}%)", used as f64 * 100.0 / budget as f64)
    };
    Event::new(
        kind,
        format!(
            "{interface} used={} budget={}{pct}",
            human_bytes(used),
            human_bytes(budget)
        ),
        json!({"interface": interface, "used": used, "budget": budget}),
    )
}

/// `ConnectionCreated` -> `connection-created`.
fn kebab(name: &str) -> String {
    let mut s = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('-');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

/// `RoleReason` -> `role_reason`.
fn snake(name: &str) -> String {
    kebab(name).replace('-', "_")
}

/// One changed property: `(human "key=value", json key, json value)`.
fn property(name: &str, v: &OwnedVariant) -> (String, String, Value) {
    fn get<T: serde::de::DeserializeOwned + zbus::wire::Type>(v: &OwnedVariant) -> Option<T> {
        zbus::wire::as_variant::deserialize_for_property(v).ok()
    }
    let key = snake(name);
    let (text, value) = match name {
        "Up" => match get::<bool>(v) {
            Some(up) => (
                format!("state={}", if up { "up" } else { "down" }),
                json!(up),
            ),
            None => (format!("up={v:?}"), json!(format!("{v:?}"))),
        },
        "Metered" => match get::<bool>(v) {
            Some(b) => (
                format!("metered={}", if b { "yes" } else { "no" }),
                json!(b),
            ),
            None => (format!("metered={v:?}"), json!(format!("{v:?}"))),
        },
        "BytesUsed" | "BudgetBytes" => match get::<u64>(v) {
            Some(n) => (
                format!(
                    "{}={}",
                    if name == "BytesUsed" {
                        "used"
                    } else {
                        "budget"
                    },
                    human_bytes(n)
                ),
                json!(n),
            ),
            None => (format!("{key}={v:?}"), json!(format!("{v:?}"))),
        },
        "Addresses" => match get::<Vec<String>>(v) {
            Some(a) if a.is_empty() => ("addresses=none".into(), json!(a)),
            Some(a) => (format!("addresses={}", a.join(",")), json!(a)),
            None => (format!("{key}={v:?}"), json!(format!("{v:?}"))),
        },
        "EndpointIds" => match get::<Vec<u8>>(v) {
            Some(ids) => (
                format!(
                    "endpoints={}",
                    ids.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
                ),
                json!(ids),
            ),
            None => (format!("{key}={v:?}"), json!(format!("{v:?}"))),
        },
        _ => {
            if let Some(s) = get::<String>(v) {
                let shown = if s.contains(' ') || s.is_empty() {
                    format!("{s:?}")
                } else {
                    s.clone()
                };
                (format!("{key}={shown}"), json!(s))
            } else if let Some(b) = get::<bool>(v) {
                (format!("{key}={b}"), json!(b))
            } else if let Some(n) = get::<u64>(v) {
                (format!("{key}={n}"), json!(n))
            } else if let Some(n) = get::<u32>(v) {
                (format!("{key}={n}"), json!(n))
            } else {
                (format!("{key}={v:?}"), json!(format!("{v:?}")))
            }
        }
    };
    (text, key, value)
}

/// The interface name of `/org/mptcp/Policy1/interface/<escaped>`.
fn interface_name(path: &str) -> String {
    let last = path.rsplit('/').next().unwrap_or(path);
    unescape_path_element(last).unwrap_or_else(|| last.to_string())
}

/// Turns one message from the daemon (or the bus's `NameOwnerChanged`)
/// into an event; `None` for messages not worth a line (connection object
/// bookkeeping, which the connection signals already report; byte-counter
/// updates unless `usage`).
pub fn decode(msg: &Message, usage: bool) -> Result<Option<Event>> {
    let hdr = msg.header();
    if msg.message_type() != MsgType::Signal {
        return Ok(None);
    }
    let iface = hdr.interface().map(|i| i.to_string()).unwrap_or_default();
    let member = hdr.member().map(|m| m.to_string()).unwrap_or_default();
    let path = hdr.path().map(|p| p.to_string()).unwrap_or_default();

    if iface == "org.freedesktop.DBus" && member == "NameOwnerChanged" {
        let (name, _old, new): (String, String, String) = body(msg)?;
        if name != BUS_NAME {
            return Ok(None);
        }
        return Ok(Some(if new.is_empty() {
            Event::new("daemon-stopped", String::new(), json!({}))
        } else {
            Event::new(
                "daemon-started",
                format!("owner={new}"),
                json!({ "owner": new }),
            )
        }));
    }

    if iface == "org.freedesktop.DBus.Properties" && member == "PropertiesChanged" {
        let (changed_iface, changed, invalidated): (
            String,
            HashMap<String, OwnedVariant>,
            Vec<String>,
        ) = body(msg)?;
        let (kind, subject) = match changed_iface.as_str() {
            INTERFACE_INTERFACE => ("interface-changed", Some(interface_name(&path))),
            MANAGER_INTERFACE => ("manager-changed", None),
            CONNECTION_INTERFACE => return Ok(None),
            _ => return Ok(None),
        };
        let mut names: Vec<&String> = changed
            .keys()
            .filter(|n| usage || n.as_str() != "BytesUsed")
            .collect();
        if names.is_empty() && invalidated.is_empty() {
            return Ok(None);
        }
        names.sort();
        let mut parts = Vec::new();
        let mut changes = Map::new();
        for n in names {
            if let Some(v) = changed.get(n) {
                let (text, key, value) = property(n, v);
                parts.push(text);
                changes.insert(key, value);
            }
        }
        for n in &invalidated {
            parts.push(format!("{}=?", snake(n)));
            changes.insert(snake(n), Value::Null);
        }
        let mut text = parts.join(" ");
        let mut fields = json!({ "changes": changes });
        if let Some(name) = subject {
            text = format!("{name} {text}");
            fields["interface"] = json!(name);
        }
        return Ok(Some(Event::new(kind, text.trim_end().to_string(), fields)));
    }

    if iface == "org.freedesktop.DBus.ObjectManager" {
        let (obj, ifaces): (OwnedObjectPath, Vec<String>) = match member.as_str() {
            "InterfacesAdded" => {
                let (obj, map): (
                    OwnedObjectPath,
                    HashMap<String, HashMap<String, OwnedVariant>>,
                ) = body(msg)?;
                (obj, map.into_keys().collect())
            }
            "InterfacesRemoved" => body(msg)?,
            _ => return Ok(None),
        };
        if !ifaces.iter().any(|i| i == INTERFACE_INTERFACE) {
            return Ok(None);
        }
        let name = interface_name(obj.as_str());
        let kind = if member == "InterfacesAdded" {
            "interface-added"
        } else {
            "interface-removed"
        };
        return Ok(Some(Event::new(
            kind,
            name.clone(),
            json!({ "interface": name }),
        )));
    }

    if iface != MANAGER_INTERFACE {
        return Ok(None);
    }
    let m = msg.clone();
    let ev = match member.as_str() {
        "ConnectionCreated" | "ConnectionEstablished" => {
            let (token, local, lport, remote, rport): (u32, String, u16, String, u16) = body(msg)?;
            conn_event(&kebab(&member), token, &local, lport, &remote, rport)
        }
        "ConnectionClosed" => {
            let s = p::ConnectionClosed::from_message(m)
                .ok_or_else(|| args_err(zbus::Error::InvalidReply))?;
            let token = s.args().map_err(args_err)?.token;
            Event::new(
                "connection-closed",
                format!("token={token}"),
                json!({"token": token}),
            )
        }
        "SubflowEstablished" | "SubflowClosed" | "SubflowPriority" => {
            let (token, sf): (u32, SubflowInfo) = body(msg)?;
            subflow_event(&kebab(&member), token, &sf)
        }
        "AddressAnnounced" => {
            let s = p::AddressAnnounced::from_message(m)
                .ok_or_else(|| args_err(zbus::Error::InvalidReply))?;
            let a = s.args().map_err(args_err)?;
            let addr = if a.port == 0 {
                a.address.to_string()
            } else {
                endpoint(a.address, a.port)
            };
            Event::new(
                "address-announced",
                format!("token={} id={} {addr}", a.token, a.id),
                json!({"token": a.token, "id": a.id, "address": a.address, "port": a.port}),
            )
        }
        "AddressRemoved" => {
            let s = p::AddressRemoved::from_message(m)
                .ok_or_else(|| args_err(zbus::Error::InvalidReply))?;
            let a = s.args().map_err(args_err)?;
            Event::new(
                "address-removed",
                format!("token={} id={}", a.token, a.id),
                json!({"token": a.token, "id": a.id}),
            )
        }
        "PolicyChanged" => Event::new("policy-changed", String::new(), json!({})),
        "HealthChanged" => {
            let (interface, health, evidence): (String, String, String) = body(msg)?;
            Event::new(
                "health-changed",
                format!("{interface} {health} ({evidence})"),
                json!({"interface": interface, "health": health, "evidence": evidence}),
            )
        }
        "BudgetWarning" | "BudgetExhausted" => {
            let (interface, used, budget): (String, u64, u64) = body(msg)?;
            budget_event(&kebab(&member), &interface, used, budget)
        }
        other => Event::new(
            &kebab(other),
            format!("(signature {})", msg.body().signature()),
            json!({"unknown": true}),
        ),
    };
    Ok(Some(ev))
}

#[cfg(test)]
#[path = "monitor_xml_test.rs"]
mod xml_test;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn signal<B>(path: &str, iface: &str, member: &str, b: &B) -> Message
    where
        B: serde::Serialize + zbus::wire::DynamicType,
    {
        Message::signal(path, iface, member)
            .build(b)
            .expect("message")
    }

    fn line(msg: &Message) -> String {
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        decode(msg, false).expect("decode").expect("event").line(t)
    }

    fn sf(backup: bool) -> SubflowInfo {
        SubflowInfo {
            local_address: "10.2.0.2".into(),
            local_port: 40001,
            remote_address: "10.9.0.1".into(),
            remote_port: 5201,
            backup,
            interface: "wwan0".into(),
        }
    }

    #[test]
    fn manager_signals_become_one_line_each() {
        let m = |member: &str| (MANAGER_PATH, MANAGER_INTERFACE, member.to_string());
        let cases: Vec<(Message, &str)> = vec![
            (
                {
                    let (p, i, n) = m("ConnectionCreated");
                    signal(p, i, &n, &(7u32, "10.1.0.2", 40000u16, "10.9.0.1", 5201u16))
                },
                "connection-created token=7 10.1.0.2:40000 -> 10.9.0.1:5201",
            ),
            (
                {
                    let (p, i, n) = m("ConnectionEstablished");
                    signal(p, i, &n, &(7u32, "2001:db8::1", 1u16, "2001:db8::2", 2u16))
                },
                "connection-established token=7 [2001:db8::1]:1 -> [2001:db8::2]:2",
            ),
            (
                {
                    let (p, i, n) = m("ConnectionClosed");
                    signal(p, i, &n, &7u32)
                },
                "connection-closed token=7",
            ),
            (
                {
                    let (p, i, n) = m("SubflowEstablished");
                    signal(p, i, &n, &(7u32, sf(true)))
                },
                "subflow-established token=7 10.2.0.2:40001 -> 10.9.0.1:5201 dev=wwan0 backup",
            ),
            (
                {
                    let (p, i, n) = m("SubflowPriority");
                    signal(p, i, &n, &(7u32, sf(false)))
                },
                "subflow-priority token=7 10.2.0.2:40001 -> 10.9.0.1:5201 dev=wwan0 active",
            ),
            (
                {
                    let (p, i, n) = m("AddressAnnounced");
                    signal(p, i, &n, &(7u32, 2u8, "10.2.0.9", 0u16))
                },
                "address-announced token=7 id=2 10.2.0.9",
            ),
            (
                {
                    let (p, i, n) = m("AddressRemoved");
                    signal(p, i, &n, &(7u32, 2u8))
                },
                "address-removed token=7 id=2",
            ),
            (
                {
                    let (p, i, n) = m("PolicyChanged");
                    signal(p, i, &n, &())
                },
                "policy-changed",
            ),
            (
                {
                    let (p, i, n) = m("BudgetWarning");
                    signal(p, i, &n, &("wwan0", 8u64 << 27, 1u64 << 30))
                },
                "budget-warning wwan0 used=1.0 GiB budget=1.0 GiB (100%)",
            ),
            (
                {
                    let (p, i, n) = m("BudgetExhausted");
                    signal(p, i, &n, &("wwan0", 3u64 << 30, 2u64 << 30))
                },
                "budget-exhausted wwan0 used=3.0 GiB budget=2.0 GiB (150%)",
            ),
        ];
        for (msg, expected) in cases {
            assert_eq!(line(&msg), format!("2024-02-29T12:34:56.789Z {expected}"));
        }
    }

    #[test]
    fn interface_property_changes_and_daemon_presence() {
        let mut changed: HashMap<&str, zbus::wire::Variant> = HashMap::new();
        changed.insert("Role", zbus::wire::Variant::from("backup"));
        changed.insert("Up", zbus::wire::Variant::from(false));
        let msg = signal(
            "/org/mptcp/Policy1/interface/eth0_2e100",
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            &(INTERFACE_INTERFACE, changed, Vec::<&str>::new()),
        );
        let ev = decode(&msg, false).expect("decode").expect("event");
        assert_eq!(ev.event, "interface-changed");
        assert_eq!(ev.text, "eth0.100 role=backup state=down");
        let j = ev.json(UNIX_EPOCH);
        assert_eq!(j["event"], "interface-changed");
        assert_eq!(j["interface"], "eth0.100");
        assert_eq!(j["changes"]["role"], "backup");
        assert_eq!(j["changes"]["up"], false);
        assert_eq!(j["time"], "1970-01-01T00:00:00.000Z");

        // Connection object bookkeeping is covered by the signals: no line.
        let msg = signal(
            "/org/mptcp/Policy1/connection/7",
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            &(
                CONNECTION_INTERFACE,
                HashMap::<&str, zbus::wire::Variant>::new(),
                Vec::<&str>::new(),
            ),
        );
        assert_eq!(decode(&msg, false).expect("decode"), None);

        let msg = signal(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameOwnerChanged",
            &(BUS_NAME, ":1.5", ""),
        );
        assert_eq!(
            decode(&msg, false).expect("d").expect("e").event,
            "daemon-stopped"
        );
        let msg = signal(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameOwnerChanged",
            &(BUS_NAME, "", ":1.9"),
        );
        assert_eq!(
            line(&msg),
            "2024-02-29T12:34:56.789Z daemon-started owner=:1.9"
        );

        let msg = signal(
            MANAGER_PATH,
            "org.freedesktop.DBus.ObjectManager",
            "InterfacesRemoved",
            &(
                zbus::wire::ObjectPath::try_from("/org/mptcp/Policy1/interface/wlan0")
                    .expect("path"),
                vec![INTERFACE_INTERFACE],
            ),
        );
        assert_eq!(
            line(&msg),
            "2024-02-29T12:34:56.789Z interface-removed wlan0"
        );
    }

    #[test]
    fn byte_counters_only_with_usage() {
        let mut changed: HashMap<&str, zbus::wire::Variant> = HashMap::new();
        changed.insert("BytesUsed", zbus::wire::Variant::from(1536u64));
        let msg = signal(
            "/org/mptcp/Policy1/interface/wwan0",
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            &(INTERFACE_INTERFACE, changed, Vec::<&str>::new()),
        );
        assert_eq!(decode(&msg, false).expect("decode"), None);
        let ev = decode(&msg, true).expect("decode").expect("event");
        assert_eq!(ev.text, "wwan0 used=1.5 KiB");
        assert_eq!(ev.fields["changes"]["bytes_used"], 1536);
    }

    #[test]
    fn json_lines_carry_the_fields() {
        let msg = signal(
            MANAGER_PATH,
            MANAGER_INTERFACE,
            "SubflowClosed",
            &(9u32, sf(true)),
        );
        let j = decode(&msg, false).expect("d").expect("e").json(UNIX_EPOCH);
        assert_eq!(j["event"], "subflow-closed");
        assert_eq!(j["token"], 9);
        assert_eq!(j["subflow"]["backup"], true);
        assert_eq!(j["subflow"]["interface"], "wwan0");
        assert!(!j.to_string().contains('\n'));
    }

    #[test]
    fn malformed_and_unknown_signals() {
        let msg = signal(MANAGER_PATH, MANAGER_INTERFACE, "ConnectionClosed", &"oops");
        assert!(decode(&msg, false).is_err());
        let msg = signal(MANAGER_PATH, MANAGER_INTERFACE, "SomethingNew", &(1u32,));
        let ev = decode(&msg, false).expect("d").expect("e");
        assert_eq!(ev.event, "something-new");
    }

    #[test]
    fn names_convert() {
        assert_eq!(kebab("ConnectionCreated"), "connection-created");
        assert_eq!(snake("RoleReason"), "role_reason");
        assert_eq!(
            interface_name("/org/mptcp/Policy1/interface/wwan_5f0"),
            "wwan_0"
        );
    }
}
