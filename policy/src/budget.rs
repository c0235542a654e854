//! Budget thresholds crossed between two usage readings. Pure: the daemon
//! passes the counted bytes before and after; this says which warnings and
//! whether exhaustion were crossed, each exactly once per crossing.

use crate::model::Budget;

/// A threshold crossed upward by counted usage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetCrossing {
    /// Usage passed this `warn_at` fraction of the budget.
    Warning(f64),
    /// Usage reached the budget.
    Exhausted,
}

/// The thresholds of `budget` that `before -> after` crosses upward, in
/// ascending order. A reset (after < before) crosses nothing.
pub fn budget_crossings(budget: &Budget, before: u64, after: u64) -> Vec<BudgetCrossing> {
    if after <= before || budget.bytes == 0 {
        return Vec::new();
    }
    let mut out: Vec<BudgetCrossing> = budget
        .warn_at
        .iter()
        .filter(|&&f| f < 1.0)
        .filter(|&&f| {
            let line = (budget.bytes as f64 * f).ceil() as u64;
            before < line && after >= line
        })
        .map(|&f| BudgetCrossing::Warning(f))
        .collect();
    if before < budget.bytes && after >= budget.bytes {
        out.push(BudgetCrossing::Exhausted);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Period, WhenExhausted};

    fn budget(bytes: u64, warn_at: &[f64]) -> Budget {
        Budget {
            bytes,
            period: Period::Monthly,
            reset_day: 1,
            warn_at: warn_at.to_vec(),
            when_exhausted: WhenExhausted::Off,
            daily_allowance: false,
        }
    }

    #[test]
    fn crossings_table() {
        use BudgetCrossing::*;
        let b = budget(1000, &[0.5, 0.8]);
        let cases: &[(u64, u64, &[BudgetCrossing])] = &[
            (0, 100, &[]),
            (0, 500, &[Warning(0.5)]),
            (499, 500, &[Warning(0.5)]),
            (500, 700, &[]),
            (700, 800, &[Warning(0.8)]),
            (0, 1000, &[Warning(0.5), Warning(0.8), Exhausted]),
            (999, 5000, &[Exhausted]),
            (1000, 2000, &[]),
            (900, 100, &[]), // a reset crosses nothing
        ];
        for (before, after, want) in cases {
            assert_eq!(
                budget_crossings(&b, *before, *after),
                want.to_vec(),
                "{before} -> {after}"
            );
        }
        assert!(budget_crossings(&budget(0, &[0.5]), 0, 10).is_empty());
        // warn_at = 1.0 is the exhaustion itself, reported once.
        assert_eq!(
            budget_crossings(&budget(10, &[1.0]), 0, 10),
            vec![Exhausted]
        );
    }
}
