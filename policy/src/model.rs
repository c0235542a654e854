//! The effective policy: what the merged layers say, with defaults filled
//! in and every value checked. Built only by `parse`/`layers`; read by
//! `evaluate`. No I/O here.

use std::fmt;
use std::net::IpAddr;

use crate::names::{NameGlob, TypeMap};
use crate::net::Cidr;
use crate::types::InterfaceType;

/// Declares a lowercase string enum with `as_str`, `ALL`, `Display`,
/// `FromStr` (with a message listing the accepted values) and serde.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $v:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
                 serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vm])* $v,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v,)+];

            /// The name used in files and on D-Bus.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown {} {s:?} (expected {})", $what, names.join(", "))
                })
            }
        }
    };
}

string_enum!(
    /// What an interface is used for.
    Role, "role", {
        /// Carries data.
        Preferred = "preferred",
        /// Subflow kept ready, flagged backup: carries data only when no preferred path works.
        Backup = "backup",
        /// No MPTCP use.
        Off = "off",
    }
);

string_enum!(
    /// Which path manager the kernel runs.
    PathManager, "path manager", {
        /// In-kernel: the daemon manages endpoints and limits.
        Kernel = "kernel",
        /// Userspace: the daemon decides per connection.
        Userspace = "userspace",
    }
);

string_enum!(
    /// What the daemon does with its endpoints when it exits.
    OnExit, "on_exit value", {
        /// Leave them: traffic keeps flowing across a restart.
        Keep = "keep",
        /// Delete the endpoints the daemon created.
        Remove = "remove",
    }
);

string_enum!(
    /// Per-connection scheduling mode of a `[[rule]]` (userspace PM).
    Mode, "mode", {
        /// One active path, backups ready (make-before-break).
        Handover = "handover",
        /// Lowest delay; may use backup paths when the preferred one degrades
        /// (from a `[[rule]]`: the lowest-delay path even if its role is backup).
        Interactive = "interactive",
        /// All allowed paths active (from a `[[rule]]`: backup-role ones too,
        /// unless a budget or hint bounds them).
        Aggregate = "aggregate",
    }
);

string_enum!(
    /// Budget period.
    Period, "period", {
        /// Resets every day.
        Daily = "daily",
        /// Resets on `reset_day` (1 = Monday .. 7 = Sunday).
        Weekly = "weekly",
        /// Resets on `reset_day` of the month (clamped to the month's last day).
        Monthly = "monthly",
    }
);

string_enum!(
    /// What happens to a metered interface once its budget is used up.
    WhenExhausted, "when_exhausted value", {
        /// Demote to backup: used only when nothing else works.
        Backup = "backup",
        /// Stop MPTCP use of the interface.
        Off = "off",
    }
);

/// The effective, merged policy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    /// `[general]`.
    pub general: General,
    /// `[limits]`.
    pub limits: Limits,
    /// `[interface_types]`: explicit types by name glob.
    pub interface_types: TypeMap,
    /// `[[interface]]` entries; the first that matches decides.
    pub interfaces: Vec<InterfaceRule>,
    /// `[[rule]]` entries (per connection); the first that matches decides.
    pub rules: Vec<ConnectionRule>,
    /// `[health]`: silent-loss detection on preferred paths.
    pub health: HealthConfig,
}

/// `[health]` with defaults applied: when a path with data outstanding (or
/// that was receiving) has gone silent long enough to be demoted, and how a
/// demoted path comes back. Used by [`crate::PathHealth`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthConfig {
    /// Watch paths at all. Default true.
    pub enable: bool,
    /// Minimum silence before a path is suspect/stalled, in ms (1..=10000,
    /// default 30).
    pub floor_ms: u32,
    /// Silence bound = max(`floor_ms`, `multiplier` × srtt + 4 × rttvar)
    /// (1..=20, default 3.0).
    pub multiplier: f64,
    /// A stalled path must answer probes this long before it is restored,
    /// in ms (0..=600000, default 2000).
    pub recovery_ms: u32,
    /// How often a stalled path is probed, in ms (10..=60000, default 200).
    pub probe_interval_ms: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            enable: true,
            // Measured here: a paced stream's longest ACK silence is ~12 ms, so
            // a 30 ms floor and 3 × srtt keep a wide margin while moving data
            // off a dead path ~10 ms sooner than 40 ms / 4 × srtt.
            floor_ms: 30,
            multiplier: 3.0,
            recovery_ms: 2000,
            probe_interval_ms: 200,
        }
    }
}

impl HealthConfig {
    /// Accepted `floor_ms` values.
    pub const FLOOR_MS: std::ops::RangeInclusive<u32> = 1..=10_000;
    /// Accepted `multiplier` values.
    pub const MULTIPLIER: std::ops::RangeInclusive<f64> = 1.0..=20.0;
    /// Accepted `recovery_ms` values.
    pub const RECOVERY_MS: std::ops::RangeInclusive<u32> = 0..=600_000;
    /// Accepted `probe_interval_ms` values.
    pub const PROBE_INTERVAL_MS: std::ops::RangeInclusive<u32> = 10..=60_000;

