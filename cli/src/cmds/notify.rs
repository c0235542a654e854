//! `notify`: the NetworkManager dispatcher hook's entry point. Reads the
//! event from the arguments and NetworkManager's documented environment,
//! hands the daemon one `NotifyNetworkManager` call, bounded by a time-out.
//! No policy here: the daemon decides.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mptcp_policy_dbus::networkmanager::{hint, ACTIONS};
use serde_json::json;

use super::{done, Ctx};
use crate::error::{CliError, Kind, Result};
use crate::units::check_interface;

/// Hand one NetworkManager dispatcher event to the daemon
///
/// Called by /etc/NetworkManager/dispatcher.d/90-mptcp-policyd as
/// 'notify IFACE ACTION' with NetworkManager's environment:
/// NM_DISPATCHER_ACTION (when ACTION is not given), DEVICE_IP_IFACE or
/// DEVICE_IFACE (over IFACE), CONNECTIVITY_STATE, CONNECTION_ID,
/// CONNECTION_UUID. Actions: up, down, pre-down, dhcp4-change,
/// dhcp6-change, reapply, connectivity-change; any other action is ignored
/// (exit 0, the daemon is not called). The daemon applies the event before
/// answering; the whole call is bounded by --timeout. Needs polkit action
/// org.mptcp.policy.configure (the hook runs as root, which is always
/// authorized).
///
/// Examples:
///   mptcp-policyctl notify wlan0 up --device-type wifi
///   CONNECTIVITY_STATE=PORTAL mptcp-policyctl notify "" connectivity-change
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The interface NetworkManager named (DEVICE_IP_IFACE / DEVICE_IFACE
    /// win when set); "" or "none" for events without one
    #[arg(value_name = "IFACE")]
    pub interface: Option<String>,
    /// The dispatcher action (default: $NM_DISPATCHER_ACTION)
    #[arg(value_name = "ACTION")]
    pub action: Option<String>,
    /// NetworkManager's device type as nmcli writes it (wifi, gsm,
    /// ethernet, ...)
    #[arg(long, value_name = "TYPE")]
    pub device_type: Option<String>,
    /// Give up after this many milliseconds (connecting included)
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub timeout: u64,
    /// Print what was sent, the daemon's answer and the timing to stderr
    #[arg(long)]
    pub debug: bool,
}

/// One event, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub interface: String,
    pub action: String,
    pub hints: HashMap<String, String>,
}

/// The event from the arguments and an environment lookup; `None` when the
/// action is one the daemon does not act on.
pub fn event_from(args: &Args, env: impl Fn(&str) -> Option<String>) -> Result<Option<Event>> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let action = args
        .action
        .clone()
        .filter(|a| !a.is_empty())
        .or_else(|| var("NM_DISPATCHER_ACTION"))
        .ok_or_else(|| {
            CliError::new(
                Kind::InvalidArgument,
                "no dispatcher action: give ACTION or set NM_DISPATCHER_ACTION",
            )
        })?;
    if !ACTIONS.contains(&action.as_str()) {
        return Ok(None);
    }
    let positional = args
        .interface
        .clone()
        .filter(|i| !i.is_empty() && i != "none");
    let interface = var("DEVICE_IP_IFACE")
        .or_else(|| var("DEVICE_IFACE"))
        .or(positional)
        .unwrap_or_default();
    if interface.is_empty() && action != "connectivity-change" {
        return Err(CliError::invalid(format!(
            "action {action} needs an interface: give IFACE or set DEVICE_IFACE"
        )));
    }
    if !interface.is_empty() {
        check_interface(&interface)?;
    }
    let mut hints = HashMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            hints.insert(k.to_string(), v);
        }
    };
    put(hint::CONNECTIVITY, var("CONNECTIVITY_STATE"));
    put(hint::CONNECTION_ID, var("CONNECTION_ID"));
    put(hint::CONNECTION_UUID, var("CONNECTION_UUID"));
    put(hint::DEVICE_TYPE, args.device_type.clone());
    Ok(Some(Event {
        interface,
        action,
        hints,
    }))
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let started = Instant::now();
    let Some(event) = event_from(&args, |k| std::env::var(k).ok())? else {
        let action = args
            .action
            .clone()
            .or_else(|| std::env::var("NM_DISPATCHER_ACTION").ok())
            .unwrap_or_default();
        if args.debug {
            eprintln!("notify: action {action:?} is not one the daemon acts on: ignored");
        }
        done(
            ctx,
            &format!("ignored: action {action:?}"),
            json!({"ignored": true, "action": action}),
        );
        return Ok(());
    };
    if args.debug {
        eprintln!(
            "notify: {} {} hints {:?}",
            if event.interface.is_empty() {
                "-"
            } else {
                &event.interface
            },
            event.action,
            event.hints
        );
    }
    let timeout = Duration::from_millis(args.timeout);
    let (tx, rx) = mpsc::channel();
    let sent = event.clone();
    // The bus call runs on its own thread so that the time-out holds even
    // when connecting hangs; the process ends with it either way.
    std::thread::spawn(move || {
        let _ = tx.send(zbus::block_on(send(sent)));
    });
    let (outcome, connect_ms) = match rx.recv_timeout(timeout) {
        Ok(r) => r?,
        Err(_) => {
            return Err(CliError::failed(format!(
                "no answer from the daemon within {} ms: event {} {} not confirmed",
                args.timeout, event.interface, event.action
            )))
        }
    };
    let total_ms = started.elapsed().as_secs_f64() * 1000.0;
    if args.debug {
        eprintln!("notify: connected in {connect_ms:.1} ms, total {total_ms:.1} ms: {outcome}");
    }
    done(
        ctx,
        &outcome,
        json!({"interface": event.interface, "action": event.action,
               "outcome": outcome, "elapsed_ms": total_ms}),
    );
    Ok(())
}

