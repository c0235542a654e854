//! `mptcp-policy`: the pure core of mptcp-policyd.
//!
//! - [`Policy`]: the policy model, parsed from layered TOML files
//!   ([`Policy::from_layers`], [`Policy::parse`], [`validate`]) with
//!   `file:line:column` errors ([`PolicyError`]), and written back with
//!   [`Policy::to_toml`].
//! - [`infer_type`]: an interface's type from config and hints.
//! - [`evaluate`]: observed interfaces → [`Desired`] endpoints and limits;
//!   NetworkManager's [`InterfaceHints`] (metered, connectivity) lower roles.
//! - [`plan()`]: actual kernel state + desired + ownership → ordered
//!   [`PmOp`]s that touch only what the daemon created.
//! - [`plan_connection`]: one connection (userspace PM) + its mode + the
//!   allowed paths → its subflows, backup flags and the commands
//!   ([`ConnOp`]); [`Policy::rule_for`] picks the mode.
//! - [`Policy::with_interface_edit`], [`Policy::with_reverted`]: the
//!   changes made over D-Bus as pure edits of the D-Bus layer.
//! - [`PathHealth`]: a path's `good`/`suspect`/`stalled` verdict from
//!   subflow samples, probe answers and the time (`[health]`,
//!   [`HealthConfig`]).
//!
//! No I/O, no async, no clock reads anywhere in this crate: the daemon
//! reads files, netlink and time, and hands them in.

mod budget;
mod connection;
mod edits;
mod errors;
mod evaluate;
pub mod fuzz;
mod handover;
mod health;
mod hints;
mod infer;
mod layers;
mod model;
mod names;
mod net;
pub mod networkmanager;
mod observed;
mod parse;
mod plan;
mod raw;
pub mod schedule;
mod size;
mod types;
mod write;

pub use budget::{
    budget_crossings, budget_verdict, day_start, period_bounds, BudgetCrossing, BudgetInput,
    BudgetState, BudgetVerdict, PeriodBounds,
};
pub use connection::{plan_connection, ConnOp, ConnPlan, ConnSnapshot, ConnSubflow, PathChoice};
pub use edits::{InterfaceEdit, Setting};
pub use errors::{ErrorList, PolicyError};
pub use evaluate::{
    evaluate, flags_for, Desired, DesiredEndpoint, EndpointFlags, InterfaceVerdict,
};
pub use health::quality;
pub use health::{Health, PathHealth, ProbeResult, SubflowSample, Transition, SECOND_VETO_MS};
pub use hints::{
    type_from_nm_device_type, type_from_nm_name, Connectivity, InterfaceHints, NmMetered,
};
pub use infer::infer_type;
pub use layers::{validate, PolicySource, ADMIN_DIR, ADMIN_FILE, VENDOR_DIR};
pub use model::{
    Budget, ConnFacts, ConnectionRule, EntrySource, General, HealthConfig, InterfaceRule, Limits,
    Mode, OnExit, PathManager, Period, Policy, Role, RuleMatch, WhenExhausted,
};
pub use names::{NameGlob, TypeMap};
pub use net::Cidr;
pub use observed::{unusable_reason, Observed, ObservedAddress, ObservedInterface};
pub use plan::{plan, Actual, KernelEndpoint, Ownership, Plan, PmOp};
pub use size::{format_size, human_bytes, parse_size};
pub use types::{InterfaceType, TypeHints, TypeSource};

/// The `jiff` this crate's time types come from ([`jiff::ZonedDateTime`]),
/// so callers use the same version.
pub use jiff;

/// The in-kernel path manager's maximum number of endpoints (and of each
/// limit); adding a ninth endpoint fails with `ERANGE`.
pub const MAX_ENDPOINTS: usize = 8;
