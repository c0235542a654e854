//! Sizes, periods and roles as the policy file writes them, for every
//! client: one rule everywhere, so what `mptcp-policyctl budget` or the
//! panel accepts is exactly what a policy file accepts.
//!
//! The parser is the policy crate's own (`mptcp_policy::parse_size`): the
//! file format is the contract that must never change meaning, and the
//! policy crate is pure (no I/O, no async), so the contract crate depends
//! on it instead of keeping a copy. No I/O here.

pub use mptcp_policy::{format_size, human_bytes, parse_size, Period, Role};

/// A budget period by its bus name (`daily`, `weekly`, `monthly`); the
/// error lists the accepted values.
pub fn parse_period(text: &str) -> Result<Period, String> {
    text.parse()
}

/// A role by its bus name (`preferred`, `backup`, `off`); the error lists
/// the accepted values.
pub fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bus_names_are_the_policy_names() {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(roles, crate::names::ROLES);
        let periods: Vec<&str> = Period::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(periods, crate::names::PERIODS);
        assert_eq!(parse_period("weekly"), Ok(Period::Weekly));
        assert!(parse_period("yearly").is_err());
        assert_eq!(parse_role("backup"), Ok(Role::Backup));
        assert!(parse_role("Backup").is_err());
    }

    #[test]
    fn one_size_rule() {
        // What the file accepts, the clients accept; what it rejects, they
        // reject (no "2G" meaning 2 GB here and 2 GiB elsewhere).
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        for bad in ["2G", ".5K", "1.0001KB", "7 T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(parse_size(&format_size(1536)), Ok(1536));
    }
}
