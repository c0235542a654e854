//! Errors of the CLI and the one place that maps them to exit codes.
//!
//! Every failure, whether it comes from the daemon (`org.mptcp.Policy1.Error.*`),
//! from the bus (`org.freedesktop.DBus.Error.*`, no bus at all) or from local
//! validation, becomes a [`CliError`] with a [`Kind`]; [`Kind::exit_code`] is
//! the only mapping to exit codes, and the exit codes are documented once, in
//! [`EXIT_CODES_HELP`].

use std::fmt;

use mptcp_policy_dbus::names::BUS_NAME;
use mptcp_policy_dbus::ErrorKind;
use serde::Serialize;

/// What went wrong, as far as a script cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything else (I/O, protocol, daemon bug, timeout): exit 1.
    Failed,
    /// The daemon is not running or there is no system bus: exit 3.
    DaemonAbsent,
    /// polkit (or the bus policy) refused: exit 4.
    NotAuthorized,
    /// The daemon found the policy text invalid: exit 5.
    InvalidPolicy,
    /// No such interface (or type): exit 5.
    UnknownInterface,
    /// An argument was rejected, by the daemon or locally: exit 5.
    InvalidArgument,
    /// The kernel refused a command: exit 6.
    Kernel,
}

impl Kind {
    /// The exit code of the process for this kind of error.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Failed => 1,
            Kind::DaemonAbsent => 3,
            Kind::NotAuthorized => 4,
            Kind::InvalidPolicy | Kind::UnknownInterface | Kind::InvalidArgument => 5,
            Kind::Kernel => 6,
        }
    }

    /// Stable name used in `--json` error objects (the daemon's error names
    /// where there is one).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Failed => "Failed",
            Kind::DaemonAbsent => "DaemonAbsent",
            Kind::NotAuthorized => "NotAuthorized",
            Kind::InvalidPolicy => "InvalidPolicy",
            Kind::UnknownInterface => "UnknownInterface",
            Kind::InvalidArgument => "InvalidArgument",
            Kind::Kernel => "Kernel",
        }
    }

    /// Short human prefix of the message.
    fn label(self) -> &'static str {
        match self {
            Kind::Failed => "error",
            Kind::DaemonAbsent => "daemon not available",
            Kind::NotAuthorized => "not authorized",
            Kind::InvalidPolicy => "invalid policy",
            Kind::UnknownInterface => "unknown interface",
            Kind::InvalidArgument => "invalid argument",
            Kind::Kernel => "kernel refused",
        }
    }
}

impl From<ErrorKind> for Kind {
    fn from(k: ErrorKind) -> Self {
        match k {
            ErrorKind::NotAuthorized => Kind::NotAuthorized,
            ErrorKind::InvalidPolicy => Kind::InvalidPolicy,
            ErrorKind::UnknownInterface => Kind::UnknownInterface,
            ErrorKind::InvalidArgument => Kind::InvalidArgument,
            ErrorKind::Kernel => Kind::Kernel,
        }
    }
}

/// Exit status success.
pub const EXIT_OK: u8 = 0;
/// Exit status of clap's usage errors (documented here, produced by clap).
pub const EXIT_USAGE: u8 = 2;

/// The exit-code table for `--help` and the man page.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success
  1  other error (I/O, protocol, timeout, unexpected daemon error)
  2  usage error (unknown option, missing argument)
  3  daemon not available (org.mptcp.Policy1 not running, or no system bus)
  4  not authorized (polkit denied the change: NotAuthorized)
  5  invalid input (InvalidPolicy, InvalidArgument, UnknownInterface, or
     rejected before sending: bad role, size, period, on/off)
  6  the kernel refused the change (Kernel)";

/// How to get the daemon running, appended to "daemon absent" messages.
pub const START_HINT: &str =
    "start the daemon with 'systemctl start mptcp-policyd' (or run 'mptcp-policyd' as root)";

