//! The connection to the daemon: the contract's proxies on the system bus.

use std::collections::HashMap;

use mptcp_policy_dbus::names::{BUS_NAME, MANAGER_INTERFACE, MANAGER_PATH};
use mptcp_policy_dbus::ManagerProxy;
use zbus::proxy::{CacheProperties, MethodFlags};
use zbus::wire::OwnedVariant;

use crate::error::{CliError, Result};

/// Method names of `org.mptcp.Policy1`, as in `mptcp_policy_dbus::proxy::Manager`.
/// They are spelled out because mutating calls go through
/// `Proxy::call_with_flags` (to set ALLOW_INTERACTIVE_AUTH), which takes the
/// member name; the typed methods cannot set message flags.
pub mod method {
    pub const GET_POLICY: &str = "GetPolicy";
    pub const VALIDATE_POLICY: &str = "ValidatePolicy";
    pub const SET_POLICY: &str = "SetPolicy";
    pub const SET_INTERFACE_ROLE: &str = "SetInterfaceRole";
    pub const SET_METERED: &str = "SetMetered";
    pub const SET_BUDGET: &str = "SetBudget";
    pub const RESET_USAGE: &str = "ResetUsage";
    pub const REVERT_INTERFACE: &str = "RevertInterface";
    pub const RESET_POLICY: &str = "ResetPolicy";
    pub const RELOAD: &str = "Reload";
    pub const ENABLE_CGROUP: &str = "EnableCgroup";
    pub const DISABLE_CGROUP: &str = "DisableCgroup";
    pub const NOTIFY_NETWORK_MANAGER: &str = "NotifyNetworkManager";
}

/// A connection to the system bus and a manager proxy.
pub struct Client {
    pub conn: zbus::Connection,
    pub manager: ManagerProxy<'static>,
    flags: MethodFlags,
}

impl Client {
    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` or the default
    /// socket). `ask`: allow polkit to ask the user interactively.
    pub async fn connect(ask: bool) -> Result<Self> {
        let conn = zbus::Connection::system().await?;
        let manager = ManagerProxy::builder(&conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        let flags = if ask {
            MethodFlags::ALLOW_INTERACTIVE_AUTH
        } else {
            MethodFlags::empty()
        };
        Ok(Client {
            conn,
            manager,
            flags,
        })
    }

    /// Calls a manager method with the CLI's flags; errors are decoded
    /// through the contract's [`mptcp_policy_dbus::Error`].
    pub async fn call<B, R>(&self, method: &str, body: &B) -> Result<R>
    where
        B: serde::Serialize + zbus::wire::DynamicType,
        R: for<'d> zbus::wire::DynamicDeserialize<'d>,
    {
        match self
            .manager
            .inner()
            .call_with_flags(method, self.flags, body)
            .await
        {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(CliError::failed(format!("no reply to {method}"))),
            Err(e) => Err(CliError::from(mptcp_policy_dbus::Error::from(e))),
        }
    }

    /// All properties of the manager (one `GetAll`).
    pub async fn manager_properties(&self) -> Result<HashMap<String, OwnedVariant>> {
        let props = zbus::fdo::PropertiesProxy::builder(&self.conn)
            .destination(BUS_NAME)
            .path(MANAGER_PATH)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        let iface = zbus::names::InterfaceName::try_from(MANAGER_INTERFACE)?;
        Ok(props.get_all(iface).await?)
    }

    /// Every child object (interfaces and connections) in one call.
    pub async fn managed_objects(&self) -> Result<zbus::fdo::ManagedObjects> {
        let om = zbus::fdo::ObjectManagerProxy::builder(&self.conn)
            .destination(BUS_NAME)
            .path(MANAGER_PATH)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        Ok(om.get_managed_objects().await?)
    }
}
