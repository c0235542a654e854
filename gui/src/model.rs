//! What the panel knows about the daemon: plain data decoded from the
//! daemon's objects and kept current by applying its signals. No GTK and no
//! bus here (the decoding is table-tested); the widgets only display it.

use std::collections::BTreeMap;
use std::time::Instant;

use mptcp_policy_dbus::records::{ConnectionRecord, InterfaceRecord};
pub use mptcp_policy_dbus::signals::Props;

/// A property the daemon sent with a type this panel does not expect.
pub use mptcp_policy_dbus::records::PropertyError as DecodeError;

/// One `org.mptcp.Policy1.Interface` object: its path and the contract's
/// record (fields read through `Deref`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub path: String,
    pub record: InterfaceRecord,
}

/// One `org.mptcp.Policy1.Connection` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub path: String,
    /// `opened_at_ms` is 0 from a daemon that does not publish `OpenedAt`;
    /// `mode` is "" under the in-kernel path manager.
    pub record: ConnectionRecord,
    /// When this panel first saw it, for such daemons; `seen_at_start`
    /// marks connections that were already open when the panel connected,
    /// whose age is then only a lower bound.
    pub first_seen: Instant,
    pub seen_at_start: bool,
}

macro_rules! deref_record {
    ($info:ty, $record:ty) => {
        impl std::ops::Deref for $info {
            type Target = $record;
            fn deref(&self) -> &$record {
                &self.record
            }
        }
        impl std::ops::DerefMut for $info {
            fn deref_mut(&mut self) -> &mut $record {
                &mut self.record
            }
        }
    };
}
deref_record!(InterfaceInfo, InterfaceRecord);
deref_record!(ConnectionInfo, ConnectionRecord);

impl InterfaceInfo {
    /// Applies a full or partial set of properties; a missing property
    /// leaves the field (daemons older or newer than the panel differ).
    pub fn apply(&mut self, props: &Props) -> Result<(), DecodeError> {
        self.record.apply(&self.path, props)
    }
}

impl ConnectionInfo {
    fn new(path: &str, now: Instant, seen_at_start: bool) -> Self {
        ConnectionInfo {
            path: path.to_string(),
            record: ConnectionRecord::default(),
            first_seen: now,
            seen_at_start,
        }
    }

    /// Applies a full or partial set of properties.
    pub fn apply(&mut self, props: &Props) -> Result<(), DecodeError> {
        self.record.apply(&self.path, props)
    }

    /// How long it has been open, in seconds, and whether that is only a
    /// lower bound. `now` on the panel's clock, `unix_now_ms` the wall clock.
    pub fn age(&self, now: Instant, unix_now_ms: u64) -> (u64, bool) {
        if self.opened_at_ms > 0 {
            (unix_now_ms.saturating_sub(self.opened_at_ms) / 1000, false)
        } else {
            (
                now.saturating_duration_since(self.first_seen).as_secs(),
                self.seen_at_start,
            )
        }
    }

    /// The remote end as `addr:port` (IPv6 in brackets).
    pub fn remote(&self) -> String {
        endpoint(&self.remote_address, self.remote_port)
    }
}

