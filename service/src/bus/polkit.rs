//! Authorization of the caller with polkit: subject = the caller's unique
//! bus name from the message header (never the daemon's own PID);
//! interaction only when the caller allowed it. Any failure to ask polkit is
//! a denial.

use std::collections::HashMap;

use mptcp_policy_dbus::Error;
use zbus::message::{Flags, Header};
use zbus_polkit::policykit1::{AuthorityProxy, CheckAuthorizationFlags, Subject};

/// Checks `action` for the sender of the message with `header`.
pub async fn authorize(
    authority: &AuthorityProxy<'static>,
    header: &Header<'_>,
    action: &str,
) -> Result<(), Error> {
    let subject = Subject::new_for_message_header(header)
        .map_err(|e| Error::NotAuthorized(format!("cannot identify the caller for polkit: {e}")))?;
    let flags = if header
        .primary()
        .flags()
        .contains(Flags::ALLOW_INTERACTIVE_AUTH)
    {
        CheckAuthorizationFlags::ALLOW_USER_INTERACTION
    } else {
        CheckAuthorizationFlags::empty()
    };
    let caller = header.sender().map(|s| s.to_string()).unwrap_or_default();
    let result = authority
        .check_authorization(&subject, action, &HashMap::new(), flags, "")
        .await
        .map_err(|e| {
            Error::NotAuthorized(format!("polkit could not be asked about {action}: {e}"))
        })?;
    if result.is_authorized {
        tracing::info!("polkit: {caller} is authorized for {action}");
        Ok(())
    } else {
        let how = if result.is_challenge {
            "authentication is required and no agent answered"
        } else {
            "denied"
        };
        tracing::warn!("polkit: {caller} is not authorized for {action} ({how})");
        Err(Error::NotAuthorized(format!(
            "{action}: {how}; ask an administrator or see /usr/share/doc/mptcp-policyd/50-mptcp-policy.rules.example"
        )))
    }
}

/// The caller's uid as the bus daemon knows it (recorded with a change, so
/// `RoleReason` can say who made it); None when the bus cannot say.
pub async fn caller_uid(conn: &zbus::Connection, header: &Header<'_>) -> Option<u32> {
    let sender = header.sender()?.to_owned();
    let dbus = zbus::fdo::DBusProxy::new(conn).await.ok()?;
    match dbus
        .get_connection_unix_user(zbus::names::BusName::Unique(sender))
        .await
    {
        Ok(uid) => Some(uid),
        Err(e) => {
            tracing::warn!("cannot ask the bus for the caller's uid: {e}");
            None
        }
    }
}
