//! The connection to the daemon: the contract's proxies on the system bus.

use std::collections::HashMap;

use mptcp_policy_dbus::names::{BUS_NAME, MANAGER_INTERFACE, MANAGER_PATH};
use mptcp_policy_dbus::{Calls, ManagerProxy};
use zbus::proxy::CacheProperties;
use zbus::wire::OwnedVariant;

use crate::error::Result;

/// A connection to the system bus and the manager's typed calls.
pub struct Client {
    pub conn: zbus::Connection,
    /// Every manager method, carrying the interactive-authorization flag
    /// unless `--no-ask`; errors come back as the contract's
    /// [`mptcp_policy_dbus::Error`] (`?` makes them [`CliError`]s).
    pub calls: Calls,
}

impl Client {
    /// Connects to the system bus (`DBUS_SYSTEM_BUS_ADDRESS` or the default
    /// socket). `ask`: allow polkit to ask the user interactively.
    pub async fn connect(ask: bool) -> Result<Self> {
        let conn = zbus::Connection::system().await?;
        let calls = Calls::connect(&conn, ask).await?;
        Ok(Client { conn, calls })
    }

    /// The manager's typed proxy, for properties.
    pub fn manager(&self) -> &ManagerProxy<'static> {
        self.calls.proxy()
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