/// Connects (never asking for a password: the hook has no agent) and sends.
async fn send(event: Event) -> Result<(String, f64)> {
    let t0 = Instant::now();
    let client = crate::client::Client::connect(false).await?;
    let connect_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let outcome = client
        .calls
        .notify_network_manager(&event.interface, &event.action, &event.hints)
        .await?;
    Ok((outcome, connect_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(iface: Option<&str>, action: Option<&str>, dtype: Option<&str>) -> Args {
        Args {
            interface: iface.map(str::to_string),
            action: action.map(str::to_string),
            device_type: dtype.map(str::to_string),
            timeout: 2000,
            debug: false,
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn events_from_arguments_and_environment() {
        let e = event_from(
            &args(Some("eth0"), Some("up"), Some("wifi")),
            env(&[
                ("DEVICE_IFACE", "wlan0"),
                ("CONNECTION_ID", "Home"),
                ("CONNECTIVITY_STATE", ""),
            ]),
        )
        .expect("valid")
        .expect("relevant");
        assert_eq!(e.interface, "wlan0", "DEVICE_IFACE wins over the argument");
        assert_eq!(e.action, "up");
        assert_eq!(e.hints.get("device-type").map(String::as_str), Some("wifi"));
        assert_eq!(
            e.hints.get("connection-id").map(String::as_str),
            Some("Home")
        );
        assert!(
            !e.hints.contains_key("connectivity"),
            "empty vars are left out"
        );

        let e = event_from(
            &args(Some("none"), None, None),
            env(&[
                ("NM_DISPATCHER_ACTION", "connectivity-change"),
                ("CONNECTIVITY_STATE", "PORTAL"),
            ]),
        )
        .expect("valid")
        .expect("relevant");
        assert_eq!(e.interface, "");
        assert_eq!(e.hints["connectivity"], "PORTAL");

        let e = event_from(
            &args(Some("ppp0"), Some("up"), None),
            env(&[("DEVICE_IFACE", "ttyUSB0"), ("DEVICE_IP_IFACE", "ppp0")]),
        )
        .expect("valid")
        .expect("relevant");
        assert_eq!(e.interface, "ppp0", "the IP interface carries the traffic");
    }

    #[test]
    fn irrelevant_and_bad_events() {
        for action in ["pre-up", "vpn-up", "hostname", "carrier"] {
            assert_eq!(
                event_from(&args(Some("eth0"), Some(action), None), env(&[])).expect("ok"),
                None,
                "{action}"
            );
        }
        let e = event_from(&args(Some("eth0"), None, None), env(&[])).expect_err("no action");
        assert!(e.message.contains("NM_DISPATCHER_ACTION"), "{}", e.message);
        let e = event_from(&args(None, Some("up"), None), env(&[])).expect_err("no iface");
        assert!(e.message.contains("needs an interface"), "{}", e.message);
        let e = event_from(&args(Some("a/b"), Some("down"), None), env(&[])).expect_err("bad");
        assert_eq!(e.kind, Kind::InvalidArgument);
    }
}
