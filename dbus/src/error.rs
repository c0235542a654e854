//! The daemon's D-Bus errors, `org.mptcp.Policy1.Error.<Variant>`, each with
//! a human message, and the one map between their names and what they
//! mean ([`ErrorKind`]). Clients get them back as [`Error`] from the typed
//! calls and decide on the kind (exit codes, wording); none of them spells
//! an error name itself.

use crate::names::ERROR_PREFIX;

/// Errors of `org.mptcp.Policy1`.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.mptcp.Policy1.Error")]
pub enum Error {
    /// Transport or protocol error (not from the daemon's logic).
    #[zbus(error)]
    ZBus(zbus::Error),
    /// polkit said no (or could not be asked); nothing was changed.
    NotAuthorized(String),
    /// The policy text does not parse or validate; the message lists
    /// `line:column: problem` for each error.
    InvalidPolicy(String),
    /// No interface of that name exists (and it is not a type name).
    UnknownInterface(String),
    /// An argument is out of range or malformed.
    InvalidArgument(String),
    /// The kernel refused a command; the message names the command.
    Kernel(String),
}

/// Which of the daemon's errors, without its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NotAuthorized,
    InvalidPolicy,
    UnknownInterface,
    InvalidArgument,
    Kernel,
}

impl ErrorKind {
    /// Every kind, in the order of [`Error`]'s variants.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::NotAuthorized,
        ErrorKind::InvalidPolicy,
        ErrorKind::UnknownInterface,
        ErrorKind::InvalidArgument,
        ErrorKind::Kernel,
    ];

    /// The name after the prefix: `NotAuthorized`, ...
    pub fn short_name(self) -> &'static str {
        match self {
            ErrorKind::NotAuthorized => "NotAuthorized",
            ErrorKind::InvalidPolicy => "InvalidPolicy",
            ErrorKind::UnknownInterface => "UnknownInterface",
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::Kernel => "Kernel",
        }
    }

    /// The full D-Bus error name, `org.mptcp.Policy1.Error.<short name>`.
    pub fn dbus_name(self) -> String {
        format!("{ERROR_PREFIX}.{}", self.short_name())
    }

    /// The kind of a full D-Bus error name; `None` for names that are not
    /// the daemon's (bus errors, or a newer daemon's).
    pub fn from_dbus_name(name: &str) -> Option<ErrorKind> {
        let short = name.strip_prefix(ERROR_PREFIX)?.strip_prefix('.')?;
        Self::ALL.into_iter().find(|k| k.short_name() == short)
    }
}

impl Error {
    /// A daemon error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        let m = message.into();
        match kind {
            ErrorKind::NotAuthorized => Error::NotAuthorized(m),
            ErrorKind::InvalidPolicy => Error::InvalidPolicy(m),
            ErrorKind::UnknownInterface => Error::UnknownInterface(m),
            ErrorKind::InvalidArgument => Error::InvalidArgument(m),
            ErrorKind::Kernel => Error::Kernel(m),
        }
    }

    /// The kind and message of an error from the daemon's logic; `None` for
    /// transport errors ([`Error::ZBus`]).
    pub fn daemon(&self) -> Option<(ErrorKind, &str)> {
        match self {
            Error::ZBus(_) => None,
            Error::NotAuthorized(m) => Some((ErrorKind::NotAuthorized, m)),
            Error::InvalidPolicy(m) => Some((ErrorKind::InvalidPolicy, m)),
            Error::UnknownInterface(m) => Some((ErrorKind::UnknownInterface, m)),
            Error::InvalidArgument(m) => Some((ErrorKind::InvalidArgument, m)),
            Error::Kernel(m) => Some((ErrorKind::Kernel, m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::DBusError as _;

    #[test]
    fn the_map_agrees_with_the_derived_names_and_the_xml() {
        let xml = crate::introspection_xml();
        for kind in ErrorKind::ALL {
            let e = Error::new(kind, "why");
            assert_eq!(e.name().as_str(), kind.dbus_name(), "{kind:?}");
            assert_eq!(e.description(), Some("why"));
            assert_eq!(e.daemon(), Some((kind, "why")));
            assert_eq!(ErrorKind::from_dbus_name(&kind.dbus_name()), Some(kind));
            assert!(
                xml.contains(&kind.dbus_name()) || xml.contains(&format!(".{}", kind.short_name())),
                "{kind:?} undocumented in the XML"
            );
        }
        assert_eq!(
            ErrorKind::from_dbus_name("org.mptcp.Policy1.Error.Nope"),
            None
        );
        assert_eq!(
            ErrorKind::from_dbus_name("org.freedesktop.DBus.Error.AccessDenied"),
            None
        );
        assert_eq!(
            ErrorKind::from_dbus_name("org.mptcp.Policy1.ErrorKernel"),
            None
        );
        assert!(Error::ZBus(zbus::Error::InvalidReply).daemon().is_none());
    }
}
