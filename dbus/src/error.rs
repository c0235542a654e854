//! The daemon's D-Bus errors, `org.mptcp.Policy1.Error.<Variant>`, each with
//! a human message. Clients get them back as this type from the proxies.

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

impl Error {
    /// The D-Bus error name without the prefix (`NotAuthorized`, ...), for
    /// exit codes and messages; `None` for transport errors.
    pub fn kind(&self) -> Option<&'static str> {
        match self {
            Error::ZBus(_) => None,
            Error::NotAuthorized(_) => Some("NotAuthorized"),
            Error::InvalidPolicy(_) => Some("InvalidPolicy"),
            Error::UnknownInterface(_) => Some("UnknownInterface"),
            Error::InvalidArgument(_) => Some("InvalidArgument"),
            Error::Kernel(_) => Some("Kernel"),
        }
    }
}
