//! The one place where engine errors become D-Bus errors.

use mptcp_policy_dbus::Error;

use crate::control::CommandError;

pub fn to_dbus(e: CommandError) -> Error {
    match e {
        CommandError::InvalidPolicy(m) => Error::InvalidPolicy(m),
        CommandError::UnknownInterface(m) => Error::UnknownInterface(m),
        CommandError::InvalidArgument(m) => Error::InvalidArgument(m),
        CommandError::Kernel(m) => Error::Kernel(m),
        CommandError::Failed(m) => Error::ZBus(zbus::Error::Failure(m)),
    }
}
