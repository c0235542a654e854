//! `monitor`: every signal of the daemon, one line each, until Ctrl-C.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::SystemTime;

use mptcp_policy_dbus::names::{unescape_path_element, BUS_NAME, MANAGER_PATH};
use mptcp_policy_dbus::signals::Props;
use mptcp_policy_dbus::{DaemonSignal, ObjectKind, Signal, SubflowInfo};
use serde_json::{json, Map, Value};
use zbus::export::futures_core::Stream;
use zbus::message::{Message, Type as MsgType};
use zbus::wire::OwnedVariant;
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
    if msg.message_type() == MsgType::Signal
        && hdr.interface().is_some_and(|i| i == "org.freedesktop.DBus")
        && hdr.member().is_some_and(|m| m == "NameOwnerChanged")
    {
        return owner_changed(msg);
    }
    let signal = DaemonSignal::decode(msg).map_err(|e| CliError::failed(e.to_string()))?;
    Ok(match signal {
        None => None,
        Some(DaemonSignal::Manager(s)) => Some(manager_event(&s)),
        Some(DaemonSignal::Changed {
            path,
            kind,
            changed,
            invalidated,
        }) => changed_event(&path, kind, &changed, &invalidated, usage),
        Some(DaemonSignal::Added { path, objects }) => objects
            .iter()
            .any(|(k, _)| *k == ObjectKind::Interface)
            .then(|| object_event("interface-added", &path)),
        Some(DaemonSignal::Removed { path, kinds }) => kinds
            .contains(&ObjectKind::Interface)
            .then(|| object_event("interface-removed", &path)),
    })
}

fn owner_changed(msg: &Message) -> Result<Option<Event>> {
    let (name, _old, new): (String, String, String) = msg.body().deserialize().map_err(|e| {
        CliError::failed(format!(
            "malformed signal org.freedesktop.DBus.NameOwnerChanged: {e}"
        ))
    })?;
    if name != BUS_NAME {
        return Ok(None);
    }
    Ok(Some(if new.is_empty() {
        Event::new("daemon-stopped", String::new(), json!({}))
    } else {
        Event::new(
            "daemon-started",
            format!("owner={new}"),
            json!({ "owner": new }),
        )
    }))
}

fn object_event(kind: &str, path: &str) -> Event {
    let name = interface_name(path);
    Event::new(kind, name.clone(), json!({ "interface": name }))
}

/// A PropertiesChanged of the manager or an interface object.
fn changed_event(
    path: &str,
    kind: ObjectKind,
    changed: &Props,
    invalidated: &[String],
    usage: bool,
) -> Option<Event> {
    let (event, subject) = match kind {
        ObjectKind::Interface => ("interface-changed", Some(interface_name(path))),
        ObjectKind::Manager => ("manager-changed", None),
        ObjectKind::Connection => return None,
    };
    let mut names: Vec<&String> = changed
        .keys()
        .filter(|n| usage || n.as_str() != "BytesUsed")
        .collect();
    if names.is_empty() && invalidated.is_empty() {
        return None;
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
    for n in invalidated {
        parts.push(format!("{}=?", snake(n)));
        changes.insert(snake(n), Value::Null);
    }
    let mut text = parts.join(" ");
    let mut fields = json!({ "changes": changes });
    if let Some(name) = subject {
        text = format!("{name} {text}");
        fields["interface"] = json!(name);
    }
    Some(Event::new(event, text.trim_end().to_string(), fields))
}

/// One line for one signal of the manager.
fn manager_event(s: &Signal) -> Event {
    let kind = kebab(s.member());
    match s {
        Signal::ConnectionCreated(e) | Signal::ConnectionEstablished(e) => conn_event(
            &kind,
            e.token,
            &e.local_address,
            e.local_port,
            &e.remote_address,
            e.remote_port,
        ),
        Signal::ConnectionClosed { token } => Event::new(
            "connection-closed",
            format!("token={token}"),
            json!({"token": token}),
        ),
        Signal::SubflowEstablished { token, subflow }
        | Signal::SubflowClosed { token, subflow }
        | Signal::SubflowPriority { token, subflow } => subflow_event(&kind, *token, subflow),
        Signal::AddressAnnounced {
            token,
            id,
            address,
            port,
        } => {
            let addr = if *port == 0 {
                address.clone()
            } else {
                endpoint(address, *port)
            };
            Event::new(
                "address-announced",
                format!("token={token} id={id} {addr}"),
                json!({"token": token, "id": id, "address": address, "port": port}),
            )
        }
        Signal::AddressRemoved { token, id } => Event::new(
            "address-removed",
            format!("token={token} id={id}"),
            json!({"token": token, "id": id}),
        ),
        Signal::PolicyChanged => Event::new("policy-changed", String::new(), json!({})),
        Signal::HealthChanged {
            interface,
            health,
            evidence,
        } => Event::new(
            "health-changed",
            format!("{interface} {health} ({evidence})"),
            json!({"interface": interface, "health": health, "evidence": evidence}),
        ),
        Signal::BudgetWarning {
            interface,
            used,
            budget,
        }
        | Signal::BudgetExhausted {
            interface,
            used,
            budget,
        } => budget_event(&kind, interface, *used, *budget),
        Signal::Unknown { member, signature } => Event::new(
            &kebab(member),
            format!("(signature {signature})"),
            json!({"unknown": true}),
        ),
    }
}

#[cfg(test)]
#[path = "monitor_xml_test.rs"]
mod xml_test;

#[cfg(test)]
#[path = "monitor_test.rs"]
mod tests;