    /// The silence bound in ms for a subflow with this smoothed RTT and
    /// variance (µs, as in `tcp_info`): max(`floor_ms`, `multiplier` × srtt
    /// + 4 × rttvar), rounded up to a whole ms.
    pub fn bound_ms(&self, rtt_us: u32, rttvar_us: u32) -> u64 {
        let us = self.multiplier * f64::from(rtt_us) + 4.0 * f64::from(rttvar_us);
        let ms = (us / 1000.0).ceil();
        // Saturating float-to-int cast; NaN (never valid config) gives 0.
        u64::from(self.floor_ms).max(ms as u64)
    }
}

/// `[general]` with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct General {
    /// Default `kernel`.
    pub path_manager: PathManager,
    /// The mode of connections no `[[rule]]` matches (userspace PM).
    /// Default `handover`: one active path, the others ready as backup.
    pub default_mode: Mode,
    /// Also flag endpoints `signal` (announce them to peers); for hosts that
    /// accept connections. Default false.
    pub announce: bool,
    /// Default `keep`.
    pub on_exit: OnExit,
    /// Flag endpoints `fullmesh` (a subflow to every peer address). Default
    /// false; the kernel refuses it together with `announce`.
    pub fullmesh: bool,
}

// string_enum! cannot derive Default for only some enums.
#[allow(clippy::derivable_impls)]
impl Default for PathManager {
    fn default() -> Self {
        PathManager::Kernel
    }
}

#[allow(clippy::derivable_impls)]
impl Default for Mode {
    fn default() -> Self {
        Mode::Handover
    }
}

#[allow(clippy::derivable_impls)]
impl Default for OnExit {
    fn default() -> Self {
        OnExit::Keep
    }
}

/// The in-kernel path manager's per-namespace limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Additional subflows per connection (kernel max 8).
    pub subflows: u32,
    /// Peer `ADD_ADDR` announcements accepted per connection (kernel max 8).
    pub add_addr_accepted: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            subflows: 4,
            add_addr_accepted: 4,
        }
    }
}

/// One `[[interface]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceRule {
    /// `name`: glob on the interface name.
    pub name: Option<NameGlob>,
    /// `type`: the interface's (inferred) type.
    pub kind: Option<InterfaceType>,
    /// `role`.
    pub role: Role,
    /// `metered`; `None` (not written) lets NetworkManager's metered hint
    /// decide, `Some` is the user's word and wins over the hint.
    pub metered: Option<bool>,
    /// `budget`, if any.
    pub budget: Option<Budget>,
    /// Where the entry was written (for `RoleReason`).
    pub source: EntrySource,
}

/// Where an `[[interface]]` entry was written, so a verdict can say which
/// layer decided. Not part of what the entry says: entries that differ only
/// here are equal.
#[derive(Debug, Clone, Default)]
pub struct EntrySource {
    /// The layer's name (a file path) as given to `Policy::from_layers`.
    pub file: String,
    /// 1-based line where the entry starts; 0 when unknown.
    pub line: usize,
    /// Replaces `file:line` in messages when set, e.g. "set over D-Bus by
    /// uid 1000 at 2026-05-04 10:12:00 +02:00" (the daemon knows who).
    pub note: Option<String>,
}

impl EntrySource {
    /// For humans: the note, else `file:line`; empty when unknown.
    pub fn describe(&self) -> String {
        match (&self.note, self.file.is_empty(), self.line) {
            (Some(note), _, _) => note.clone(),
            (None, true, _) => String::new(),
            (None, false, 0) => self.file.clone(),
            (None, false, line) => format!("{}:{line}", self.file),
        }
    }
}

impl PartialEq for EntrySource {
    fn eq(&self, _: &EntrySource) -> bool {
        true
    }
}

impl InterfaceRule {
    /// Both given matchers must match; an entry without matchers never
    /// matches (parsing rejects it).
    pub fn matches(&self, name: &str, kind: InterfaceType) -> bool {
        let has_matcher = self.name.is_some() || self.kind.is_some();
        has_matcher
            && self.name.as_ref().is_none_or(|g| g.is_match(name))
            && self.kind.is_none_or(|k| k == kind)
    }

    /// The matcher as written, e.g. `type = wifi` or `name = "eth*"`.
    pub fn describe_match(&self) -> String {
        let name = self
            .name
            .as_ref()
            .map(|g| format!("name = {:?}", g.as_str()));
        let kind = self.kind.map(|k| format!("type = {k}"));
        [name, kind]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Two entries with the same matcher: the later can never match.
    pub(crate) fn same_matcher(&self, other: &InterfaceRule) -> bool {
        self.name == other.name && self.kind == other.kind
    }
}

/// A metered interface's data budget (verdicts are computed elsewhere from
/// usage and time, both inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Bytes allowed per period.
    pub bytes: u64,
    /// Default `monthly`.
    pub period: Period,
    /// Day the period starts: 1..=31 for monthly, 1..=7 (Monday = 1) for
    /// weekly; always 1 for daily. Default 1.
    pub reset_day: u8,
    /// Fractions in (0, 1] at which to warn, ascending.
    pub warn_at: Vec<f64>,
    /// Default `backup`.
    pub when_exhausted: WhenExhausted,
    /// Spread what is left evenly over the rest of the period (Android's
    /// multipath budget). Default true: a period's quota is not burnt in
    /// its first days unless the user turns this off.
    pub daily_allowance: bool,
}

