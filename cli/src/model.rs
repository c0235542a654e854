//! Plain data the commands print, decoded from the daemon's objects.
//!
//! Formatting works on these structs only (no bus), so it is unit-tested.

use std::collections::HashMap;

use mptcp_policy_dbus::names::{CONNECTION_INTERFACE, INTERFACE_INTERFACE};
use mptcp_policy_dbus::SubflowInfo;
use serde::Serialize;
use zbus::fdo::ManagedObjects;
use zbus::wire::OwnedVariant;

use crate::error::CliError;

/// The manager's properties plus every interface object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Status {
    pub path_manager: String,
    pub version: String,
    /// `None` when the daemon does not publish it.
    pub policy_summary: Option<String>,
    pub limits: Option<Limits>,
    pub foreign_endpoints: Option<Vec<ForeignEndpoint>>,
    /// The kernel's BPF path to MPTCP (`None` from older daemons).
    pub bpf_status: Option<String>,
    pub interfaces: Vec<InterfaceInfo>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub subflows: u32,
    pub add_addr_accepted: u32,
}

/// An endpoint in the kernel that the daemon did not create (never touched).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForeignEndpoint {
    pub id: u8,
    pub address: String,
    pub flags: String,
    /// "networkmanager" when it looks like NetworkManager's, "" unknown.
    pub origin: String,
}

/// One NetworkManager hint of an interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hint {
    pub value: String,
    /// "networkmanager" or "networkmanager-hook".
    pub source: String,
}

/// One `org.mptcp.Policy1.Interface` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InterfaceInfo {
    pub path: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub type_source: String,
    pub up: bool,
    /// "good" | "suspect" | "stalled", "" when not monitored.
    pub health: String,
    pub role: String,
    pub role_reason: String,
    pub addresses: Vec<String>,
    pub metered: bool,
    pub bytes_used: u64,
    /// The part of `bytes_used` MPTCP subflows carried.
    pub mptcp_bytes_used: u64,
    /// 0: no budget.
    pub budget_bytes: u64,
    /// "daily" | "weekly" | "monthly", "" without a budget.
    pub budget_period: String,
    /// "within-budget" | "allowance-spent" | "exhausted", "" without a budget.
    pub budget_state: String,
    /// Bytes still allowed today.
    pub allowance_bytes: u64,
    /// End of the period, RFC 3339 local time; "" without a budget.
    pub next_reset: String,
    pub endpoint_ids: Vec<u8>,
    /// NetworkManager's hints by name ("metered", "connectivity", "device-type").
    pub hints: std::collections::BTreeMap<String, Hint>,
}

/// One `org.mptcp.Policy1.Connection` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionInfo {
    pub path: String,
    pub token: u32,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    pub server_side: bool,
    pub subflows: Vec<SubflowInfo>,
    /// Userspace PM mode (`handover` | `interactive` | `aggregate`), ""
    /// under the in-kernel PM.
    pub mode: String,
    /// The policy entry that chose the mode.
    pub rule: String,
    /// Backup-role interfaces the rule's mode made carry data.
    pub promoted: Vec<String>,
    /// Why the connection cannot do what its mode wants ("" when nothing).
    pub constraint: String,
}

type Props = HashMap<String, OwnedVariant>;

/// Reads a property; a missing one gives the default (the daemon may be
/// older or newer than this client), a wrongly typed one is an error.
fn prop<T>(props: &Props, path: &str, name: &str) -> Result<T, CliError>
where
    T: serde::de::DeserializeOwned + zbus::wire::Type + Default,
{
    match props.get(name) {
        None => Ok(T::default()),
        Some(v) => zbus::wire::as_variant::deserialize_for_property(v).map_err(|e| {
            CliError::failed(format!(
                "the daemon sent property {name} of {path} with an unexpected type \
                 (expected {}): {e}",
                T::SIGNATURE
            ))
        }),
    }
}