/// An error as the CLI reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub kind: Kind,
    /// The full D-Bus error name when the error came over the bus.
    pub dbus_name: Option<String>,
    /// Human message; for daemon errors it contains the daemon's text.
    pub message: String,
}

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            dbus_name: None,
            message: message.into(),
        }
    }

    /// Local validation failure (exit 5).
    pub fn invalid(message: impl Into<String>) -> Self {
        CliError::new(Kind::InvalidArgument, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        CliError::new(Kind::Failed, message)
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// The one-line (or few-line) text printed after `mptcp-policyctl: `.
    pub fn human(&self) -> String {
        format!("{}: {}", self.kind.label(), self.message)
    }

    /// The `--json` form: `{"error": "<Name>", "message": "…", ...}`.
    pub fn json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct JsonError<'a> {
            error: &'a str,
            message: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            dbus_error: Option<&'a str>,
            exit_code: u8,
        }
        serde_json::to_value(JsonError {
            error: self.kind.name(),
            message: &self.message,
            dbus_error: self.dbus_name.as_deref(),
            exit_code: self.exit_code(),
        })
        .unwrap_or(serde_json::Value::Null)
    }

    /// Maps a D-Bus error name + description to a CLI error: the daemon's
    /// names through the contract's map ([`ErrorKind`]), the bus's own
    /// names here.
    pub fn from_dbus_name(name: &str, description: Option<&str>) -> Self {
        let text = description.unwrap_or("no description").to_string();
        let (kind, message) = match name {
            n if ErrorKind::from_dbus_name(n).is_some() => (
                ErrorKind::from_dbus_name(n).map_or(Kind::Failed, Kind::from),
                text,
            ),
            "org.freedesktop.DBus.Error.ServiceUnknown"
            | "org.freedesktop.DBus.Error.NameHasNoOwner" => (
                Kind::DaemonAbsent,
                format!("{BUS_NAME} is not running ({name}: {text}); {START_HINT}"),
            ),
            n if n.starts_with("org.freedesktop.DBus.Error.Spawn") => (
                Kind::DaemonAbsent,
                format!("{BUS_NAME} could not be started ({name}: {text}); {START_HINT}"),
            ),
            "org.freedesktop.DBus.Error.AccessDenied"
            | "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" => {
                (Kind::NotAuthorized, format!("{text} ({name})"))
            }
            "org.freedesktop.DBus.Error.InvalidArgs" => {
                (Kind::InvalidArgument, format!("{text} ({name})"))
            }
            _ => (Kind::Failed, format!("{name}: {text}")),
        };
        CliError {
            kind,
            dbus_name: Some(name.to_string()),
            message,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.human())
    }
}

impl std::error::Error for CliError {}

impl From<mptcp_policy_dbus::Error> for CliError {
    fn from(e: mptcp_policy_dbus::Error) -> Self {
        if let mptcp_policy_dbus::Error::ZBus(z) = e {
            return CliError::from(z);
        }
        match e.daemon() {
            Some((kind, text)) => CliError {
                kind: kind.into(),
                dbus_name: Some(kind.dbus_name()),
                message: text.to_string(),
            },
            None => CliError::failed(format!("D-Bus: {e}")),
        }
    }
}

impl From<zbus::Error> for CliError {
    fn from(e: zbus::Error) -> Self {
        use zbus::DBusError as _;
        match &e {
            zbus::Error::MethodError(name, desc, _) => {
                CliError::from_dbus_name(name.as_str(), desc.as_deref())
            }
            zbus::Error::FDO(f) => CliError::from_dbus_name(f.name().as_str(), f.description()),
            zbus::Error::DBus(d) => CliError::from_dbus_name(d.name().as_str(), d.description()),
            zbus::Error::Connection(io, addr) => CliError::new(
                Kind::DaemonAbsent,
                format!(
                    "cannot connect to the system bus at {addr}: {io} (is dbus running?); \
                     {START_HINT}"
                ),
            ),
            zbus::Error::InputOutput(io) => CliError::new(
                Kind::DaemonAbsent,
                format!(
                    "cannot talk to the system bus ({}): {io} (is dbus running?); {START_HINT}",
                    system_bus_address()
                ),
            ),
            zbus::Error::Address(a) => CliError::new(
                Kind::DaemonAbsent,
                format!("bad system bus address {}: {a}", system_bus_address()),
            ),
            _ => CliError::failed(format!("D-Bus: {e}")),
        }
    }
}

impl From<zbus::fdo::Error> for CliError {
    fn from(e: zbus::fdo::Error) -> Self {
        use zbus::DBusError as _;
        match e {
            zbus::fdo::Error::ZBus(z) => CliError::from(z),
            other => CliError::from_dbus_name(other.name().as_str(), other.description()),
        }
    }
}