/// One `[[rule]]` (per connection, userspace PM). Empty lists match all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRule {
    /// Remote ports.
    pub remote_port: Vec<u16>,
    /// Remote address prefixes.
    pub remote_prefix: Vec<Cidr>,
    /// Local ports.
    pub local_port: Vec<u16>,
    /// Owning user ids (a connection whose uid is unknown does not match).
    pub uid: Vec<u32>,
    /// cgroup v2 paths (`/system.slice/x.service`); a connection matches when
    /// its socket's cgroup is one of them or below one (unknown: no match).
    pub cgroup: Vec<String>,
    /// `mode`.
    pub mode: Mode,
}

/// What is known of one connection when it is matched against `[[rule]]`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnFacts {
    /// The peer's address.
    pub remote: IpAddr,
    /// The peer's port.
    pub remote_port: u16,
    /// Our port (the listener's port for an accepted connection).
    pub local_port: u16,
    /// The socket's owner, when known (`inet_diag`).
    pub uid: Option<u32>,
    /// The socket's cgroup v2 path, when known.
    pub cgroup: Option<String>,
}

/// Which entry decided a connection's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMatch {
    /// The mode.
    pub mode: Mode,
    /// 0-based index into `Policy::rules`; `None`: `[general] default_mode`.
    pub rule: Option<usize>,
}

fn cgroup_under(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl ConnectionRule {
    /// Whether a connection with these properties matches every given list.
    pub fn matches(&self, c: &ConnFacts) -> bool {
        (self.remote_port.is_empty() || self.remote_port.contains(&c.remote_port))
            && (self.remote_prefix.is_empty()
                || self.remote_prefix.iter().any(|p| p.contains(c.remote)))
            && (self.local_port.is_empty() || self.local_port.contains(&c.local_port))
            && (self.uid.is_empty() || c.uid.is_some_and(|u| self.uid.contains(&u)))
            && (self.cgroup.is_empty()
                || c.cgroup
                    .as_deref()
                    .is_some_and(|path| self.cgroup.iter().any(|p| cgroup_under(path, p))))
    }

    /// For humans, e.g. `remote_port = [443], uid = [1000]`; `any
    /// connection` when the rule lists nothing.
    pub fn describe_match(&self) -> String {
        let mut parts = Vec::new();
        let list = |v: Vec<String>| v.join(", ");
        if !self.remote_port.is_empty() {
            parts.push(format!(
                "remote_port = [{}]",
                list(self.remote_port.iter().map(ToString::to_string).collect())
            ));
        }
        if !self.remote_prefix.is_empty() {
            parts.push(format!(
                "remote_prefix = [{}]",
                list(
                    self.remote_prefix
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect()
                )
            ));
        }
        if !self.local_port.is_empty() {
            parts.push(format!(
                "local_port = [{}]",
                list(self.local_port.iter().map(ToString::to_string).collect())
            ));
        }
        if !self.uid.is_empty() {
            parts.push(format!(
                "uid = [{}]",
                list(self.uid.iter().map(ToString::to_string).collect())
            ));
        }
        if !self.cgroup.is_empty() {
            parts.push(format!(
                "cgroup = [{}]",
                list(self.cgroup.iter().map(|c| format!("\"{c}\"")).collect())
            ));
        }
        if parts.is_empty() {
            "any connection".into()
        } else {
            parts.join(", ")
        }
    }

    /// Whether matching needs the socket's owner (uid or cgroup).
    pub fn needs_owner(&self) -> bool {
        !self.uid.is_empty() || !self.cgroup.is_empty()
    }
}

impl Policy {
    /// The first `[[rule]]` matching a connection decides its mode; none
    /// matching: `[general] default_mode`.
    pub fn rule_for(&self, c: &ConnFacts) -> RuleMatch {
        match self.rules.iter().position(|r| r.matches(c)) {
            Some(i) => RuleMatch {
                mode: self.rules[i].mode,
                rule: Some(i),
            },
            None => RuleMatch {
                mode: self.general.default_mode,
                rule: None,
            },
        }
    }

    /// Whether any `[[rule]]` matches on uid or cgroup (then the daemon looks
    /// up each connection's owner).
    pub fn rules_need_owner(&self) -> bool {
        self.rules.iter().any(ConnectionRule::needs_owner)
    }

    /// For humans: `[[rule]] #2 (remote_port = [443])` or
    /// `[general] default_mode`.
    pub fn describe_rule_match(&self, m: &RuleMatch) -> String {
        match m.rule.and_then(|i| self.rules.get(i).map(|r| (i, r))) {
            Some((i, r)) => format!("[[rule]] #{} ({})", i + 1, r.describe_match()),
            None => "[general] default_mode".into(),
        }
    }
}
