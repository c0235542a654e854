//! `Policy::to_toml`: writes the effective policy back as a file that
//! parses to the same policy (for D-Bus `GetPolicy` and the D-Bus layer).
//! No I/O here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Budget, ConnectionRule, InterfaceRule, Limits, Policy};
use crate::size::format_size;
use crate::types::InterfaceType;

#[derive(Serialize)]
struct OutFile<'a> {
    general: OutGeneral,
    limits: Limits,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    interface_types: BTreeMap<&'a str, InterfaceType>,
    #[serde(rename = "interface", skip_serializing_if = "Vec::is_empty")]
    interfaces: Vec<OutInterface<'a>>,
    #[serde(rename = "rule", skip_serializing_if = "Vec::is_empty")]
    rules: Vec<OutRule>,
}

#[derive(Serialize)]
struct OutGeneral {
    path_manager: &'static str,
    announce: bool,
    on_exit: &'static str,
    fullmesh: bool,
}

#[derive(Serialize)]
struct OutInterface<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    role: &'static str,
    metered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    budget: Option<OutBudget<'a>>,
}

#[derive(Serialize)]
struct OutBudget<'a> {
    bytes: String,
    period: &'static str,
    reset_day: u8,
    warn_at: &'a [f64],
    when_exhausted: &'static str,
    daily_allowance: bool,
}

#[derive(Serialize)]
struct OutRule {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    remote_port: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    remote_prefix: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    local_port: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    uid: Vec<u32>,
    mode: &'static str,
}

impl Policy {
    /// The policy as TOML; `Policy::parse(name, &p.to_toml()) == Ok(p)`.
    /// Defaults are written out so the text shows everything in force.
    pub fn to_toml(&self) -> String {
        let g = &self.general;
        let out = OutFile {
            general: OutGeneral {
                path_manager: g.path_manager.as_str(),
                announce: g.announce,
                on_exit: g.on_exit.as_str(),
                fullmesh: g.fullmesh,
            },
            limits: self.limits,
            interface_types: self
                .interface_types
                .entries()
                .iter()
                .map(|(g, t)| (g.as_str(), *t))
                .collect(),
            interfaces: self.interfaces.iter().map(out_interface).collect(),
            rules: self.rules.iter().map(out_rule).collect(),
        };
        // Serializing these plain structs cannot fail.
        toml::to_string_pretty(&out).unwrap_or_else(|e| unreachable!("policy serialization: {e}"))
    }
}

fn out_interface(e: &InterfaceRule) -> OutInterface<'_> {
    OutInterface {
        name: e.name.as_ref().map(|g| g.as_str()),
        kind: e.kind.map(InterfaceType::as_str),
        role: e.role.as_str(),
        metered: e.metered,
        budget: e.budget.as_ref().map(out_budget),
    }
}

fn out_budget(b: &Budget) -> OutBudget<'_> {
    OutBudget {
        bytes: format_size(b.bytes),
        period: b.period.as_str(),
        reset_day: b.reset_day,
        warn_at: &b.warn_at,
        when_exhausted: b.when_exhausted.as_str(),
        daily_allowance: b.daily_allowance,
    }
}

fn out_rule(r: &ConnectionRule) -> OutRule {
    OutRule {
        remote_port: r.remote_port.clone(),
        remote_prefix: r.remote_prefix.iter().map(ToString::to_string).collect(),
        local_port: r.local_port.clone(),
        uid: r.uid.clone(),
        mode: r.mode.as_str(),
    }
}
