//! `Policy::to_toml`: writes the effective policy back as a file that
//! parses to the same policy (for D-Bus `GetPolicy` and the D-Bus layer).
//! Also the small edit helper the D-Bus layer needs. No I/O here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{
    Budget, ConnectionRule, General, HealthConfig, InterfaceRule, Limits, Mode, OnExit,
    PathManager, Policy, Role,
};
use crate::names::NameGlob;
use crate::size::format_size;
use crate::types::InterfaceType;

#[derive(Serialize)]
struct OutFile<'a> {
    #[serde(skip_serializing_if = "OutGeneral::is_empty")]
    general: OutGeneral,
    #[serde(skip_serializing_if = "OutLimits::is_empty")]
    limits: OutLimits,
    #[serde(skip_serializing_if = "OutHealth::is_empty")]
    health: OutHealth,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    interface_types: BTreeMap<&'a str, InterfaceType>,
    #[serde(rename = "interface", skip_serializing_if = "Vec::is_empty")]
    interfaces: Vec<OutInterface<'a>>,
    #[serde(rename = "rule", skip_serializing_if = "Vec::is_empty")]
    rules: Vec<OutRule>,
}

/// `None` fields are left out (only in the overrides form).
#[derive(Serialize)]
struct OutGeneral {
    #[serde(skip_serializing_if = "Option::is_none")]
    path_manager: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    announce: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_exit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fullmesh: Option<bool>,
}

impl OutGeneral {
    fn is_empty(&self) -> bool {
        self.path_manager.is_none()
            && self.default_mode.is_none()
            && self.announce.is_none()
            && self.on_exit.is_none()
            && self.fullmesh.is_none()
    }
}

#[derive(Serialize)]
struct OutLimits {
    #[serde(skip_serializing_if = "Option::is_none")]
    subflows: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_addr_accepted: Option<u32>,
}

impl OutLimits {
    fn is_empty(&self) -> bool {
        self.subflows.is_none() && self.add_addr_accepted.is_none()
    }
}

#[derive(Serialize)]
struct OutHealth {
    #[serde(skip_serializing_if = "Option::is_none")]
    enable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    floor_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multiplier: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probe_interval_ms: Option<u32>,
}

impl OutHealth {
    fn new(all: bool, h: &HealthConfig) -> Self {
        let d = HealthConfig::default();
        OutHealth {
            enable: keep(all, h.enable, d.enable),
            floor_ms: keep(all, h.floor_ms, d.floor_ms),
            multiplier: keep(all, h.multiplier, d.multiplier),
            recovery_ms: keep(all, h.recovery_ms, d.recovery_ms),
            probe_interval_ms: keep(all, h.probe_interval_ms, d.probe_interval_ms),
        }
    }

    fn is_empty(&self) -> bool {
        self.enable.is_none()
            && self.floor_ms.is_none()
            && self.multiplier.is_none()
            && self.recovery_ms.is_none()
            && self.probe_interval_ms.is_none()
    }
}

/// `Some(v)` unless only differences are wanted and `v` is the default.
fn keep<T: PartialEq>(all: bool, v: T, default: T) -> Option<T> {
    (all || v != default).then_some(v)
}

#[derive(Serialize)]
struct OutInterface<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    metered: Option<bool>,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cgroup: Vec<String>,
    mode: &'static str,
}

impl Policy {
    /// The policy as TOML with every default written out, so the text shows
    /// everything in force (D-Bus `GetPolicy`).
    /// `Policy::parse(name, &p.to_toml()) == Ok(p)`.
    pub fn to_toml(&self) -> String {
        self.write(true)
    }

    /// Like [`Policy::to_toml`] but `[general]`, `[limits]` and `[health]`
    /// keys equal to their defaults are left out. Use it for a layer that
    /// must not override lower layers' keys it never set (the D-Bus changes
    /// layer, built from `Policy::default()` plus entries). Also
    /// round-trips.
    pub fn to_toml_overrides(&self) -> String {
        self.write(false)
    }

    fn write(&self, all: bool) -> String {
        let (g, d) = (&self.general, General::default());
        let limits = Limits::default();
        let out = OutFile {
            general: OutGeneral {
                path_manager: keep(all, g.path_manager, d.path_manager).map(PathManager::as_str),
                default_mode: keep(all, g.default_mode, d.default_mode).map(Mode::as_str),
                announce: keep(all, g.announce, d.announce),
                on_exit: keep(all, g.on_exit, d.on_exit).map(OnExit::as_str),
                fullmesh: keep(all, g.fullmesh, d.fullmesh),
            },
            limits: OutLimits {
                subflows: keep(all, self.limits.subflows, limits.subflows),
                add_addr_accepted: keep(
                    all,
                    self.limits.add_addr_accepted,
                    limits.add_addr_accepted,
                ),
            },
            health: OutHealth::new(all, &self.health),
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

    /// The `[[interface]]` entry matching exactly the interface `ifname`
    /// (`name` = the escaped name, no `type`), inserted first with
    /// `default_role` when missing. For D-Bus `SetInterfaceRole`,
    /// `SetMetered`, `SetBudget` on the D-Bus layer.
    pub fn interface_entry_mut(&mut self, ifname: &str, default_role: Role) -> &mut InterfaceRule {
        let glob = NameGlob::literal(ifname);
        let found = self
            .interfaces
            .iter()
            .position(|e| e.kind.is_none() && e.name.as_ref() == Some(&glob));
        let i = found.unwrap_or_else(|| {
            self.interfaces.insert(
                0,
                InterfaceRule {
                    name: Some(glob),
                    kind: None,
                    role: default_role,
                    metered: None,
                    budget: None,
                    source: Default::default(),
                },
            );
            0
        });
        &mut self.interfaces[i]
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
        cgroup: r.cgroup.clone(),
        mode: r.mode.as_str(),
    }
}
