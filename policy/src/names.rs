//! Interface-name globs and the `[interface_types]` map built from them.
//! No I/O here.

use std::fmt;

use globset::{Glob, GlobMatcher};

use crate::types::InterfaceType;

/// An interface-name glob (`eth*`, `wlp?s0`), kept with its source text.
#[derive(Clone)]
pub struct NameGlob {
    pattern: String,
    matcher: GlobMatcher,
}

impl NameGlob {
    /// Compiles `pattern`; the error is globset's message.
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("empty interface name pattern".into());
        }
        let glob =
            Glob::new(pattern).map_err(|e| format!("invalid glob {pattern:?}: {}", e.kind()))?;
        Ok(NameGlob {
            pattern: pattern.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    /// A glob matching exactly `name` (metacharacters escaped).
    pub fn literal(name: &str) -> Self {
        let pattern = globset::escape(name);
        let matcher = Glob::new(&pattern)
            .map(|g| g.compile_matcher())
            .unwrap_or_else(|_| unreachable!("escaped glob always compiles"));
        NameGlob { pattern, matcher }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `name` matches.
    pub fn is_match(&self, name: &str) -> bool {
        self.matcher.is_match(name)
    }

    /// True when the pattern has no glob metacharacters.
    pub fn is_literal(&self) -> bool {
        !self.pattern.contains(['*', '?', '[', ']', '{', '}', '\\'])
    }
}

impl PartialEq for NameGlob {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for NameGlob {}

impl fmt::Debug for NameGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameGlob({:?})", self.pattern)
    }
}

impl fmt::Display for NameGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// `[interface_types]`: name globs mapped to a type, sorted by pattern.
///
/// TOML tables are unordered, so overlaps are settled by specificity: an
/// exact (metacharacter-free) name wins, then the longest matching pattern,
/// then the alphabetically first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeMap {
    entries: Vec<(NameGlob, InterfaceType)>,
}

impl TypeMap {
    /// Sets (or replaces) the type for `glob`.
    pub fn insert(&mut self, glob: NameGlob, kind: InterfaceType) {
        match self
            .entries
            .binary_search_by(|(g, _)| g.as_str().cmp(glob.as_str()))
        {
            Ok(i) => self.entries[i].1 = kind,
            Err(i) => self.entries.insert(i, (glob, kind)),
        }
    }

    /// The entries, sorted by pattern.
    pub fn entries(&self) -> &[(NameGlob, InterfaceType)] {
        &self.entries
    }

    /// The configured type for interface `name`, if any entry matches.
    pub fn lookup(&self, name: &str) -> Option<InterfaceType> {
        if let Some((_, t)) = self
            .entries
            .iter()
            .find(|(g, _)| g.is_literal() && g.as_str() == name)
        {
            return Some(*t);
        }
        self.entries
            .iter()
            .filter(|(g, _)| g.is_match(name))
            .min_by_key(|(g, _)| std::cmp::Reverse(g.as_str().chars().count()))
            .map(|(_, t)| *t)
    }
}
