//! Layered policy: vendor defaults, admin file, admin drop-ins, D-Bus
//! changes, merged into one effective [`Policy`]. Pure: the daemon reads
//! the files (from the paths below, overridable) and hands in their text.

use crate::errors::{Origin, PolicyError};
use crate::model::Policy;
use crate::parse::{check_layer, Layer};

/// Vendor/carrier defaults: every `*.toml` here, in name order.
pub const VENDOR_DIR: &str = "/usr/lib/mptcp-policyd/policy.d";
/// The admin's main policy file.
pub const ADMIN_FILE: &str = "/etc/mptcp-policyd/policy.toml";
/// Admin drop-ins: every `*.toml` here, in name order.
pub const ADMIN_DIR: &str = "/etc/mptcp-policyd/policy.d";

/// One layer's text and where it came from (used in error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    /// File path, or e.g. `dbus` for changes made over D-Bus.
    pub name: String,
    /// The TOML text.
    pub text: String,
}

impl PolicySource {
    /// Convenience constructor.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        PolicySource {
            name: name.into(),
            text: text.into(),
        }
    }
}

impl Policy {
    /// Merges `layers`, lowest priority first (vendor files, admin file,
    /// admin drop-ins, D-Bus changes). Later layers win per key in
    /// `[general]`, `[limits]` and `[interface_types]`; their
    /// `[[interface]]` and `[[rule]]` entries come *before* earlier ones, so
    /// they decide first. An earlier `[[interface]]` entry with the same
    /// matcher as a later one is dropped (it could never match).
    ///
    /// Every layer is checked; all errors of all layers are returned.
    pub fn from_layers(layers: &[PolicySource]) -> Result<Policy, Vec<PolicyError>> {
        let mut checked = Vec::new();
        let mut errors = Vec::new();
        for source in layers {
            match check_layer(&source.name, &source.text) {
                Ok(layer) => checked.push(layer),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        merge(checked).map_err(|e| vec![e])
    }

    /// One file alone (`--config FILE`, or D-Bus `SetPolicy`).
    pub fn parse(name: &str, text: &str) -> Result<Policy, Vec<PolicyError>> {
        Policy::from_layers(&[PolicySource::new(name, text)])
    }
}

/// All problems in one file (empty when valid); D-Bus `ValidatePolicy`.
pub fn validate(name: &str, text: &str) -> Vec<PolicyError> {
    Policy::parse(name, text).err().unwrap_or_default()
}

fn merge(layers: Vec<Layer>) -> Result<Policy, PolicyError> {
    let mut policy = Policy::default();
    // (layer index, value, where) of the winning `announce`/`fullmesh`.
    let mut announce: Option<(usize, bool, Origin)> = None;
    let mut fullmesh: Option<(usize, bool, Origin)> = None;
    let (mut interfaces, mut rules) = (Vec::new(), Vec::new());
    // Lowest priority first: a later `Some` overwrites.
    for (i, layer) in layers.into_iter().enumerate() {
        let g = &mut policy.general;
        g.path_manager = layer.path_manager.unwrap_or(g.path_manager);
        g.default_mode = layer.default_mode.unwrap_or(g.default_mode);
        g.on_exit = layer.on_exit.unwrap_or(g.on_exit);
        announce = layer.announce.map(|(v, o)| (i, v, o)).or(announce);
        fullmesh = layer.fullmesh.map(|(v, o)| (i, v, o)).or(fullmesh);
        let l = &mut policy.limits;
        l.subflows = layer.subflows.unwrap_or(l.subflows);
        l.add_addr_accepted = layer.add_addr_accepted.unwrap_or(l.add_addr_accepted);
        let (h, lh) = (&mut policy.health, layer.health);
        h.enable = lh.enable.unwrap_or(h.enable);
        h.floor_ms = lh.floor_ms.unwrap_or(h.floor_ms);
        h.multiplier = lh.multiplier.unwrap_or(h.multiplier);
        h.recovery_ms = lh.recovery_ms.unwrap_or(h.recovery_ms);
        h.probe_interval_ms = lh.probe_interval_ms.unwrap_or(h.probe_interval_ms);
        for (glob, kind) in layer.interface_types {
            policy.interface_types.insert(glob, kind);
        }
        interfaces = [layer.interfaces, interfaces].concat();
        rules = [layer.rules, rules].concat();
    }
    // Entries shadowed by an identical matcher before them never match.
    for entry in interfaces {
        if !policy.interfaces.iter().any(|e| e.same_matcher(&entry)) {
            policy.interfaces.push(entry);
        }
    }
    policy.rules = rules;
    policy.general.announce = announce.as_ref().is_some_and(|(_, v, _)| *v);
    policy.general.fullmesh = fullmesh.as_ref().is_some_and(|(_, v, _)| *v);
    if let (Some((ai, true, a)), Some((fi, true, f))) = (&announce, &fullmesh) {
        // Point at whichever was written last.
        let later = if (ai, a.line, a.column) > (fi, f.line, f.column) {
            a
        } else {
            f
        };
        return Err(later.error(
            "`announce` and `fullmesh` cannot both be true: the kernel refuses endpoints flagged both signal and fullmesh",
        ));
    }
    Ok(policy)
}
