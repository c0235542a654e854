//! Changes made over D-Bus as pure edits of the D-Bus layer — a [`Policy`]
//! that holds only what was changed, merged over the files by the daemon.
//! `SetInterfaceRole`, `SetMetered` and `SetBudget` edit an entry;
//! `SetInterfaceRole … default` and `RevertInterface` take one back. The
//! daemon only looks up what is in force and hands it in; every decision
//! about the layer is here, table-tested (`tests/edits.rs`).

use std::str::FromStr;

use crate::model::{Budget, InterfaceRule, Period, Policy, Role, WhenExhausted};
use crate::names::NameGlob;
use crate::types::InterfaceType;

/// One change to an interface's entry.
#[derive(Debug, Clone, PartialEq)]
pub enum InterfaceEdit {
    /// `SetInterfaceRole IFACE ROLE`.
    Role(Role),
    /// `SetMetered IFACE BOOL`.
    Metered(bool),
    /// `SetBudget IFACE BYTES PERIOD`; 0 bytes removes the budget.
    Budget { bytes: u64, period: Period },
}

/// Which setting of an interface goes back to the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Role,
    Metered,
    Budget,
    /// The whole D-Bus entry of the interface.
    All,
}

impl FromStr for Setting {
    type Err = String;
    fn from_str(s: &str) -> Result<Setting, String> {
        match s {
            "role" => Ok(Setting::Role),
            "metered" => Ok(Setting::Metered),
            "budget" => Ok(Setting::Budget),
            "all" => Ok(Setting::All),
            other => Err(format!(
                "unknown setting {other:?}: expected role, metered, budget or all"
            )),
        }
    }
}

impl Setting {
    /// The word of the D-Bus API.
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Role => "role",
            Setting::Metered => "metered",
            Setting::Budget => "budget",
            Setting::All => "all",
        }
    }
}

impl InterfaceEdit {
    fn apply(&self, entry: &mut InterfaceRule) {
        match *self {
            InterfaceEdit::Role(role) => entry.role = role,
            InterfaceEdit::Metered(m) => entry.metered = Some(m),
            InterfaceEdit::Budget { bytes: 0, .. } => entry.budget = None,
            InterfaceEdit::Budget { bytes, period } => {
                // A budget only makes sense on a metered link.
                entry.metered = Some(true);
                let mut budget = entry.budget.clone().unwrap_or(Budget {
                    bytes,
                    period,
                    reset_day: 1,
                    warn_at: vec![0.8],
                    when_exhausted: WhenExhausted::Backup,
                    daily_allowance: true,
                });
                budget.bytes = bytes;
                budget.period = period;
                if period == Period::Daily {
                    budget.reset_day = 1;
                }
                entry.budget = Some(budget);
            }
        }
    }
}

impl Policy {
    /// `SetInterfaceRole TYPE ROLE`: the layer's entry for the type (no
    /// name), appended after the name entries when missing, so an entry
    /// for one interface still wins over its type.
    pub fn with_type_role(&self, kind: InterfaceType, role: Role) -> Policy {
        let mut layer = self.clone();
        match layer.type_entry(kind) {
            Some(i) => layer.interfaces[i].role = role,
            None => layer.interfaces.push(InterfaceRule {
                name: None,
                kind: Some(kind),
                role,
                metered: None,
                budget: None,
                source: Default::default(),
            }),
        }
        layer
    }

    /// An edit of interface `name`'s entry. A new entry starts as a copy of
    /// `in_force` (the entry that decides for the interface now): its role
    /// — the entry's, not a demotion by budget or hints, which must not be
    /// frozen into the layer — metered flag and budget, so only what was
    /// asked changes.
    pub fn with_interface_edit(
        &self,
        name: &str,
        in_force: Option<&InterfaceRule>,
        edit: &InterfaceEdit,
    ) -> Policy {
        let mut layer = self.clone();
        let existed = layer.entry_of(name).is_some();
        let role = in_force.map_or(Role::Off, |c| c.role);
        let entry = layer.interface_entry_mut(name, role);
        if let (false, Some(c)) = (existed, in_force) {
            entry.metered = c.metered;
            entry.budget = c.budget.clone();
        }
        edit.apply(entry);
        layer
    }

    /// `SetInterfaceRole TYPE default`: the layer without the type's entry;
    /// None when it had none (nothing to take back).
    pub fn without_type_entry(&self, kind: InterfaceType) -> Option<Policy> {
        let i = self.type_entry(kind)?;
        let mut layer = self.clone();
        layer.interfaces.remove(i);
        Some(layer)
    }

    /// The layer without interface `name`'s entry (to find what would
    /// decide without it); None when it has none.
    pub fn without_entry_of(&self, name: &str) -> Option<Policy> {
        let i = self.entry_of(name)?;
        let mut layer = self.clone();
        layer.interfaces.remove(i);
        Some(layer)
    }

    /// `RevertInterface name setting`: the setting goes back to `fallback`
    /// (what decides without the layer's entry: the files, or a type entry;
    /// None = nothing, the interface is left alone). The entry is dropped
    /// once it says nothing the fallback does not, or for `All`. None when
    /// the layer has no entry for `name`.
    pub fn with_reverted(
        &self,
        name: &str,
        setting: Setting,
        fallback: Option<&InterfaceRule>,
    ) -> Option<Policy> {
        let i = self.entry_of(name)?;
        let mut layer = self.clone();
        let (role, metered, budget) = match fallback {
            Some(f) => (f.role, f.metered, f.budget.clone()),
            None => (Role::Off, None, None),
        };
        let entry = &mut layer.interfaces[i];
        match setting {
            Setting::Role => entry.role = role,
            Setting::Metered => entry.metered = metered,
            Setting::Budget => entry.budget = budget.clone(),
            Setting::All => {}
        }
        let redundant = entry.role == role && entry.metered == metered && entry.budget == budget;
        if setting == Setting::All || redundant {
            layer.interfaces.remove(i);
        }
        Some(layer)
    }

    /// The index of the entry for exactly this interface name (no type).
    fn entry_of(&self, name: &str) -> Option<usize> {
        let glob = NameGlob::literal(name);
        self.interfaces
            .iter()
            .position(|e| e.kind.is_none() && e.name.as_ref() == Some(&glob))
    }

    /// The index of the entry for a type alone (no name).
    fn type_entry(&self, kind: InterfaceType) -> Option<usize> {
        self.interfaces
            .iter()
            .position(|e| e.name.is_none() && e.kind == Some(kind))
    }
}