/// The system bus address the CLI is going to use, for messages.
pub fn system_bus_address() -> String {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .unwrap_or_else(|_| "unix:path=/var/run/dbus/system_bus_socket".into())
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use mptcp_policy_dbus::Error as E;

    #[test]
    fn every_daemon_error_maps_to_its_exit_code_and_keeps_the_text() {
        let cases = [
            (
                E::NotAuthorized("polkit said no".into()),
                4,
                "NotAuthorized",
            ),
            (
                E::InvalidPolicy("3:7: unknown key".into()),
                5,
                "InvalidPolicy",
            ),
            (
                E::UnknownInterface("no wlan9".into()),
                5,
                "UnknownInterface",
            ),
            (E::InvalidArgument("bad role".into()), 5, "InvalidArgument"),
            (
                E::Kernel("MPTCP_PM_CMD_SET_FLAGS: EINVAL".into()),
                6,
                "Kernel",
            ),
        ];
        for (err, code, name) in cases {
            let text = match &err {
                E::NotAuthorized(m)
                | E::InvalidPolicy(m)
                | E::UnknownInterface(m)
                | E::InvalidArgument(m)
                | E::Kernel(m) => m.clone(),
                E::ZBus(_) => unreachable!(),
            };
            let c = CliError::from(err);
            assert_eq!(c.exit_code(), code, "{name}");
            assert_eq!(c.kind.name(), name);
            assert!(c.human().contains(&text), "{}", c.human());
            assert_eq!(
                c.dbus_name.as_deref(),
                Some(format!("org.mptcp.Policy1.Error.{name}").as_str())
            );
            let j = c.json();
            assert_eq!(j["error"], name);
            assert_eq!(j["message"], text.as_str());
            assert_eq!(j["exit_code"], code);
        }
        let c = CliError::from(E::NotAuthorized("denied by polkit".into()));
        assert_eq!(c.human(), "not authorized: denied by polkit");
    }

    #[test]
    fn bus_errors_map_to_daemon_absent_with_a_start_hint() {
        for e in [
            zbus::fdo::Error::ServiceUnknown("The name is not activatable".into()),
            zbus::fdo::Error::NameHasNoOwner("no owner".into()),
        ] {
            let c = CliError::from(zbus::Error::FDO(Box::new(e)));
            assert_eq!(c.exit_code(), 3);
            assert!(c.message.contains("systemctl start mptcp-policyd"));
            assert!(c.message.contains("mptcp-policyd"));
        }
        // As the contract's error type hands them over.
        let c = CliError::from(E::ZBus(zbus::Error::FDO(Box::new(
            zbus::fdo::Error::ServiceUnknown("gone".into()),
        ))));
        assert_eq!(c.exit_code(), 3);
        assert!(c.message.contains("gone"));

        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let c = CliError::from(zbus::Error::InputOutput(io.into()));
        assert_eq!(c.exit_code(), 3);

        let c = CliError::from_dbus_name("org.freedesktop.DBus.Error.Spawn.ChildExited", None);
        assert_eq!(c.exit_code(), 3);
    }

    #[test]
    fn other_errors_are_generic_failures_or_denials() {
        let c = CliError::from(zbus::Error::FDO(Box::new(zbus::fdo::Error::AccessDenied(
            "bus policy".into(),
        ))));
        assert_eq!(c.exit_code(), 4);
        let c = CliError::from(zbus::Error::FDO(Box::new(zbus::fdo::Error::NoReply(
            "timeout".into(),
        ))));
        assert_eq!(c.exit_code(), 1);
        assert!(c.message.contains("timeout"));
        let c = CliError::from_dbus_name("org.example.Weird", Some("huh"));
        assert_eq!(c.exit_code(), 1);
        assert!(c.message.contains("org.example.Weird: huh"));
        assert_eq!(CliError::invalid("x").exit_code(), 5);
        assert_eq!(EXIT_OK, 0);
        assert_eq!(EXIT_USAGE, 2);
    }

    #[test]
    fn exit_code_table_lists_every_code() {
        for k in [
            Kind::Failed,
            Kind::DaemonAbsent,
            Kind::NotAuthorized,
            Kind::InvalidPolicy,
            Kind::Kernel,
        ] {
            assert!(EXIT_CODES_HELP.contains(&format!("  {}  ", k.exit_code())));
        }
    }
}
