//! Typed calls of the manager's methods that carry the
//! interactive-authorization flag: a client says once whether polkit may
//! ask the user (`interactive`), every call sends it. zbus's generated
//! proxy methods cannot set message flags per client, so the calls go
//! through `call_with_flags` here, with the method names spelled once, in
//! [`METHODS`] (a test compares it with the XML). No other I/O.

use std::collections::HashMap;

use zbus::proxy::{CacheProperties, MethodFlags};

use crate::error::Error;
use crate::proxy::ManagerProxy;

macro_rules! methods {
    ($($konst:ident = $name:literal ($in:literal) -> $out:literal;)+) => {
        $(const $konst: &str = $name;)+
        /// `(name, in signature, out signature)` of every manager method.
        pub const METHODS: &[(&str, &str, &str)] = &[$(($name, $in, $out),)+];
    };
}

methods! {
    GET_POLICY = "GetPolicy" ("") -> "s";
    VALIDATE_POLICY = "ValidatePolicy" ("s") -> "as";
    SET_POLICY = "SetPolicy" ("s") -> "";
    SET_INTERFACE_ROLE = "SetInterfaceRole" ("ss") -> "";
    SET_METERED = "SetMetered" ("sb") -> "";
    SET_BUDGET = "SetBudget" ("sts") -> "";
    RESET_USAGE = "ResetUsage" ("s") -> "";
    REVERT_INTERFACE = "RevertInterface" ("ss") -> "";
    RESET_POLICY = "ResetPolicy" ("") -> "";
    RELOAD = "Reload" ("") -> "";
    ENABLE_CGROUP = "EnableCgroup" ("s") -> "";
    DISABLE_CGROUP = "DisableCgroup" ("s") -> "";
    NOTIFY_NETWORK_MANAGER = "NotifyNetworkManager" ("ssa{ss}") -> "s";
}

/// The manager's methods for one client.
#[derive(Clone)]
pub struct Calls {
    proxy: ManagerProxy<'static>,
    flags: MethodFlags,
}

impl Calls {
    /// A manager proxy on `conn` (no property cache: clients read fresh
    /// values). `interactive`: polkit may ask the user for a password.
    pub async fn connect(conn: &zbus::Connection, interactive: bool) -> zbus::Result<Calls> {
        let proxy = ManagerProxy::builder(conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        let flags = if interactive {
            MethodFlags::ALLOW_INTERACTIVE_AUTH
        } else {
            MethodFlags::empty()
        };
        Ok(Calls { proxy, flags })
    }

    /// The typed proxy, for properties.
    pub fn proxy(&self) -> &ManagerProxy<'static> {
        &self.proxy
    }

    async fn call<B, R>(&self, method: &'static str, body: &B) -> Result<R, Error>
    where
        B: serde::Serialize + zbus::wire::DynamicType,
        R: for<'d> zbus::wire::DynamicDeserialize<'d>,
    {
        match self
            .proxy
            .inner()
            .call_with_flags(method, self.flags, body)
            .await
        {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(Error::ZBus(zbus::Error::Failure(format!(
                "no reply to {method}"
            )))),
            Err(e) => Err(Error::from(e)),
        }
    }

    pub async fn get_policy(&self) -> Result<String, Error> {
        self.call(GET_POLICY, &()).await
    }
    pub async fn validate_policy(&self, toml: &str) -> Result<Vec<String>, Error> {
        self.call(VALIDATE_POLICY, &(toml,)).await
    }
    pub async fn set_policy(&self, toml: &str) -> Result<(), Error> {
        self.call(SET_POLICY, &(toml,)).await
    }
    pub async fn set_interface_role(&self, interface: &str, role: &str) -> Result<(), Error> {
        self.call(SET_INTERFACE_ROLE, &(interface, role)).await
    }
    pub async fn set_metered(&self, interface: &str, metered: bool) -> Result<(), Error> {
        self.call(SET_METERED, &(interface, metered)).await
    }
    pub async fn set_budget(&self, interface: &str, bytes: u64, period: &str) -> Result<(), Error> {
        self.call(SET_BUDGET, &(interface, bytes, period)).await
    }
    pub async fn reset_usage(&self, interface: &str) -> Result<(), Error> {
        self.call(RESET_USAGE, &(interface,)).await
    }
    /// `setting`: "role", "metered" or "budget".
    pub async fn revert_interface(&self, interface: &str, setting: &str) -> Result<(), Error> {
        self.call(REVERT_INTERFACE, &(interface, setting)).await
    }
    pub async fn reset_policy(&self) -> Result<(), Error> {
        self.call(RESET_POLICY, &()).await
    }
    pub async fn reload(&self) -> Result<(), Error> {
        self.call(RELOAD, &()).await
    }
    pub async fn enable_cgroup(&self, path: &str) -> Result<(), Error> {
        self.call(ENABLE_CGROUP, &(path,)).await
    }
    pub async fn disable_cgroup(&self, path: &str) -> Result<(), Error> {
        self.call(DISABLE_CGROUP, &(path,)).await
    }
    /// One NetworkManager dispatcher event; returns what the daemon did.
    pub async fn notify_network_manager(
        &self,
        interface: &str,
        action: &str,
        hints: &HashMap<String, String>,
    ) -> Result<String, Error> {
        self.call(NOTIFY_NETWORK_MANAGER, &(interface, action, hints))
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_methods_are_the_xml() {
        let members = crate::members(crate::introspection_xml()).expect("xml");
        let mut from_xml: Vec<(String, String, String)> = members[crate::names::MANAGER_INTERFACE]
            .iter()
            .filter_map(|l| l.strip_prefix("method "))
            .map(|l| {
                let (name, args) = l.split_once('(').expect("(");
                let (mut ins, mut outs) = (String::new(), String::new());
                for a in args.strip_suffix(')').expect(")").split(',') {
                    let parts: Vec<&str> = a.split(':').collect();
                    match parts.as_slice() {
                        [_, ty, "in"] => ins.push_str(ty),
                        [_, ty, "out"] => outs.push_str(ty),
                        _ => {}
                    }
                }
                (name.to_string(), ins, outs)
            })
            .collect();
        from_xml.sort();
        let mut table: Vec<(String, String, String)> = super::METHODS
            .iter()
            .map(|(n, i, o)| (n.to_string(), i.to_string(), o.to_string()))
            .collect();
        table.sort();
        assert_eq!(table, from_xml);
    }
}
