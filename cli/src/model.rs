//! Plain data the commands print, decoded from the daemon's objects.
//!
//! Formatting works on these structs only (no bus), so it is unit-tested.

use mptcp_policy_dbus::records::{ConnectionRecord, InterfaceRecord, PropertyError};
use mptcp_policy_dbus::signals::Props;
use serde::Serialize;
use zbus::fdo::ManagedObjects;

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

/// One `org.mptcp.Policy1.Interface` object: its path and the contract's
/// record (JSON: the record's fields next to `path`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InterfaceInfo {
    pub path: String,
    #[serde(flatten)]
    pub record: InterfaceRecord,
}

impl std::ops::Deref for InterfaceInfo {
    type Target = InterfaceRecord;
    fn deref(&self) -> &InterfaceRecord {
        &self.record
    }
}

impl std::ops::DerefMut for InterfaceInfo {
    fn deref_mut(&mut self) -> &mut InterfaceRecord {
        &mut self.record
    }
}

/// One `org.mptcp.Policy1.Connection` object: its path and the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionInfo {
    pub path: String,
    #[serde(flatten)]
    pub record: ConnectionRecord,
}

impl std::ops::Deref for ConnectionInfo {
    type Target = ConnectionRecord;
    fn deref(&self) -> &ConnectionRecord {
        &self.record
    }
}

fn decode_err(e: PropertyError) -> CliError {
    CliError::failed(e.to_string())
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

/// Decodes one interface object's properties (missing ones default: the
/// daemon may be older or newer than this client).
pub fn interface_from_props(path: &str, p: &Props) -> Result<InterfaceInfo, CliError> {
    Ok(InterfaceInfo {
        path: path.to_string(),
        record: InterfaceRecord::from_props(path, p).map_err(decode_err)?,
    })
}

/// Every interface object, sorted by name.
pub fn interfaces_from_objects(objects: &ManagedObjects) -> Result<Vec<InterfaceInfo>, CliError> {
    let mut out = interfaces_of(objects, InterfaceRecord::INTERFACE)
        .map(|(path, p)| interface_from_props(&path, p))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.path.cmp(&b.path)));
    Ok(out)
}

/// Every connection object, sorted by token.
pub fn connections_from_objects(objects: &ManagedObjects) -> Result<Vec<ConnectionInfo>, CliError> {
    let mut out = interfaces_of(objects, ConnectionRecord::INTERFACE)
        .map(|(path, p)| {
            Ok(ConnectionInfo {
                record: ConnectionRecord::from_props(&path, p).map_err(decode_err)?,
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
    use mptcp_policy_dbus::names::{CONNECTION_INTERFACE, INTERFACE_INTERFACE};
    use mptcp_policy_dbus::SubflowInfo;
    use std::collections::HashMap;
    use zbus::names::OwnedInterfaceName;
    use zbus::wire::as_variant::to_owned_variant;
    use zbus::wire::OwnedObjectPath;
    use zbus::wire::OwnedVariant;

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
