//! `monitor`'s events: one decoded signal as a line of text and a JSON
//! object. Pure (table-tested in `tests.rs`).

use std::time::SystemTime;

use mptcp_policy_dbus::records::{InterfaceRecord, ManagerRecord};
use mptcp_policy_dbus::signals::Props;
use mptcp_policy_dbus::{ObjectKind, Signal, SubflowInfo};
use serde_json::{json, Map, Value};
use zbus::wire::OwnedVariant;

use crate::format::rfc3339;
use crate::model::endpoint;
use crate::units::human_bytes;

/// One decoded event: a kebab-case name, the human details, the JSON fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event: String,
    pub text: String,
    pub fields: Map<String, Value>,
}

impl Event {
    pub(super) fn new(event: &str, text: String, fields: Value) -> Self {
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
pub(super) fn kebab(name: &str) -> String {
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
pub(super) fn snake(name: &str) -> String {
    kebab(name).replace('-', "_")
}

/// The JSON value of one changed property, typed by the contract's record
/// (`None` when the record does not know it or the type is wrong).
fn typed(kind: ObjectKind, name: &str, v: &OwnedVariant) -> Option<Value> {
    let props: Props = [(name.to_string(), v.try_clone().ok()?)].into();
    let json = match kind {
        ObjectKind::Interface => {
            serde_json::to_value(InterfaceRecord::from_props("", &props).ok()?)
        }
        ObjectKind::Manager => serde_json::to_value(ManagerRecord::from_props("", &props).ok()?),
        ObjectKind::Connection => return None,
    };
    json.ok()?.get(snake(name)).cloned()
}

/// One changed property: `(human "key=value", json key, json value)`.
pub(super) fn property(kind: ObjectKind, name: &str, v: &OwnedVariant) -> (String, String, Value) {
    let key = snake(name);
    let Some(value) = typed(kind, name, v) else {
        return (format!("{key}={v:?}"), key, json!(format!("{v:?}")));
    };
    let list = |empty: &str| match value.as_array() {
        Some(a) if a.is_empty() => empty.to_string(),
        Some(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
        None => value.to_string(),
    };
    let yes_no = |yes: &str, no: &str| if value == json!(true) { yes } else { no }.to_string();
    let text = match (name, &value) {
        ("Up", _) => format!("state={}", yes_no("up", "down")),
        ("Metered", _) => format!("metered={}", yes_no("yes", "no")),
        ("BytesUsed", Value::Number(n)) => format!("used={}", human_bytes(n.as_u64().unwrap_or(0))),
        ("BudgetBytes", Value::Number(n)) => {
            format!("budget={}", human_bytes(n.as_u64().unwrap_or(0)))
        }
        ("Addresses", _) => format!("addresses={}", list("none")),
        ("EndpointIds", _) => format!("endpoints={}", list("")),
        (_, Value::String(s)) if s.contains(' ') || s.is_empty() => format!("{key}={s:?}"),
        (_, Value::String(s)) => format!("{key}={s}"),
        (_, other) => format!("{key}={other}"),
    };
    (text, key, value)
}

/// One line for one signal of the manager.
pub(super) fn manager_event(s: &Signal) -> Event {
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
