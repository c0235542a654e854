//! Small statistics for benchmark tables: min / median / max.

use serde::Serialize;

/// min / median / max of a sample (None when empty).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Summary {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Summary {
    /// Summarise `values` (NaNs are ignored).
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Self {
            min: v[0],
            median,
            max: v[n - 1],
        })
    }

    /// "med (min–max)" with whole numbers, or "-" for no data.
    pub fn cell(s: Option<Self>) -> String {
        match s {
            Some(s) => format!("{:.0} ({:.0}–{:.0})", s.median, s.min, s.max),
            None => "-".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary() {
        let s = Summary::of(&[3.0, 1.0, 2.0, 10.0]).expect("non-empty");
        assert_eq!((s.min, s.median, s.max), (1.0, 2.5, 10.0));
        assert!(Summary::of(&[]).is_none());
        assert_eq!(Summary::cell(Summary::of(&[5.0])), "5 (5–5)");
    }
}
