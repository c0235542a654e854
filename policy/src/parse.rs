//! Checks one policy file: TOML shape via serde (syntax, unknown keys,
//! wrong types: the first such error), then every semantic check, all
//! errors collected with their positions. Produces a `Layer` for merging.
//! No I/O here: the text is handed in.

use std::ops::{Range, RangeInclusive};
use std::str::FromStr;

use toml::Spanned;

use crate::errors::{Origin, PolicyError};
use crate::model::{
    Budget, ConnectionRule, EntrySource, HealthConfig, InterfaceRule, Mode, OnExit, PathManager,
    Period, Role, WhenExhausted,
};
use crate::names::NameGlob;
use crate::net::Cidr;
use crate::raw::{RawBudget, RawFile, RawHealth, RawInterface, RawRule, RawSize};
use crate::size::parse_size;
use crate::types::InterfaceType;
use crate::MAX_ENDPOINTS;

/// One file's settings, checked; `None` where the file is silent so that
/// merging can let later layers win per key.
#[derive(Debug, Default)]
pub(crate) struct Layer {
    pub path_manager: Option<PathManager>,
    pub default_mode: Option<Mode>,
    pub announce: Option<(bool, Origin)>,
    pub on_exit: Option<OnExit>,
    pub fullmesh: Option<(bool, Origin)>,
    pub subflows: Option<u32>,
    pub add_addr_accepted: Option<u32>,
    pub health: HealthLayer,
    pub interface_types: Vec<(NameGlob, InterfaceType)>,
    pub interfaces: Vec<InterfaceRule>,
    pub rules: Vec<ConnectionRule>,
}

/// `[health]` keys this file sets, each checked.
#[derive(Debug, Default)]
pub(crate) struct HealthLayer {
    pub enable: Option<bool>,
    pub floor_ms: Option<u32>,
    pub multiplier: Option<f64>,
    pub recovery_ms: Option<u32>,
    pub probe_interval_ms: Option<u32>,
}

