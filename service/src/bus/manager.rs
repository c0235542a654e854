//! The manager object `/org/mptcp/Policy1` (interface `org.mptcp.Policy1`).
//! A thin adapter: authorize → ask the engine → map the error. Properties
//! are the last published [`ManagerView`].

use mptcp_policy_dbus::names::{ACTION_CONFIGURE, ACTION_SET_ROLE};
use mptcp_policy_dbus::{Error, SubflowInfo};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus_polkit::policykit1::AuthorityProxy;

use super::errors::to_dbus;
use super::polkit::{authorize, caller_uid};
use crate::control::{Command, EngineHandle};
use crate::views::ManagerView;

/// Largest policy text accepted over the bus: more is certainly not a policy.
const MAX_POLICY_BYTES: usize = 256 * 1024;

pub struct Manager {
    pub engine: EngineHandle,
    pub authority: AuthorityProxy<'static>,
    /// The published view. A watch channel, not a field replaced through
    /// the object server: a method call holds the interface while it waits
    /// for the engine, and the engine publishes before it answers — taking
    /// the interface for writing then would deadlock.
    pub view: tokio::sync::watch::Receiver<ManagerView>,
}

fn check_size(text: &str) -> Result<(), Error> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(Error::InvalidPolicy(format!(
            "policy text of {} bytes refused: at most {MAX_POLICY_BYTES} bytes",
            text.len()
        )));
    }
    Ok(())
}

#[zbus::interface(name = "org.mptcp.Policy1")]
impl Manager {
    /// The effective policy (all layers merged) as TOML.
    #[zbus(out_args("toml"))]
    async fn get_policy(&self) -> Result<String, Error> {
        self.engine
            .ask(|reply| Command::GetPolicy { reply })
            .await
            .map_err(to_dbus)
    }

    /// `line:column: message` for each problem of `toml`; empty when valid.
    #[zbus(out_args("errors"))]
    async fn validate_policy(&self, toml: String) -> Result<Vec<String>, Error> {
        check_size(&toml)?;
        self.engine
            .ask(|reply| Command::ValidatePolicy { text: toml, reply })
            .await
            .map_err(to_dbus)
    }