fn interfaces_of<'a>(
    objects: &'a ManagedObjects,
    interface: &'a str,
) -> impl Iterator<Item = (String, &'a Props)> + 'a {
    objects.iter().filter_map(move |(path, ifaces)| {
        ifaces
            .iter()
            .find(|(name, _)| name.as_str() == interface)
            .map(|(_, props)| (path.as_str().to_string(), props))
    })
}

/// Decodes one interface object's properties.
pub fn interface_from_props(path: &str, p: &Props) -> Result<InterfaceInfo, CliError> {
    Ok(InterfaceInfo {
        path: path.to_string(),
        name: prop(p, path, "Name")?,
        kind: prop(p, path, "Type")?,
        type_source: prop(p, path, "TypeSource")?,
        up: prop(p, path, "Up")?,
        health: prop(p, path, "Health")?,
        role: prop(p, path, "Role")?,
        role_reason: prop(p, path, "RoleReason")?,
        addresses: prop(p, path, "Addresses")?,
        metered: prop(p, path, "Metered")?,
        bytes_used: prop(p, path, "BytesUsed")?,
        mptcp_bytes_used: prop(p, path, "MptcpBytesUsed")?,
        budget_bytes: prop(p, path, "BudgetBytes")?,
        budget_period: prop(p, path, "BudgetPeriod")?,
        budget_state: prop(p, path, "BudgetState")?,
        allowance_bytes: prop(p, path, "AllowanceBytes")?,
        next_reset: prop(p, path, "NextReset")?,
        endpoint_ids: prop(p, path, "EndpointIds")?,
        hints: prop::<HashMap<String, (String, String)>>(p, path, "Hints")?
            .into_iter()
            .map(|(k, (value, source))| (k, Hint { value, source }))
            .collect(),
    })
}

/// Every interface object, sorted by name.
pub fn interfaces_from_objects(objects: &ManagedObjects) -> Result<Vec<InterfaceInfo>, CliError> {
    let mut out = interfaces_of(objects, INTERFACE_INTERFACE)
        .map(|(path, p)| interface_from_props(&path, p))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.path.cmp(&b.path)));
    Ok(out)
}

