//! `status`: the manager's state and every interface object.

use std::collections::HashMap;

use mptcp_policy_dbus::names::MANAGER_PATH;
use mptcp_policy_dbus::records::ManagerRecord;
use zbus::wire::OwnedVariant;

use super::{out, print_json, Ctx};
use crate::error::{CliError, Result};
use crate::format::table;
use crate::model::{interfaces_from_objects, ForeignEndpoint, InterfaceInfo, Limits, Status};
use crate::units::human_bytes;

/// Show the path manager, limits and every interface with its role
///
/// Prints the daemon's version, the path manager in use (kernel or
/// userspace), the kernel's MPTCP limits, endpoints the daemon did not
/// create (foreign endpoints, never touched), then one line per network
/// interface: its name, type (and where the type came from), up or down,
/// role (preferred, backup or off) and why, addresses, whether it is
/// metered, data used against its budget, and the kernel endpoint ids the
/// daemon created for it. "BPF:" says whether the kernel's BPF hook puts
/// enabled cgroups on MPTCP ("active (...)") or why not ("unavailable
/// (...)", then only 'run' and 'enable UNIT' do).
///
/// Examples:
///   mptcp-policyctl status
///   mptcp-policyctl --json status | jq '.interfaces[] | {name, role}'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {}

pub async fn run(ctx: &Ctx, _args: Args) -> Result<()> {
    let client = ctx.connect().await?;
    let props = client.manager_properties().await?;
    let objects = client.managed_objects().await?;
    let status = status_from(&props, interfaces_from_objects(&objects)?)?;
    if ctx.json {
        print_json(&to_json(&status));
    } else {
        out(&render(&status));
    }
    Ok(())
}

/// Builds [`Status`] from the manager's `GetAll` (decoded through the
/// contract's [`ManagerRecord`]) and the interface objects. Properties an
/// older daemon does not send are `None` where the output says so.
pub fn status_from(
    props: &HashMap<String, OwnedVariant>,
    interfaces: Vec<InterfaceInfo>,
) -> Result<Status> {
    let r = ManagerRecord::from_props(MANAGER_PATH, props)
        .map_err(|e| CliError::failed(e.to_string()))?;
    let missing = ManagerRecord::missing(props);
    let sent = |name: &str| {
        debug_assert!(ManagerRecord::PROPERTIES.contains(&name), "{name}");
        !missing.contains(&name)
    };
    Ok(Status {
        policy_summary: sent("PolicySummary").then(|| r.policy_summary.clone()),
        limits: sent("Limits").then_some(Limits {
            subflows: r.limits.0,
            add_addr_accepted: r.limits.1,
        }),
        foreign_endpoints: sent("ForeignEndpoints").then(|| {
            r.foreign_endpoints
                .iter()
                .map(|(id, address, flags, origin)| ForeignEndpoint {
                    id: *id,
                    address: address.clone(),
                    flags: flags.clone(),
                    origin: origin.clone(),
                })
                .collect()
        }),
        bpf_status: sent("BpfStatus").then(|| r.bpf_status.clone()),
        path_manager: r.path_manager,
        version: r.version,
        interfaces,
    })
}

