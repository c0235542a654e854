//! The engine's answers to requests from the D-Bus adapter. A change is
//! made on a copy of the D-Bus layer, merged with the files and checked,
//! saved atomically, then applied: the kernel reflects it when the reply is
//! sent. Anything refused leaves policy, kernel and state untouched.

use std::str::FromStr;

use mptcp_policy::{InterfaceEdit, InterfaceType, Period, Policy, Role, Setting};

use super::{layer, Engine};
use crate::control::{Command, CommandError};

/// Longest interface name the kernel allows (IFNAMSIZ - 1).
const MAX_IFNAME: usize = 15;

impl Engine {
    pub(super) async fn on_command(&mut self, command: Command) {
        match command {
            Command::GetPolicy { reply } => {
                let _ = reply.send(Ok(self.policy.to_toml()));
            }
            Command::ValidatePolicy { text, reply } => {
                let errors = match Policy::parse("policy", &text) {
                    Ok(_) => Vec::new(),
                    Err(errors) => errors.iter().map(|e| e.short()).collect(),
                };
                let _ = reply.send(Ok(errors));
            }
            Command::SetPolicy { text, by, reply } => {
                let r = match Policy::parse("policy", &text) {
                    Ok(layer) => self.apply_layer(layer, "D-Bus SetPolicy", by).await,
                    Err(errors) => Err(CommandError::InvalidPolicy(
                        errors
                            .iter()
                            .map(|e| e.short())
                            .collect::<Vec<_>>()
                            .join("\n"),
                    )),
                };
                self.answer(reply, r);
            }
            Command::SetRole {
                target,
                role,
                by,
                reply,
            } => {
                let r = self.set_role(&target, &role, by).await;
                self.answer(reply, r);
            }
            Command::SetMetered {
                interface,
                metered,
                by,
                reply,
            } => {
                let r = self
                    .edit_interface(
                        &interface,
                        &format!("D-Bus SetMetered {interface} {metered}"),
                        by,
                        InterfaceEdit::Metered(metered),
                    )
                    .await;
                self.answer(reply, r);
            }
            Command::SetBudget {
                interface,
                bytes,
                period,
                by,
                reply,
            } => {
                let r = self.set_budget(&interface, bytes, &period, by).await;
                self.answer(reply, r);
            }
            Command::RevertInterface {
                target,
                setting,
                by,
                reply,
            } => {
                let r = match Setting::from_str(&setting) {
                    Ok(setting) => self.revert(&target, setting, by).await,
                    Err(e) => Err(CommandError::InvalidArgument(e)),
                };
                self.answer(reply, r);
            }
            Command::ResetPolicy { by, reply } => {
                let r = self
                    .apply_layer(Policy::default(), "D-Bus ResetPolicy", by)
                    .await;
                self.answer(reply, r);
            }
            Command::ResetUsage { interface, reply } => {
                let r = self.reset_usage(&interface).await;
                self.answer(reply, r);
            }
            Command::NotifyNetworkManager {
                interface,
                action,
                hints,
                reply,
            } => {
                let r = self.on_notify_nm(&interface, &action, &hints).await;
                self.answer(reply, r);
            }
            Command::EnableCgroup { path, reply } => {
                let r = self.apps.enable(&path);
                self.publish();
                self.answer(reply, r);
            }
            Command::DisableCgroup { path, reply } => {
                let r = self.apps.disable(&path);
                self.publish();
                self.answer(reply, r);
            }
            Command::Reload { reply } => {
                let r = match self.reload().await {
                    Ok(outcome) => kernel_result(outcome.errors),
                    Err(e) => Err(CommandError::InvalidPolicy(e.to_string())),
                };
                self.answer(reply, r);
            }
        }
    }

    /// Merges `layer` over the files, saves it (with who changed which
    /// entry), applies it.
    pub(super) async fn apply_layer(
        &mut self,
        layer: Policy,
        why: &str,
        by: Option<u32>,
    ) -> Result<(), CommandError> {
        let source = layer::source(&self.state, &layer);
        let mut policy = self
            .layers
            .files
            .merge(source.as_ref())
            .map_err(|e| CommandError::InvalidPolicy(e.to_string()))?;
        let changes = layer::changes_after(
            &self.layers.dbus,
            &layer,
            &self.layers.changes,
            &layer::SetBy::now(by),
        );
        if self.layers.persist {
            self.save_layer(source.as_ref(), &changes)?;
        }
        layer::annotate(&mut policy, &self.state, &changes);
        self.layers.changes = changes;
        self.layers.dbus = layer;
        self.policy = policy;
        tracing::info!("{why}: policy changed");
        let outcome = self.reconcile(why, None).await;
        self.policy_changed();
        kernel_result(outcome.errors)
    }

