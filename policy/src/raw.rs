//! The file's shape as serde sees it: every key optional where the format
//! allows, values that need semantic checks kept as `Spanned` text so the
//! checks in `parse` can report all problems with positions. No I/O here.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// A whole policy file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub general: Option<RawGeneral>,
    pub limits: Option<RawLimits>,
    pub health: Option<RawHealth>,
    pub interface_types: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    #[serde(default, rename = "interface")]
    pub interfaces: Vec<Spanned<RawInterface>>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Spanned<RawRule>>,
}

/// `[general]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGeneral {
    pub path_manager: Option<Spanned<String>>,
    pub default_mode: Option<Spanned<String>>,
    pub announce: Option<Spanned<bool>>,
    pub on_exit: Option<Spanned<String>>,
    pub fullmesh: Option<Spanned<bool>>,
}

/// `[limits]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub subflows: Option<Spanned<u32>>,
    pub add_addr_accepted: Option<Spanned<u32>>,
}

/// `[health]`. Numbers kept as `i64` so that out-of-range values get the
/// range in the message, not serde's "expected u32".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealth {
    pub enable: Option<bool>,
    pub floor_ms: Option<Spanned<i64>>,
    pub multiplier: Option<Spanned<f64>>,
    pub recovery_ms: Option<Spanned<i64>>,
    pub probe_interval_ms: Option<Spanned<i64>>,
}

/// One `[[interface]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInterface {
    pub name: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub role: Spanned<String>,
    pub metered: Option<bool>,
    pub budget: Option<Spanned<RawBudget>>,
}

/// `budget = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBudget {
    pub bytes: Spanned<RawSize>,
    pub period: Option<Spanned<String>>,
    pub reset_day: Option<Spanned<i64>>,
    pub warn_at: Option<Vec<Spanned<f64>>>,
    pub when_exhausted: Option<Spanned<String>>,
    pub daily_allowance: Option<bool>,
}

/// One `[[rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub remote_port: Option<Vec<u16>>,
    pub remote_prefix: Option<Vec<Spanned<String>>>,
    pub local_port: Option<Vec<u16>>,
    pub uid: Option<Vec<u32>>,
    pub cgroup: Option<Vec<Spanned<String>>>,
    pub mode: Spanned<String>,
}

/// A byte count: an integer or a string with a unit (`"2GiB"`).
#[derive(Debug)]
pub(crate) enum RawSize {
    Int(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = RawSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte count: an integer or a string such as \"2GiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawSize, E> {
                Ok(RawSize::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSize, E> {
                i64::try_from(v)
                    .map(RawSize::Int)
                    .map_err(|_| E::custom("byte count too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_owned()))
            }
        }
        d.deserialize_any(SizeVisitor)
    }
}