/// Parses and checks one file; all semantic errors at once.
pub(crate) fn check_layer(file: &str, text: &str) -> Result<Layer, Vec<PolicyError>> {
    let raw: RawFile =
        toml::from_str(text).map_err(|e| vec![PolicyError::from_toml(file, text, &e)])?;
    let mut c = Checker {
        file,
        text,
        errors: Vec::new(),
    };
    let layer = c.layer(raw);
    if c.errors.is_empty() {
        Ok(layer)
    } else {
        Err(c.errors)
    }
}

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<PolicyError>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors
            .push(PolicyError::at(self.file, self.text, span, message));
    }

    fn origin(&self, span: Range<usize>) -> Origin {
        Origin::new(self.file, self.text, span)
    }

    /// Parses a spanned string into an enum, recording the error.
    fn word<T: FromStr<Err = String>>(&mut self, v: &Spanned<String>) -> Option<T> {
        T::from_str(v.get_ref())
            .map_err(|e| self.error(v.span(), e))
            .ok()
    }

    fn limit(&mut self, name: &str, v: Option<Spanned<u32>>) -> Option<u32> {
        let v = v?;
        let max = MAX_ENDPOINTS as u32;
        if *v.get_ref() > max {
            self.error(
                v.span(),
                format!(
                    "{name} = {} is above the kernel's maximum of {max}",
                    v.get_ref()
                ),
            );
        }
        Some(*v.get_ref())
    }

    fn layer(&mut self, raw: RawFile) -> Layer {
        let mut layer = Layer::default();
        if let Some(g) = raw.general {
            layer.path_manager = g.path_manager.and_then(|v| self.word(&v));
            layer.default_mode = g.default_mode.and_then(|v| self.word(&v));
            layer.on_exit = g.on_exit.and_then(|v| self.word(&v));
            layer.announce = g.announce.map(|v| (*v.get_ref(), self.origin(v.span())));
            layer.fullmesh = g.fullmesh.map(|v| (*v.get_ref(), self.origin(v.span())));
        }
        if let Some(l) = raw.limits {
            layer.subflows = self.limit("subflows", l.subflows);
            layer.add_addr_accepted = self.limit("add_addr_accepted", l.add_addr_accepted);
        }
        if let Some(h) = raw.health {
            layer.health = self.health(h);
        }
        for (pattern, kind) in raw.interface_types.unwrap_or_default() {
            let glob = NameGlob::new(pattern.get_ref()).map_err(|e| self.error(pattern.span(), e));
            let kind = self.word::<InterfaceType>(&kind);
            if let (Ok(glob), Some(kind)) = (glob, kind) {
                layer.interface_types.push((glob, kind));
            }
        }
        let mut seen: Vec<(InterfaceRule, usize)> = Vec::new();
        for (i, entry) in raw.interfaces.into_iter().enumerate() {
            let span = entry.span();
            let entry = entry.into_inner();
            let matcher_span = entry
                .name
                .as_ref()
                .or(entry.kind.as_ref())
                .map_or(span.clone(), |s| s.span());
            let Some(rule) = self.interface(i + 1, span, entry) else {
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(r, _)| r.same_matcher(&rule)) {
                self.error(
                    matcher_span,
                    format!(
                        "duplicate match: [[interface]] #{} ({}) repeats the matcher of #{first} and could never match",
                        i + 1,
                        rule.describe_match()
                    ),
                );
                continue;
            }
            seen.push((rule.clone(), i + 1));
            layer.interfaces.push(rule);
        }
        for rule in raw.rules {
            if let Some(rule) = self.rule(rule.into_inner()) {
                layer.rules.push(rule);
            }
        }
        layer
    }

    fn health(&mut self, raw: RawHealth) -> HealthLayer {
        // In the documented key order, so errors come out in that order.
        let floor_ms = self.ms("floor_ms", raw.floor_ms, HealthConfig::FLOOR_MS);
        let multiplier = raw.multiplier.and_then(|m| {
            let v = *m.get_ref();
            if HealthConfig::MULTIPLIER.contains(&v) {
                Some(v)
            } else {
                self.error(
                    m.span(),
                    format!("multiplier = {v} is out of range (1..=20)"),
                );
                None
            }
        });
        HealthLayer {
            enable: raw.enable,
            floor_ms,
            multiplier,
            recovery_ms: self.ms("recovery_ms", raw.recovery_ms, HealthConfig::RECOVERY_MS),
            probe_interval_ms: self.ms(
                "probe_interval_ms",
                raw.probe_interval_ms,
                HealthConfig::PROBE_INTERVAL_MS,
            ),
        }
    }

    /// A millisecond count within `range`, recording the error.
    fn ms(
        &mut self,
        name: &str,
        v: Option<Spanned<i64>>,
        range: RangeInclusive<u32>,
    ) -> Option<u32> {
        let v = v?;
        let n = *v.get_ref();
        let ok = u32::try_from(n).ok().filter(|n| range.contains(n));
        if ok.is_none() {
            self.error(
                v.span(),
                format!(
                    "{name} = {n} is out of range ({}..={} ms)",
                    range.start(),
                    range.end()
                ),
            );
        }
        ok
    }

    fn interface(
        &mut self,
        number: usize,
        span: Range<usize>,
        raw: RawInterface,
    ) -> Option<InterfaceRule> {
        let before = self.errors.len();
        let line = crate::errors::line_column(self.text, span.start).0;
        if raw.name.is_none() && raw.kind.is_none() {
            self.error(
                span,
                format!("[[interface]] #{number} needs `name` or `type` (or both) to match on"),
            );
        }
        let name = raw.name.and_then(|n| {
            NameGlob::new(n.get_ref())
                .map_err(|e| self.error(n.span(), e))
                .ok()
        });
        let kind = raw.kind.and_then(|k| self.word::<InterfaceType>(&k));
        let role = self.word::<Role>(&raw.role);
        let budget = raw.budget.and_then(|b| self.budget(b.into_inner()));
        let rule = InterfaceRule {
            name,
            kind,
            role: role?,
            metered: raw.metered,
            budget,
            source: EntrySource {
                file: self.file.to_owned(),
                line,
                note: None,
            },
        };
        (self.errors.len() == before).then_some(rule)
    }

    fn budget(&mut self, raw: RawBudget) -> Option<Budget> {
        let before = self.errors.len();
        let bytes = match raw.bytes.get_ref() {
            RawSize::Int(n) => {
                u64::try_from(*n).map_err(|_| "byte count must not be negative".to_owned())
            }
            RawSize::Text(t) => parse_size(t),
        }
        .map_err(|e| self.error(raw.bytes.span(), e))
        .unwrap_or(0);
        let period = raw
            .period
            .and_then(|p| self.word(&p))
            .unwrap_or(Period::Monthly);
        let reset_day = raw.reset_day.map_or(1, |d| self.reset_day(period, &d));
        let mut warn_at = Vec::new();
        for w in raw.warn_at.unwrap_or_default() {
            let v = *w.get_ref();
            if v > 0.0 && v <= 1.0 {
                warn_at.push(v);
            } else {
                self.error(
                    w.span(),
                    format!("warn_at value {v} is out of range (a fraction in (0, 1])"),
                );
            }
        }
        warn_at.sort_by(f64::total_cmp);
        warn_at.dedup();
        let when_exhausted = raw
            .when_exhausted
            .and_then(|w| self.word(&w))
            .unwrap_or(WhenExhausted::Backup);
        let budget = Budget {
            bytes,
            period,
            reset_day,
            warn_at,
            when_exhausted,
            daily_allowance: raw.daily_allowance.unwrap_or(true),
        };
        (self.errors.len() == before).then_some(budget)
    }

    fn reset_day(&mut self, period: Period, day: &Spanned<i64>) -> u8 {
        let (range, what) = match period {
            Period::Monthly => (1..=31, "1..=31 for a monthly period"),
            Period::Weekly => (1..=7, "1..=7 (1 = Monday) for a weekly period"),
            Period::Daily => (1..=1, "only 1 for a daily period, which resets every day"),
        };
        let d = *day.get_ref();
        if range.contains(&d) {
            d as u8
        } else {
            self.error(
                day.span(),
                format!("reset_day = {d} is out of range ({what})"),
            );
            1
        }
    }

    fn rule(&mut self, raw: RawRule) -> Option<ConnectionRule> {
        let before = self.errors.len();
        let mut remote_prefix = Vec::new();
        for p in raw.remote_prefix.unwrap_or_default() {
            match p.get_ref().parse::<Cidr>() {
                Ok(c) => remote_prefix.push(c),
                Err(e) => self.error(p.span(), e),
            }
        }
        let mut cgroup = Vec::new();
        for c in raw.cgroup.unwrap_or_default() {
            match check_cgroup_path(c.get_ref()) {
                Ok(()) => cgroup.push(cgroup_key(c.get_ref())),
                Err(e) => self.error(c.span(), e),
            }
        }
        let mode = self.word(&raw.mode);
        let rule = ConnectionRule {
            remote_port: raw.remote_port.unwrap_or_default(),
            remote_prefix,
            local_port: raw.local_port.unwrap_or_default(),
            uid: raw.uid.unwrap_or_default(),
            cgroup,
            mode: mode?,
        };
        (self.errors.len() == before).then_some(rule)
    }
}

/// The stored form of a checked cgroup path: without trailing slashes,
/// except the root `/` itself (which would otherwise become `""`, written
/// back by `to_toml` as `cgroup = [""]` and then refused).
fn cgroup_key(p: &str) -> String {
    match p.trim_end_matches('/') {
        "" => "/".to_string(),
        trimmed => trimmed.to_string(),
    }
}

/// A `cgroup` of a `[[rule]]`: a cgroup v2 path as `/proc/PID/cgroup` shows
/// it after `0::` (e.g. `/system.slice/backup.service`), absolute, without
/// `.`/`..` components.
fn check_cgroup_path(p: &str) -> Result<(), String> {
    if !p.starts_with('/') {
        return Err(format!(
            "cgroup \"{p}\" must be an absolute cgroup v2 path such as \"/system.slice/backup.service\""
        ));
    }
    if p.split('/').any(|c| c == "." || c == "..") {
        return Err(format!(
            "cgroup \"{p}\" must not contain . or .. components"
        ));
    }
    if p.chars().any(char::is_control) {
        return Err(format!("cgroup {p:?} contains control characters"));
    }
    Ok(())
}
