//! `monitor`: every signal of the daemon, one line each, until Ctrl-C.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::SystemTime;

mod event;

use mptcp_policy_dbus::names::{unescape_path_element, BUS_NAME, MANAGER_PATH};
use mptcp_policy_dbus::signals::Props;
use mptcp_policy_dbus::{DaemonSignal, ObjectKind};
use serde_json::{json, Map, Value};
use zbus::export::futures_core::Stream;
use zbus::message::{Message, Type as MsgType};
use zbus::{MatchRule, MessageStream};

use super::{out, print_json, Ctx};
use crate::error::{CliError, Result};
#[cfg(test)]
use event::kebab;
pub use event::Event;
use event::{manager_event, property, snake};

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
        .manager()
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
            let (text, key, value) = property(kind, n, v);
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

#[cfg(test)]
mod xml_test;

#[cfg(test)]
mod tests;
