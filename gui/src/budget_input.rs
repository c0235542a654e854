//! Validation of the "add budget" dialog's input: an amount with a unit
//! and a period become the `SetBudget` arguments, or a message saying what
//! is wrong. The bytes come from the contract's size rule (the policy
//! file's parser, `mptcp_policy_dbus::units`), so the dialog accepts what a
//! policy file accepts. Pure (table-tested).

use mptcp_policy_dbus::units;

use crate::i18n::gettext;

/// Units the dialog offers, with their size in bytes (both as the policy
/// file reads them; a test checks).
pub const UNITS: [(&str, u64); 4] = [
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

/// Periods as the daemon names them, in the dialog's order.
pub const PERIODS: [&str; 3] = mptcp_policy_dbus::names::PERIODS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetInputError {
    Empty,
    NotANumber,
    NotPositive,
    TooLarge,
    UnknownUnit,
    UnknownPeriod,
    /// The amount does not come to a whole number of bytes (`1.0000001 MB`).
    NotWholeBytes,
}

impl BudgetInputError {
    /// The message shown under the entry.
    pub fn message(&self) -> String {
        match self {
            Self::Empty => gettext("Enter an amount of data."),
            Self::NotANumber => gettext("The amount must be a number, like 2 or 1.5."),
            Self::NotPositive => gettext("The amount must be more than zero."),
            Self::TooLarge => gettext("The amount is too large."),
            Self::UnknownUnit => gettext("Choose a unit."),
            Self::UnknownPeriod => gettext("Choose a period."),
            Self::NotWholeBytes => gettext("The amount must come to whole bytes."),
        }
    }
}

/// A valid budget: bytes per period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetInput {
    pub bytes: u64,
    pub period: &'static str,
}

/// Parses the dialog's fields. `amount` accepts a decimal point or comma.
pub fn parse(amount: &str, unit: &str, period: &str) -> Result<BudgetInput, BudgetInputError> {
    let amount = amount.trim().replace(',', ".");
    if amount.is_empty() {
        return Err(BudgetInputError::Empty);
    }
    let value: f64 = amount.parse().map_err(|_| BudgetInputError::NotANumber)?;
    if !value.is_finite() {
        return Err(BudgetInputError::NotANumber);
    }
    if value <= 0.0 {
        return Err(BudgetInputError::NotPositive);
    }
    let (_, size) = UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .ok_or(BudgetInputError::UnknownUnit)?;
    let approx = value * *size as f64;
    // u64::MAX as f64 rounds up to 2^64, which does not fit.
    if approx >= u64::MAX as f64 {
        return Err(BudgetInputError::TooLarge);
    }
    if approx < 1.0 {
        return Err(BudgetInputError::NotPositive);
    }
    // f64 accepts forms the policy file does not ("1e3", "+2", ".5").
    let plain = amount.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let amount = if amount.starts_with('.') {
        format!("0{amount}")
    } else {
        amount
    };
    if !plain {
        return Err(BudgetInputError::NotANumber);
    }
    let bytes = units::parse_size(&format!("{amount}{unit}"))
        .map_err(|_| BudgetInputError::NotWholeBytes)?;
    let period = PERIODS
        .iter()
        .find(|p| **p == period)
        .ok_or(BudgetInputError::UnknownPeriod)?;
    Ok(BudgetInput { bytes, period })
}

#[cfg(test)]
mod tests {
    use super::*;
    use BudgetInputError::*;

    #[test]
    fn table() {
        let ok = |bytes, period| Ok(BudgetInput { bytes, period });
        for (amount, unit, period, want) in [
            ("2", "GiB", "monthly", ok(2 << 30, "monthly")),
            (" 1.5 ", "GB", "daily", ok(1_500_000_000, "daily")),
            ("0,5", "MiB", "weekly", ok(1 << 19, "weekly")),
            ("500", "MB", "monthly", ok(500_000_000, "monthly")),
            ("", "GiB", "monthly", Err(Empty)),
            ("   ", "GiB", "monthly", Err(Empty)),
            ("two", "GiB", "monthly", Err(NotANumber)),
            ("1e400", "GiB", "monthly", Err(NotANumber)),
            ("NaN", "GiB", "monthly", Err(NotANumber)),
            ("inf", "GiB", "monthly", Err(NotANumber)),
            ("0", "GiB", "monthly", Err(NotPositive)),
            ("-1", "GiB", "monthly", Err(NotPositive)),
            ("0.0000000001", "MB", "monthly", Err(NotPositive)),
            ("99999999999999", "GiB", "monthly", Err(TooLarge)),
            ("2", "kB", "monthly", Err(UnknownUnit)),
            ("2", "GiB", "yearly", Err(UnknownPeriod)),
        ] {
            assert_eq!(
                parse(amount, unit, period),
                want,
                "{amount:?} {unit} {period}"
            );
        }
        assert!(!NotANumber.message().is_empty());
        // One size rule: the dialog's amounts are the policy file's.
        assert_eq!(parse("1.0000001", "MB", "daily"), Err(NotWholeBytes));
        assert_eq!(parse("1e3", "MB", "daily"), Err(NotANumber));
        for (unit, size) in UNITS {
            assert_eq!(units::parse_size(&format!("1{unit}")), Ok(size), "{unit}");
        }
    }
}