    /// The layer file (removed when the layer is empty), then the record of
    /// who changed what. A failure leaves the old layer file in place.
    fn save_layer(
        &self,
        source: Option<&mptcp_policy::PolicySource>,
        changes: &layer::Changes,
    ) -> Result<(), CommandError> {
        let path = self.state.dbus_layer_path();
        let saved = match source {
            Some(source) => self.state.save_dbus_layer(&source.text),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        };
        saved.map_err(|e| {
            CommandError::Failed(format!(
                "cannot save {}: {e}; nothing changed",
                path.display()
            ))
        })?;
        if let Err(e) = layer::save_changes(&self.state, changes) {
            tracing::warn!("cannot record who changed the D-Bus layer: {e}");
        }
        Ok(())
    }

    async fn set_role(
        &mut self,
        target: &str,
        role: &str,
        by: Option<u32>,
    ) -> Result<(), CommandError> {
        if role == "default" {
            return self.revert(target, Setting::Role, by).await;
        }
        let role = Role::from_str(role).map_err(|_| {
            CommandError::InvalidArgument(format!(
                "unknown role {role:?}: expected preferred, backup, off or default"
            ))
        })?;
        let why = format!("D-Bus SetInterfaceRole {target} {role}");
        if self.table.by_name(target).is_none() {
            if let Ok(kind) = InterfaceType::from_str(target) {
                let layer = self.layers.dbus.with_type_role(kind, role);
                return self.apply_layer(layer, &why, by).await;
            }
        }
        self.edit_interface(target, &why, by, InterfaceEdit::Role(role))
            .await
    }

    async fn set_budget(
        &mut self,
        interface: &str,
        bytes: u64,
        period: &str,
        by: Option<u32>,
    ) -> Result<(), CommandError> {
        let period = Period::from_str(period).map_err(|_| {
            CommandError::InvalidArgument(format!(
                "unknown period {period:?}: expected daily, weekly or monthly"
            ))
        })?;
        let why = format!("D-Bus SetBudget {interface} {bytes} {period}");
        self.edit_interface(interface, &why, by, InterfaceEdit::Budget { bytes, period })
            .await
    }

    async fn reset_usage(&mut self, interface: &str) -> Result<(), CommandError> {
        self.known_interface(interface)?;
        let before = self.counting.usage.bytes(interface);
        self.counting.usage.reset(interface);
        self.state
            .save_usage(&self.counting.usage)
            .map_err(|e| CommandError::Failed(format!("cannot save the usage: {e}")))?;
        tracing::info!(
            "D-Bus ResetUsage {interface}: {before} bytes counted, counting starts again from zero"
        );
        // A demotion for a spent budget ends at once.
        self.reconcile(&format!("D-Bus ResetUsage {interface}"), None)
            .await;
        Ok(())
    }

    /// Edits (creating it from the entry now in force) the D-Bus layer's
    /// entry for one interface by name.
    async fn edit_interface(
        &mut self,
        name: &str,
        why: &str,
        by: Option<u32>,
        edit: InterfaceEdit,
    ) -> Result<(), CommandError> {
        let index = self.known_interface(name)?;
        let in_force = self.matched_rule(index).cloned();
        let layer = self
            .layers
            .dbus
            .with_interface_edit(name, in_force.as_ref(), &edit);
        self.apply_layer(layer, why, by).await
    }

    /// The index of an existing interface, or a clear error.
    pub(super) fn known_interface(&self, name: &str) -> Result<u32, CommandError> {
        if name.is_empty()
            || name.len() > MAX_IFNAME
            || name.contains(['/', ' ', '\t', '\n', '*', '?', '['])
        {
            return Err(CommandError::InvalidArgument(format!(
                "{name:?} is not an interface name (1-{MAX_IFNAME} characters, no '/', blanks or glob characters)"
            )));
        }
        self.table.by_name(name).map(|l| l.index).ok_or_else(|| {
            CommandError::UnknownInterface(format!(
                "no interface {name:?}; known: {}; types: {}",
                self.table.names().join(", "),
                InterfaceType::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}

pub(super) fn kernel_result(errors: Vec<String>) -> Result<(), CommandError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CommandError::Kernel(format!(
            "the policy was saved but the kernel refused: {}",
            errors.join("; ")
        )))
    }
}