/// The `--json` form: the [`Status`] struct as an object.
pub fn to_json(status: &Status) -> serde_json::Value {
    serde_json::to_value(status).unwrap_or(serde_json::Value::Null)
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

/// `up`, `down`, or `up, stalled` when the path's health is not good.
pub fn state(i: &InterfaceInfo) -> String {
    let link = if i.up { "up" } else { "down" };
    match i.health.as_str() {
        "" | "good" => link.to_string(),
        health => format!("{link}, {health}"),
    }
}

/// `1.0 GiB / 2.0 GiB monthly (50%), 34 MiB left today, resets 2026-12-01T00:00:00+01:00`,
/// or just the usage without a budget.
pub fn usage(i: &InterfaceInfo) -> String {
    if i.budget_bytes == 0 {
        human_bytes(i.bytes_used)
    } else {
        let pct = i.bytes_used as f64 * 100.0 / i.budget_bytes as f64;
        let mut s = format!(
            "{} / {}",
            human_bytes(i.bytes_used),
            human_bytes(i.budget_bytes)
        );
        if !i.budget_period.is_empty() {
            s.push(' ');
            s.push_str(&i.budget_period);
        }
        s.push_str(&format!(" ({pct:.0}%)"));
        if i.mptcp_bytes_used > 0 {
            s.push_str(&format!(", {} by MPTCP", human_bytes(i.mptcp_bytes_used)));
        }
        // An older daemon sends no state: then there is nothing more to say.
        match i.budget_state.as_str() {
            "" => {}
            "exhausted" => s.push_str(", EXHAUSTED"),
            "allowance-spent" => s.push_str(", today's allowance spent"),
            _ => s.push_str(&format!(", {} left today", human_bytes(i.allowance_bytes))),
        }
        if !i.next_reset.is_empty() {
            s.push_str(&format!(", resets {}", i.next_reset));
        }
        s
    }
}

/// The human form: a header block and an aligned table.
pub fn render(s: &Status) -> String {
    let limits = match s.limits {
        Some(l) => format!(
            "subflows {}, add_addr_accepted {}",
            l.subflows, l.add_addr_accepted
        ),
        None => "-".into(),
    };
    let foreign = match &s.foreign_endpoints {
        None => "-".into(),
        Some(v) if v.is_empty() => "none".into(),
        Some(v) => v
            .iter()
            .map(|e| {
                let origin = if e.origin == "networkmanager" {
                    ", looks like NetworkManager's: install its conf.d/90-mptcp-policyd.conf"
                } else {
                    ""
                };
                format!("id {} {} ({}{origin})", e.id, e.address, dash(&e.flags))
            })
            .collect::<Vec<_>>()
            .join("; "),
    };
    let mut head = vec![
        vec!["Path manager:".into(), dash(&s.path_manager)],
        vec!["Version:".into(), dash(&s.version)],
        vec!["Limits:".into(), limits],
        vec!["Foreign endpoints:".into(), foreign],
    ];
    if let Some(bpf) = &s.bpf_status {
        head.push(vec!["BPF:".into(), bpf.clone()]);
    }
    let summary = s.policy_summary.as_deref().map(str::trim_end).unwrap_or("");
    let mut summary_lines = summary.lines();
    if let Some(first) = summary_lines.next() {
        head.push(vec!["Policy:".into(), first.to_string()]);
    }
    let mut text = table(&[], &head, "");
    // A multi-line summary continues under its first line.
    let indent = " ".repeat(head.iter().map(|r| r[0].chars().count()).max().unwrap_or(0) + 2);
    for line in summary_lines {
        text.push_str(&format!("{indent}{line}\n"));
    }
    text.push('\n');
    if s.interfaces.is_empty() {
        text.push_str("No interfaces.\n");
        return text;
    }
    let rows = s
        .interfaces
        .iter()
        .map(|i| {
            vec![
                dash(&i.name),
                match (i.kind.is_empty(), i.type_source.is_empty()) {
                    (true, _) => "-".into(),
                    (false, true) => i.kind.clone(),
                    (false, false) => format!("{} ({})", i.kind, i.type_source),
                },
                state(i),
                dash(&i.role),
                if i.addresses.is_empty() {
                    "-".into()
                } else {
                    i.addresses.join(",")
                },
                if i.metered { "yes" } else { "no" }.into(),
                usage(i),
                if i.endpoint_ids.is_empty() {
                    "-".into()
                } else {
                    i.endpoint_ids
                        .iter()
                        .map(u8::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                },
                dash(&i.role_reason),
            ]
        })
        .collect::<Vec<_>>();
    text.push_str(&table(
        &[
            "INTERFACE",
            "TYPE",
            "STATE",
            "ROLE",
            "ADDRESSES",
            "METERED",
            "USAGE/BUDGET",
            "ENDPOINTS",
            "REASON",
        ],
        &rows,
        "",
    ));
    let hints: Vec<String> = s
        .interfaces
        .iter()
        .filter(|i| !i.hints.is_empty())
        .map(|i| {
            let list: Vec<String> = i
                .hints
                .iter()
                .map(|(k, (value, source))| format!("{k} {value} ({source})"))
                .collect();
            format!(
                "  {}: {}
",
                i.name,
                list.join(", ")
            )
        })
        .collect();
    if !hints.is_empty() {
        text.push_str("\nNetworkManager hints:\n");
        text.extend(hints);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::sample_objects;
    use zbus::wire::as_variant::to_owned_variant;

    fn sample() -> Status {
        let mut props = HashMap::new();
        props.insert(
            "PathManager".to_string(),
            to_owned_variant(&"kernel").expect("v"),
        );
        props.insert(
            "Version".to_string(),
            to_owned_variant(&"0.1.0").expect("v"),
        );
        props.insert(
            "Limits".to_string(),
            to_owned_variant(&(4u32, 2u32)).expect("v"),
        );
        props.insert(
            "ForeignEndpoints".to_string(),
            to_owned_variant(&vec![(
                9u8,
                "192.0.2.1".to_string(),
                "signal".to_string(),
                String::new(),
            )])
            .expect("v"),
        );
        let ifaces = interfaces_from_objects(&sample_objects()).expect("interfaces");
        status_from(&props, ifaces).expect("status")
    }

    #[test]
    fn status_renders_an_aligned_table() {
        let text = render(&sample());
        let expected = "\
Path manager:       kernel
Version:            0.1.0
Limits:             subflows 4, add_addr_accepted 2
Foreign endpoints:  id 9 192.0.2.1 (signal)

INTERFACE  TYPE              STATE  ROLE       ADDRESSES  METERED  USAGE/BUDGET                                                                             ENDPOINTS  REASON
wlan0      -                 up     preferred  -          no       0 B                                                                                      -          -
wwan0      cellular (sysfs)  up     backup     10.2.0.2   yes      1.0 GiB / 2.0 GiB monthly (50%), 100.0 MiB left today, resets 2026-12-01T00:00:00+01:00  2          policy entry 3 (type cellular)
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn networkmanager_hints_and_foreign_origin_are_shown() {
        let mut s = sample();
        s.interfaces[1].hints.insert(
            "connectivity".into(),
            ("portal".into(), "networkmanager-hook".into()),
        );
        if let Some(f) = s.foreign_endpoints.as_mut() {
            f[0].origin = "networkmanager".into();
        }
        let text = render(&s);
        assert!(
            text.ends_with(
                "\nNetworkManager hints:\n  wwan0: connectivity portal (networkmanager-hook)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("id 9 192.0.2.1 (signal, looks like NetworkManager's"),
            "{text}"
        );
        let j = to_json(&s);
        assert_eq!(
            j["interfaces"][1]["hints"]["connectivity"]["source"],
            "networkmanager-hook"
        );
        assert_eq!(j["foreign_endpoints"][0]["origin"], "networkmanager");
    }

    #[test]
    fn multi_line_policy_summary_is_indented() {
        let mut s = sample();
        s.interfaces.clear();
        s.policy_summary = Some("wlan0 wifi preferred\nwwan0 cellular backup\n".into());
        let text = render(&s);
        assert!(
            text.contains(
                "Policy:             wlan0 wifi preferred\n                    wwan0 cellular backup\n\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn status_without_optional_properties_or_interfaces() {
        let s = status_from(&HashMap::new(), vec![]).expect("status");
        let text = render(&s);
        assert!(text.contains("Limits:             -"), "{text}");
        assert!(text.ends_with("No interfaces.\n"), "{text}");
        let j = to_json(&s);
        assert_eq!(j["limits"], serde_json::Value::Null);
        assert_eq!(j["interfaces"], serde_json::json!([]));
    }

    #[test]
    fn status_json_is_an_object_with_every_field() {
        let j = to_json(&sample());
        assert_eq!(j["path_manager"], "kernel");
        assert_eq!(j["limits"]["subflows"], 4);
        assert_eq!(j["foreign_endpoints"][0]["address"], "192.0.2.1");
        let wwan = &j["interfaces"][1];
        assert_eq!(wwan["name"], "wwan0");
        assert_eq!(wwan["type"], "cellular");
        assert_eq!(wwan["type_source"], "sysfs");
        assert_eq!(wwan["up"], true);
        assert_eq!(wwan["role"], "backup");
        assert_eq!(wwan["metered"], true);
        assert_eq!(wwan["bytes_used"], 1u64 << 30);
        assert_eq!(wwan["budget_bytes"], 2u64 << 30);
        assert_eq!(wwan["endpoint_ids"], serde_json::json!([2]));
        assert_eq!(wwan["addresses"], serde_json::json!(["10.2.0.2"]));
    }

    #[test]
    fn wrongly_typed_manager_property_is_an_error() {
        let mut props = HashMap::new();
        props.insert("Limits".to_string(), to_owned_variant(&"4").expect("v"));
        let e = status_from(&props, vec![]).expect_err("bad");
        assert!(e.message.contains("Limits"));
    }
}
