//! Every signal a client hears from the daemon, decoded once: the manager's
//! own signals ([`Signal`]) and the object bookkeeping of its children
//! (`PropertiesChanged`, `InterfacesAdded`/`Removed`) as [`DaemonSignal`].
//! The member names and signatures are the XML's (a test compares). No I/O.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use zbus::message::{Message, Type as MessageType};
use zbus::wire::{OwnedObjectPath, OwnedVariant};

use crate::names::{CONNECTION_INTERFACE, INTERFACE_INTERFACE, MANAGER_INTERFACE};
use crate::types::SubflowInfo;

/// Properties of one object interface, by name, as the bus carries them.
pub type Props = HashMap<String, OwnedVariant>;

/// One signal of the manager object `org.mptcp.Policy1`.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    ConnectionCreated(Ends),
    ConnectionEstablished(Ends),
    ConnectionClosed {
        token: u32,
    },
    SubflowEstablished {
        token: u32,
        subflow: SubflowInfo,
    },
    SubflowClosed {
        token: u32,
        subflow: SubflowInfo,
    },
    SubflowPriority {
        token: u32,
        subflow: SubflowInfo,
    },
    AddressAnnounced {
        token: u32,
        id: u8,
        address: String,
        port: u16,
    },
    AddressRemoved {
        token: u32,
        id: u8,
    },
    PolicyChanged,
    HealthChanged {
        interface: String,
        health: String,
        evidence: String,
    },
    BudgetWarning {
        interface: String,
        used: u64,
        budget: u64,
    },
    BudgetExhausted {
        interface: String,
        used: u64,
        budget: u64,
    },
    /// A member this client does not know (a newer daemon's).
    Unknown {
        member: String,
        signature: String,
    },
}

/// The two ends of a connection as `ConnectionCreated`/`Established` carry
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ends {
    pub token: u32,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
}

/// Which child object a D-Bus interface name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Manager,
    Interface,
    Connection,
}

impl ObjectKind {
    /// The kind of an interface name; `None` for interfaces not ours.
    pub fn of(interface_name: &str) -> Option<ObjectKind> {
        match interface_name {
            MANAGER_INTERFACE => Some(ObjectKind::Manager),
            INTERFACE_INTERFACE => Some(ObjectKind::Interface),
            CONNECTION_INTERFACE => Some(ObjectKind::Connection),
            _ => None,
        }
    }
}

/// Anything the daemon's objects say.
#[derive(Debug, Clone, PartialEq)]
pub enum DaemonSignal {
    Manager(Signal),
    /// Some properties of one object changed (`invalidated`: changed, value
    /// not sent).
    Changed {
        path: String,
        kind: ObjectKind,
        changed: Props,
        invalidated: Vec<String>,
    },
    /// An object appeared with (some of) its interfaces and properties.
    Added {
        path: String,
        objects: Vec<(ObjectKind, Props)>,
    },
    /// An object lost these interfaces (it is gone).
    Removed {
        path: String,
        kinds: Vec<ObjectKind>,
    },
}

/// A signal whose body does not have the documented signature.
#[derive(Debug, thiserror::Error)]
#[error("malformed signal {interface}.{member}: {detail}")]
pub struct SignalError {
    pub interface: String,
    pub member: String,
    pub detail: String,
}

/// `(member, signature)` of every manager signal, as in the XML.
pub const SIGNALS: [(&str, &str); 12] = [
    ("ConnectionCreated", "usqsq"),
    ("ConnectionEstablished", "usqsq"),
    ("ConnectionClosed", "u"),
    ("SubflowEstablished", "u(sqsqbs)"),
    ("SubflowClosed", "u(sqsqbs)"),
    ("SubflowPriority", "u(sqsqbs)"),
    ("AddressAnnounced", "uysq"),
    ("AddressRemoved", "uy"),
    ("PolicyChanged", ""),
    ("HealthChanged", "sss"),
    ("BudgetWarning", "stt"),
    ("BudgetExhausted", "stt"),
];

impl Signal {
    /// The D-Bus member name.
    pub fn member(&self) -> &str {
        match self {
            Signal::ConnectionCreated(_) => "ConnectionCreated",
            Signal::ConnectionEstablished(_) => "ConnectionEstablished",
            Signal::ConnectionClosed { .. } => "ConnectionClosed",
            Signal::SubflowEstablished { .. } => "SubflowEstablished",
            Signal::SubflowClosed { .. } => "SubflowClosed",
            Signal::SubflowPriority { .. } => "SubflowPriority",
            Signal::AddressAnnounced { .. } => "AddressAnnounced",
            Signal::AddressRemoved { .. } => "AddressRemoved",
            Signal::PolicyChanged => "PolicyChanged",
            Signal::HealthChanged { .. } => "HealthChanged",
            Signal::BudgetWarning { .. } => "BudgetWarning",
            Signal::BudgetExhausted { .. } => "BudgetExhausted",
            Signal::Unknown { member, .. } => member,
        }
    }

