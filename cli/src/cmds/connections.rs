//! `connections`: every MPTCP connection object with its subflows.

use super::{out, print_json, Ctx};
use crate::error::Result;
use crate::format::table;
use crate::model::{connections_from_objects, endpoint, ConnectionInfo};

/// List MPTCP connections and their subflows
///
/// One block per MPTCP connection the daemon sees: its token, local and
/// remote address, whether this host is the server side, under the userspace
/// path manager its mode (handover, interactive, aggregate) and the policy
/// entry that chose it, then each subflow with its addresses, interface, and
/// whether it is flagged backup (carries data only when no active subflow
/// can) or active — "active, promoted by rule" when the interface's role is
/// backup and the rule's mode made it carry data — and, when something keeps
/// the connection from following its mode, why (e.g. the peer forbids joins
/// to its initial address).
///
/// Examples:
///   mptcp-policyctl connections
///   mptcp-policyctl --json connections | jq '.[] | select(.subflows | length > 1)'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {}

pub async fn run(ctx: &Ctx, _args: Args) -> Result<()> {
    let client = ctx.connect().await?;
    let objects = client.managed_objects().await?;
    let conns = connections_from_objects(&objects)?;
    if ctx.json {
        print_json(&to_json(&conns));
    } else {
        out(&render(&conns));
    }
    Ok(())
}

/// The `--json` form: an array of connection objects.
pub fn to_json(conns: &[ConnectionInfo]) -> serde_json::Value {
    serde_json::to_value(conns).unwrap_or(serde_json::Value::Null)
}

/// The human form.
pub fn render(conns: &[ConnectionInfo]) -> String {
    if conns.is_empty() {
        return "No MPTCP connections.\n".into();
    }
    let mut text = String::new();
    for (n, c) in conns.iter().enumerate() {
        if n > 0 {
            text.push('\n');
        }
        text.push_str(&format!(
            "connection {}  {} -> {}  ({} side, {} subflow{})\n",
            c.token,
            endpoint(&c.local_address, c.local_port),
            endpoint(&c.remote_address, c.remote_port),
            if c.server_side { "server" } else { "client" },
            c.subflows.len(),
            if c.subflows.len() == 1 { "" } else { "s" },
        ));
        if !c.mode.is_empty() {
            text.push_str(&format!("  mode {} (by {})\n", c.mode, c.rule));
        }
        if !c.promoted.is_empty() {
            text.push_str(&format!(
                "  promoted by the rule: {} (role backup, carries data for this connection)\n",
                c.promoted.join(", ")
            ));
        }
        if !c.constraint.is_empty() {
            text.push_str(&format!("  cannot move: {}\n", c.constraint));
        }
        let rows = c
            .subflows
            .iter()
            .map(|s| {
                vec![
                    endpoint(&s.local_address, s.local_port),
                    "->".into(),
                    endpoint(&s.remote_address, s.remote_port),
                    if s.interface.is_empty() {
                        "-".into()
                    } else {
                        s.interface.clone()
                    },
                    match (s.backup, c.promoted.contains(&s.interface)) {
                        (true, _) => "backup",
                        (false, true) => "active, promoted by rule",
                        (false, false) => "active",
                    }
                    .into(),
                ]
            })
            .collect::<Vec<_>>();
        text.push_str(&table(&[], &rows, "  "));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use mptcp_policy_dbus::records::ConnectionRecord;
    use mptcp_policy_dbus::SubflowInfo;

    fn sample() -> Vec<ConnectionInfo> {
        let sf = |l: &str, lp, iface: &str, backup| SubflowInfo {
            local_address: l.into(),
            local_port: lp,
            remote_address: "10.9.0.1".into(),
            remote_port: 5201,
            backup,
            interface: iface.into(),
        };
        vec![
            ConnectionInfo {
                path: "/org/mptcp/Policy1/connection/7".into(),
                record: ConnectionRecord {
                    token: 7,
                    local_address: "10.1.0.2".into(),
                    local_port: 40000,
                    remote_address: "10.9.0.1".into(),
                    remote_port: 5201,
                    server_side: false,
                    subflows: vec![
                        sf("10.1.0.2", 40000, "wlan0", false),
                        sf("10.2.0.2", 40001, "wwan0", false),
                    ],
                    mode: "aggregate".into(),
                    rule: "[[rule]] #1 (remote_port = [5201])".into(),
                    promoted: vec!["wwan0".into()],
                    constraint: String::new(),
                    ..Default::default()
                },
            },
            ConnectionInfo {
                path: "/org/mptcp/Policy1/connection/8".into(),
                record: ConnectionRecord {
                    token: 8,
                    local_address: "2001:db8::2".into(),
                    local_port: 443,
                    remote_address: "2001:db8::9".into(),
                    remote_port: 50000,
                    server_side: true,
                    subflows: vec![SubflowInfo {
                        local_address: "2001:db8::2".into(),
                        local_port: 443,
                        remote_address: "2001:db8::9".into(),
                        remote_port: 50000,
                        backup: false,
                        interface: String::new(),
                    }],
                    mode: String::new(),
                    rule: String::new(),
                    promoted: Vec::new(),
                    constraint: "the peer forbids joins to its initial address".into(),
                    ..Default::default()
                },
            },
        ]
    }

    #[test]
    fn connections_render_with_subflows() {
        let text = render(&sample());
        let expected = "\
connection 7  10.1.0.2:40000 -> 10.9.0.1:5201  (client side, 2 subflows)
  mode aggregate (by [[rule]] #1 (remote_port = [5201]))
  promoted by the rule: wwan0 (role backup, carries data for this connection)
  10.1.0.2:40000  ->  10.9.0.1:5201  wlan0  active
  10.2.0.2:40001  ->  10.9.0.1:5201  wwan0  active, promoted by rule

connection 8  [2001:db8::2]:443 -> [2001:db8::9]:50000  (server side, 1 subflow)
  cannot move: the peer forbids joins to its initial address
  [2001:db8::2]:443  ->  [2001:db8::9]:50000  -  active
";
        assert_eq!(text, expected, "\n{text}");
        assert_eq!(render(&[]), "No MPTCP connections.\n");
    }

    #[test]
    fn connections_json_is_an_array_of_objects() {
        let j = to_json(&sample());
        assert_eq!(j[0]["token"], 7);
        assert_eq!(j[0]["local_address"], "10.1.0.2");
        assert_eq!(j[0]["local_port"], 40000);
        assert_eq!(j[0]["server_side"], false);
        assert_eq!(j[0]["subflows"][1]["backup"], false);
        assert_eq!(j[0]["subflows"][1]["interface"], "wwan0");
        assert_eq!(j[0]["mode"], "aggregate");
        assert_eq!(j[0]["promoted"], serde_json::json!(["wwan0"]));
        assert_eq!(
            j[1]["constraint"],
            "the peer forbids joins to its initial address"
        );
        assert_eq!(j[1]["server_side"], true);
        assert_eq!(to_json(&[]), serde_json::json!([]));
    }
}