/// Every connection object, sorted by token.
pub fn connections_from_objects(objects: &ManagedObjects) -> Result<Vec<ConnectionInfo>, CliError> {
    let mut out = interfaces_of(objects, CONNECTION_INTERFACE)
        .map(|(path, p)| {
            let subflows = match p.get("Subflows") {
                None => Vec::new(),
                Some(v) => zbus::wire::as_variant::deserialize_for_property(v).map_err(|e| {
                    CliError::failed(format!(
                        "the daemon sent property Subflows of {path} with an unexpected \
                         type: {e}"
                    ))
                })?,
            };
            Ok(ConnectionInfo {
                token: prop(p, &path, "Token")?,
                local_address: prop(p, &path, "LocalAddress")?,
                local_port: prop(p, &path, "LocalPort")?,
                remote_address: prop(p, &path, "RemoteAddress")?,
                remote_port: prop(p, &path, "RemotePort")?,
                server_side: prop(p, &path, "ServerSide")?,
                subflows,
                mode: prop(p, &path, "Mode")?,
                rule: prop(p, &path, "Rule")?,
                promoted: prop(p, &path, "Promoted")?,
                constraint: prop(p, &path, "Constraint")?,
                path,
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    out.sort_by_key(|c| c.token);
    Ok(out)
}

/// `addr:port`, IPv6 in brackets.
pub fn endpoint(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use zbus::names::OwnedInterfaceName;
    use zbus::wire::as_variant::to_owned_variant;
    use zbus::wire::OwnedObjectPath;

    fn v<T: serde::Serialize + zbus::wire::Type>(t: T) -> OwnedVariant {
        to_owned_variant(&t).expect("variant")
    }

    pub fn sample_objects() -> ManagedObjects {
        let mut objects = ManagedObjects::new();
        let mut add = |path: &str, iface: &str, props: Vec<(&str, OwnedVariant)>| {
            let props: Props = props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            objects.insert(
                OwnedObjectPath::try_from(path).expect("path"),
                HashMap::from([(OwnedInterfaceName::try_from(iface).expect("iface"), props)]),
            );
        };
        add(
            "/org/mptcp/Policy1/interface/wwan0",
            INTERFACE_INTERFACE,
            vec![
                ("Name", v("wwan0")),
                ("Type", v("cellular")),
                ("TypeSource", v("sysfs")),
                ("Up", v(true)),
                ("Role", v("backup")),
                ("RoleReason", v("policy entry 3 (type cellular)")),
                ("Addresses", v(vec!["10.2.0.2".to_string()])),
                ("Metered", v(true)),
                ("BytesUsed", v(1u64 << 30)),
                ("BudgetBytes", v(2u64 << 30)),
                ("BudgetPeriod", v("monthly")),
                ("BudgetState", v("within-budget")),
                ("AllowanceBytes", v(100u64 << 20)),
                ("NextReset", v("2026-12-01T00:00:00+01:00")),
                ("EndpointIds", v(vec![2u8])),
            ],
        );
        add(
            "/org/mptcp/Policy1/interface/wlan0",
            INTERFACE_INTERFACE,
            vec![
                ("Name", v("wlan0")),
                ("Role", v("preferred")),
                ("Up", v(true)),
            ],
        );
        add(
            "/org/mptcp/Policy1/connection/7",
            CONNECTION_INTERFACE,
            vec![
                ("Token", v(7u32)),
                ("LocalAddress", v("10.1.0.2")),
                ("LocalPort", v(40000u16)),
                ("RemoteAddress", v("10.9.0.1")),
                ("RemotePort", v(5201u16)),
                ("ServerSide", v(false)),
                (
                    "Subflows",
                    v(vec![SubflowInfo {
                        local_address: "10.2.0.2".into(),
                        local_port: 40001,
                        remote_address: "10.9.0.1".into(),
                        remote_port: 5201,
                        backup: true,
                        interface: "wwan0".into(),
                    }]),
                ),
            ],
        );
        objects
    }

    #[test]
    fn objects_decode_into_plain_structs() {
        let objects = sample_objects();
        let ifaces = interfaces_from_objects(&objects).expect("interfaces");
        assert_eq!(ifaces.len(), 2);
        assert_eq!(ifaces[0].name, "wlan0");
        assert_eq!(ifaces[0].kind, "", "missing properties default");
        assert_eq!(ifaces[1].name, "wwan0");
        assert_eq!(ifaces[1].kind, "cellular");
        assert_eq!(ifaces[1].budget_bytes, 2 << 30);
        assert_eq!(ifaces[1].endpoint_ids, vec![2]);
        let conns = connections_from_objects(&objects).expect("connections");
        assert_eq!(conns.len(), 1);
        assert_eq!(conns[0].token, 7);
        assert_eq!(conns[0].subflows[0].interface, "wwan0");
        assert!(conns[0].subflows[0].backup);
    }

    #[test]
    fn wrongly_typed_property_is_a_clear_error() {
        let mut objects = sample_objects();
        for ifaces in objects.values_mut() {
            for props in ifaces.values_mut() {
                if props.contains_key("Up") {
                    props.insert("Up".into(), v("yes"));
                }
            }
        }
        let e = interfaces_from_objects(&objects).expect_err("bad type");
        assert_eq!(e.exit_code(), 1);
        assert!(e.message.contains("Up"), "{}", e.message);
    }

    #[test]
    fn endpoints_bracket_ipv6() {
        assert_eq!(endpoint("10.0.0.1", 80), "10.0.0.1:80");
        assert_eq!(endpoint("2001:db8::1", 443), "[2001:db8::1]:443");
    }
}
