//! mptcp-policy-dbus: the D-Bus contract of mptcp-policyd, shared by the
//! service and every client (CLI, panel, NetworkManager hook).
//!
//! * [`names`]: bus name, object paths, interface names, polkit action ids.
//! * [`Error`], [`ErrorKind`]: the `org.mptcp.Policy1.Error.*` errors and
//!   the one map between their names and kinds.
//! * [`types`]: structured argument and property types.
//! * [`calls`]: typed method calls carrying the interactive-authorization
//!   flag.
//! * [`proxy`]: client proxies for the manager, interface and connection
//!   objects.
//! * [`records`]: the manager, interface and connection objects' properties
//!   as typed records (names, types, decode, diff).
//! * [`signals`]: every signal of the daemon, one enum and its decoder.
//! * [`units`]: sizes, periods and roles parsed and formatted as the
//!   policy file does.
//!
//! The introspection XML with the documentation of every member is
//! `dbus/org.mptcp.Policy1.xml` ([`introspection_xml`]); a test keeps it
//! equal to the live service.

pub mod calls;
pub mod error;
pub mod introspection;
pub mod names;
pub mod networkmanager;
pub mod proxy;
pub mod records;
pub mod signals;
pub mod types;
pub mod units;

pub use calls::Calls;
pub use error::{Error, ErrorKind};
pub use introspection::{introspection_xml, members};
pub use proxy::{ConnectionProxy, InterfaceProxy, ManagerProxy};
pub use signals::{DaemonSignal, ObjectKind, Signal};
pub use types::SubflowInfo;