    /// Decodes a manager signal's body by its member name.
    pub fn decode(member: &str, msg: &Message) -> Result<Signal, SignalError> {
        let body = Body { msg, member };
        Ok(match member {
            "ConnectionCreated" | "ConnectionEstablished" => {
                let (token, local_address, local_port, remote_address, remote_port) = body.get()?;
                let ends = Ends {
                    token,
                    local_address,
                    local_port,
                    remote_address,
                    remote_port,
                };
                if member == "ConnectionCreated" {
                    Signal::ConnectionCreated(ends)
                } else {
                    Signal::ConnectionEstablished(ends)
                }
            }
            "ConnectionClosed" => Signal::ConnectionClosed { token: body.get()? },
            "SubflowEstablished" | "SubflowClosed" | "SubflowPriority" => {
                let (token, subflow) = body.get()?;
                match member {
                    "SubflowEstablished" => Signal::SubflowEstablished { token, subflow },
                    "SubflowClosed" => Signal::SubflowClosed { token, subflow },
                    _ => Signal::SubflowPriority { token, subflow },
                }
            }
            "AddressAnnounced" => {
                let (token, id, address, port) = body.get()?;
                Signal::AddressAnnounced {
                    token,
                    id,
                    address,
                    port,
                }
            }
            "AddressRemoved" => {
                let (token, id) = body.get()?;
                Signal::AddressRemoved { token, id }
            }
            "PolicyChanged" => Signal::PolicyChanged,
            "HealthChanged" => {
                let (interface, health, evidence) = body.get()?;
                Signal::HealthChanged {
                    interface,
                    health,
                    evidence,
                }
            }
            "BudgetWarning" | "BudgetExhausted" => {
                let (interface, used, budget) = body.get()?;
                if member == "BudgetWarning" {
                    Signal::BudgetWarning {
                        interface,
                        used,
                        budget,
                    }
                } else {
                    Signal::BudgetExhausted {
                        interface,
                        used,
                        budget,
                    }
                }
            }
            other => Signal::Unknown {
                member: other.to_string(),
                signature: msg.body().signature().to_string(),
            },
        })
    }
}

struct Body<'a> {
    msg: &'a Message,
    member: &'a str,
}

impl Body<'_> {
    fn get<T: DeserializeOwned + zbus::wire::Type>(&self) -> Result<T, SignalError> {
        self.msg.body().deserialize::<T>().map_err(|e| SignalError {
            interface: self
                .msg
                .header()
                .interface()
                .map(|i| i.to_string())
                .unwrap_or_default(),
            member: self.member.to_string(),
            detail: e.to_string(),
        })
    }
}

type AddedBody = (OwnedObjectPath, HashMap<String, Props>);

impl DaemonSignal {
    /// Decodes one message from the daemon; `None` for what is not one of
    /// its signals (other interfaces, method calls, other objects' kinds).
    pub fn decode(msg: &Message) -> Result<Option<DaemonSignal>, SignalError> {
        if msg.message_type() != MessageType::Signal {
            return Ok(None);
        }
        let hdr = msg.header();
        let iface = hdr.interface().map(|i| i.to_string()).unwrap_or_default();
        let member = hdr.member().map(|m| m.to_string()).unwrap_or_default();
        let path = hdr.path().map(|p| p.to_string()).unwrap_or_default();
        let body = Body {
            msg,
            member: &member,
        };
        Ok(match (iface.as_str(), member.as_str()) {
            (MANAGER_INTERFACE, m) => Some(DaemonSignal::Manager(Signal::decode(m, msg)?)),
            ("org.freedesktop.DBus.Properties", "PropertiesChanged") => {
                let (name, changed, invalidated): (String, Props, Vec<String>) = body.get()?;
                ObjectKind::of(&name).map(|kind| DaemonSignal::Changed {
                    path,
                    kind,
                    changed,
                    invalidated,
                })
            }
            ("org.freedesktop.DBus.ObjectManager", "InterfacesAdded") => {
                let (object, ifaces): AddedBody = body.get()?;
                let objects: Vec<_> = ifaces
                    .into_iter()
                    .filter_map(|(i, props)| ObjectKind::of(&i).map(|k| (k, props)))
                    .collect();
                (!objects.is_empty()).then(|| DaemonSignal::Added {
                    path: object.to_string(),
                    objects,
                })
            }
            ("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved") => {
                let (object, ifaces): (OwnedObjectPath, Vec<String>) = body.get()?;
                let kinds: Vec<_> = ifaces.iter().filter_map(|i| ObjectKind::of(i)).collect();
                (!kinds.is_empty()).then(|| DaemonSignal::Removed {
                    path: object.to_string(),
                    kinds,
                })
            }
            _ => None,
        })
    }
}

#[cfg(test)]
#[path = "signals_test.rs"]
mod tests;