/// `addr:port`, IPv6 in brackets.
pub fn endpoint(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// Which kind of object a D-Bus interface name is (the manager's own
/// properties are not kept here).
pub use mptcp_policy_dbus::ObjectKind;

/// Every object of the daemon the panel shows, by object path.
#[derive(Debug, Default)]
pub struct Store {
    pub interfaces: BTreeMap<String, InterfaceInfo>,
    pub connections: BTreeMap<String, ConnectionInfo>,
}

impl Store {
    /// Adds or updates an object from (all or some of) its properties.
    /// `initial`: part of the first snapshot after connecting.
    pub fn upsert(
        &mut self,
        kind: ObjectKind,
        path: &str,
        props: &Props,
        now: Instant,
        initial: bool,
    ) -> Result<(), DecodeError> {
        match kind {
            ObjectKind::Interface => self
                .interfaces
                .entry(path.to_string())
                .or_insert_with(|| InterfaceInfo {
                    path: path.to_string(),
                    ..InterfaceInfo::default()
                })
                .apply(props),
            ObjectKind::Connection => self
                .connections
                .entry(path.to_string())
                .or_insert_with(|| ConnectionInfo::new(path, now, initial))
                .apply(props),
            ObjectKind::Manager => Ok(()),
        }
    }

    /// Updates an object that exists; changes for unknown objects are
    /// dropped (an InterfacesAdded always comes first).
    pub fn change(
        &mut self,
        kind: ObjectKind,
        path: &str,
        props: &Props,
    ) -> Result<(), DecodeError> {
        match kind {
            ObjectKind::Interface => match self.interfaces.get_mut(path) {
                Some(i) => i.apply(props),
                None => Ok(()),
            },
            ObjectKind::Connection => match self.connections.get_mut(path) {
                Some(c) => c.apply(props),
                None => Ok(()),
            },
            ObjectKind::Manager => Ok(()),
        }
    }

    pub fn remove(&mut self, kind: ObjectKind, path: &str) {
        match kind {
            ObjectKind::Interface => {
                self.interfaces.remove(path);
            }
            ObjectKind::Connection => {
                self.connections.remove(path);
            }
            ObjectKind::Manager => {}
        }
    }

    /// The interface named `name`.
    pub fn interface(&self, name: &str) -> Option<&InterfaceInfo> {
        self.interfaces.values().find(|i| i.name == name)
    }

    pub fn clear(&mut self) {
        self.interfaces.clear();
        self.connections.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mptcp_policy_dbus::SubflowInfo;
    use zbus::wire::as_variant::to_owned_variant;
    use zbus::wire::OwnedVariant;

    fn v<T: serde::Serialize + zbus::wire::Type>(t: T) -> OwnedVariant {
        to_owned_variant(&t).expect("variant")
    }

    fn props(list: Vec<(&str, OwnedVariant)>) -> Props {
        list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    const WWAN: &str = "/org/mptcp/Policy1/interface/wwan0";
    const CONN: &str = "/org/mptcp/Policy1/connection/7";

    #[test]
    fn full_then_partial_interface_updates() {
        let mut s = Store::default();
        let now = Instant::now();
        s.upsert(
            ObjectKind::Interface,
            WWAN,
            &props(vec![
                ("Name", v("wwan0")),
                ("Type", v("cellular")),
                ("Role", v("backup")),
                ("Up", v(true)),
                ("Addresses", v(vec!["10.2.0.2".to_string()])),
                ("BudgetBytes", v(2u64 << 30)),
                ("RxBytes", v(100u64)),
                ("Unknown", v(1u8)), // a newer daemon's property: ignored
            ]),
            now,
            true,
        )
        .expect("decode");
        let i = s.interface("wwan0").expect("wwan0");
        assert_eq!(
            (i.kind.as_str(), i.role.as_str(), i.up, i.rx_bytes),
            ("cellular", "backup", true, 100)
        );
        // A PropertiesChanged with only the role.
        s.change(
            ObjectKind::Interface,
            WWAN,
            &props(vec![("Role", v("preferred"))]),
        )
        .expect("decode");
        let i = s.interface("wwan0").expect("wwan0");
        assert_eq!(i.role, "preferred");
        assert_eq!(i.addresses, vec!["10.2.0.2"], "untouched fields stay");
        // Changes for objects never added are dropped, not invented.
        s.change(
            ObjectKind::Interface,
            "/org/mptcp/Policy1/interface/x",
            &props(vec![("Name", v("x"))]),
        )
        .expect("ok");
        assert_eq!(s.interfaces.len(), 1);
    }

    #[test]
    fn wrong_types_are_named_errors() {
        let mut s = Store::default();
        for (name, value) in [("Role", v(3u32)), ("Up", v("yes")), ("RxBytes", v("1"))] {
            let e = s
                .upsert(
                    ObjectKind::Interface,
                    WWAN,
                    &props(vec![(name, value)]),
                    Instant::now(),
                    false,
                )
                .expect_err("wrong type");
            assert_eq!(e.property, name);
            assert!(e.to_string().contains(WWAN), "{e}");
        }
    }

    #[test]
    fn connections_come_and_go_with_subflows() {
        let mut s = Store::default();
        let now = Instant::now();
        let sf = SubflowInfo {
            local_address: "10.2.0.2".into(),
            local_port: 40000,
            remote_address: "10.9.0.1".into(),
            remote_port: 5201,
            backup: true,
            interface: "wwan0".into(),
        };
        s.upsert(
            ObjectKind::Connection,
            CONN,
            &props(vec![
                ("Token", v(7u32)),
                ("RemoteAddress", v("fd00:9::1")),
                ("RemotePort", v(5201u16)),
                ("Subflows", v(vec![sf.clone()])),
            ]),
            now,
            false,
        )
        .expect("decode");
        let c = &s.connections[CONN];
        assert_eq!(c.remote(), "[fd00:9::1]:5201");
        // Without OpenedAt: the panel's own clock.
        let later = now + std::time::Duration::from_secs(5);
        assert_eq!(c.age(later, 0), (5, false));
        assert_eq!(c.subflows, vec![sf]);
        assert!(!c.seen_at_start);
        // With the daemon's opening time, exact even for connections that
        // were open before the panel started.
        s.upsert(
            ObjectKind::Connection,
            CONN,
            &props(vec![("OpenedAt", v(1_000_000u64))]),
            now,
            true,
        )
        .expect("decode");
        assert_eq!(s.connections[CONN].age(now, 1_090_500), (90, false));
        assert_eq!(s.connections[CONN].mode, "", "in-kernel path manager");
        s.upsert(
            ObjectKind::Connection,
            CONN,
            &props(vec![("Mode", v("interactive"))]),
            now,
            true,
        )
        .expect("decode");
        assert_eq!(s.connections[CONN].mode, "interactive");
        // A rule's promotion and a constraint arrive as PropertiesChanged.
        s.upsert(
            ObjectKind::Connection,
            CONN,
            &props(vec![
                ("Promoted", v(vec!["wwan0".to_string()])),
                ("Constraint", v("the peer forbids joins")),
            ]),
            now,
            true,
        )
        .expect("decode");
        assert_eq!(s.connections[CONN].promoted, vec!["wwan0".to_string()]);
        assert_eq!(s.connections[CONN].constraint, "the peer forbids joins");
        s.connections.get_mut(CONN).expect("conn").opened_at_ms = 0;
        s.connections.get_mut(CONN).expect("conn").seen_at_start = true;
        assert_eq!(
            s.connections[CONN].age(later, 0),
            (5, true),
            "a lower bound"
        );
        s.remove(ObjectKind::Connection, CONN);
        assert!(s.connections.is_empty());
        assert_eq!(
            ObjectKind::of("org.mptcp.Policy1.Connection"),
            Some(ObjectKind::Connection)
        );
        assert_eq!(ObjectKind::of("org.freedesktop.DBus.Properties"), None);
    }
}