    /// Replaces the D-Bus policy layer with `toml` and applies it.
    async fn set_policy(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        toml: String,
    ) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        check_size(&toml)?;
        let by = caller_uid(conn, &header).await;
        self.engine
            .ask(|reply| Command::SetPolicy {
                text: toml,
                by,
                reply,
            })
            .await
            .map_err(to_dbus)
    }

    /// Role of an interface (by name) or of every interface of a type;
    /// `default` takes a role set over D-Bus back.
    async fn set_interface_role(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        interface: String,
        role: String,
    ) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_SET_ROLE).await?;
        let by = caller_uid(conn, &header).await;
        self.engine
            .ask(|reply| Command::SetRole {
                target: interface,
                role,
                by,
                reply,
            })
            .await
            .map_err(to_dbus)
    }

    async fn set_metered(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        interface: String,
        metered: bool,
    ) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        let by = caller_uid(conn, &header).await;
        self.engine
            .ask(|reply| Command::SetMetered {
                interface,
                metered,
                by,
                reply,
            })
            .await
            .map_err(to_dbus)
    }

    async fn set_budget(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        interface: String,
        bytes: u64,
        period: String,
    ) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        let by = caller_uid(conn, &header).await;
        self.engine
            .ask(|reply| Command::SetBudget {
                interface,
                bytes,
                period,
                by,
                reply,
            })
            .await
            .map_err(to_dbus)
    }

    /// One setting (`role`, `metered`, `budget`, `all`) of an interface
    /// back to what the files say. `role` needs the set-role action like
    /// `SetInterfaceRole`, the others configure.
    async fn revert_interface(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        interface: String,
        setting: String,
    ) -> Result<(), Error> {
        let action = if setting == "role" {
            ACTION_SET_ROLE
        } else {
            ACTION_CONFIGURE
        };
        authorize(&self.authority, &header, action).await?;
        let by = caller_uid(conn, &header).await;
        self.engine
            .ask(|reply| Command::RevertInterface {
                target: interface,
                setting,
                by,
                reply,
            })
            .await
            .map_err(to_dbus)
    }

    /// Drops every change made over D-Bus: the files decide again.
    async fn reset_policy(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        let by = caller_uid(conn, &header).await;
        self.engine
            .ask(|reply| Command::ResetPolicy { by, reply })
            .await
            .map_err(to_dbus)
    }

    async fn reset_usage(
        &self,
        #[zbus(header)] header: Header<'_>,
        interface: String,
    ) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        self.engine
            .ask(|reply| Command::ResetUsage { interface, reply })
            .await
            .map_err(to_dbus)
    }

    async fn reload(&self, #[zbus(header)] header: Header<'_>) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        self.engine
            .ask(|reply| Command::Reload { reply })
            .await
            .map_err(to_dbus)
    }

    /// Puts the processes of cgroup `path` on MPTCP through the BPF hook.
    async fn enable_cgroup(
        &self,
        #[zbus(header)] header: Header<'_>,
        path: String,
    ) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        self.engine
            .ask(|reply| Command::EnableCgroup { path, reply })
            .await
            .map_err(to_dbus)
    }

    /// Takes cgroup `path` off the BPF hook again.
    async fn disable_cgroup(
        &self,
        #[zbus(header)] header: Header<'_>,
        path: String,
    ) -> Result<(), Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        self.engine
            .ask(|reply| Command::DisableCgroup { path, reply })
            .await
            .map_err(to_dbus)
    }

    #[zbus(property)]
    fn bpf_status(&self) -> String {
        self.view.borrow().bpf_status.clone()
    }

    #[zbus(property)]
    fn enabled_cgroups(&self) -> Vec<(String, u64)> {
        self.view.borrow().enabled_cgroups.clone()
    }

    /// One NetworkManager dispatcher event (the hook's entry point).
    #[zbus(out_args("outcome"))]
    async fn notify_network_manager(
        &self,
        #[zbus(header)] header: Header<'_>,
        interface: String,
        action: String,
        hints: std::collections::HashMap<String, String>,
    ) -> Result<String, Error> {
        authorize(&self.authority, &header, ACTION_CONFIGURE).await?;
        self.engine
            .ask(|reply| Command::NotifyNetworkManager {
                interface,
                action,
                hints,
                reply,
            })
            .await
            .map_err(to_dbus)
    }

    #[zbus(property)]
    fn path_manager(&self) -> String {
        self.view.borrow().path_manager.clone()
    }

    #[zbus(property(emits_changed_signal = "const"))]
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    #[zbus(property)]
    fn policy_summary(&self) -> String {
        self.view.borrow().policy_summary.clone()
    }

    #[zbus(property)]
    fn limits(&self) -> (u32, u32) {
        self.view.borrow().limits
    }

    #[zbus(property)]
    fn foreign_endpoints(&self) -> Vec<(u8, String, String, String)> {
        self.view.borrow().foreign_endpoints.clone()
    }

    #[zbus(signal)]
    pub async fn connection_created(
        e: &SignalEmitter<'_>,
        token: u32,
        local: &str,
        local_port: u16,
        remote: &str,
        remote_port: u16,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn connection_established(
        e: &SignalEmitter<'_>,
        token: u32,
        local: &str,
        local_port: u16,
        remote: &str,
        remote_port: u16,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn connection_closed(e: &SignalEmitter<'_>, token: u32) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn subflow_established(
        e: &SignalEmitter<'_>,
        token: u32,
        subflow: SubflowInfo,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn subflow_closed(
        e: &SignalEmitter<'_>,
        token: u32,
        subflow: SubflowInfo,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn subflow_priority(
        e: &SignalEmitter<'_>,
        token: u32,
        subflow: SubflowInfo,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn address_announced(
        e: &SignalEmitter<'_>,
        token: u32,
        id: u8,
        address: &str,
        port: u16,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn address_removed(e: &SignalEmitter<'_>, token: u32, id: u8) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn policy_changed(e: &SignalEmitter<'_>) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn health_changed(
        e: &SignalEmitter<'_>,
        interface: &str,
        health: &str,
        evidence: &str,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn budget_warning(
        e: &SignalEmitter<'_>,
        interface: &str,
        used: u64,
        budget: u64,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub async fn budget_exhausted(
        e: &SignalEmitter<'_>,
        interface: &str,
        used: u64,
        budget: u64,
    ) -> zbus::Result<()>;
}
