//! Sizes (`2GiB`, `500MB`, `1048576`), periods, roles and on/off, validated
//! locally before anything is sent. Sizes, periods and roles follow the
//! contract's rules (`mptcp_policy_dbus::units`, the policy file's own
//! parser), so the CLI accepts exactly what a policy file accepts.

use mptcp_policy_dbus::units;
pub use mptcp_policy_dbus::units::human_bytes;

use crate::error::CliError;

/// Parses a size as the policy file does: a number followed by an optional
/// unit, case-insensitive, optional space between: `B`; decimal `KB`, `MB`,
/// `GB`, `TB` (powers of 1000); binary `KiB`, `MiB`, `GiB`, `TiB` (powers of
/// 1024). Fractions are allowed when the result is a whole number of bytes.
pub fn parse_size(input: &str) -> Result<u64, CliError> {
    units::parse_size(input).map_err(|e| {
        CliError::invalid(format!(
            "size '{input}': {e} (examples: 1048576, 500MB, 2GiB, 1.5GiB)"
        ))
    })
}

/// Checks a budget period.
pub fn parse_period(input: &str) -> Result<&'static str, CliError> {
    units::parse_period(input)
        .map(|p| p.as_str())
        .map_err(|e| CliError::invalid(format!("period '{input}': {e}")))
}

/// Checks a role against the contract's list.
pub fn parse_role(input: &str) -> Result<&'static str, CliError> {
    units::parse_role(input)
        .map(|r| r.as_str())
        .map_err(|e| CliError::invalid(format!("role '{input}': {e}")))
}

/// `on`/`off` (also `yes`/`no`, `true`/`false`, `1`/`0`).
pub fn parse_on_off(input: &str) -> Result<bool, CliError> {
    match input.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(CliError::invalid(format!(
            "'{input}': expected 'on' or 'off'"
        ))),
    }
}

/// An interface name or type as given on the command line: non-empty, at
/// most 15 bytes for a name (IFNAMSIZ - 1) — a type name is short too — and
/// no whitespace or '/'.
pub fn check_interface(input: &str) -> Result<&str, CliError> {
    if input.is_empty()
        || input.len() > 15
        || input
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c.is_control())
    {
        return Err(CliError::invalid(format!(
            "interface '{input}': expected an interface name (at most 15 characters, \
             no spaces or '/') or a type such as wifi, cellular, ethernet"
        )));
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        for (input, bytes) in [
            ("1048576", 1_048_576),
            ("0", 0),
            ("500MB", 500_000_000),
            ("500mb", 500_000_000),
            ("500 MB", 500_000_000),
            ("2GiB", 2 * 1024 * 1024 * 1024),
            ("2gib", 2 * 1024 * 1024 * 1024),
            ("1.5GiB", 1536 * 1024 * 1024),
            ("0.5KiB", 512),
            ("10B", 10),
            ("3KiB", 3072),
            ("1TiB", 1 << 40),
            ("7 TB", 7_000_000_000_000),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(parse_size(input).ok(), Some(bytes), "{input}");
        }
    }

    #[test]
    fn bad_sizes_are_invalid_input() {
        for input in [
            "",
            "GiB",
            "2XB",
            "-1",
            "1.2.3",
            ".",
            "2 GiB extra",
            "1e9",
            "18446744073709551616",
            "17179869184GiB",
            "99999999999TB",
            // The policy file's rule (issue 15): no bare K/M/G/T, no
            // leading '.', no fractions of a byte.
            "2G",
            ".5K",
            "1.0001KB",
            "7 T",
        ] {
            let e = parse_size(input).expect_err(input);
            assert_eq!(e.exit_code(), 5, "{input}");
            assert!(e.message.contains(input.trim()), "{input}: {}", e.message);
        }
    }

    #[test]
    fn roles_periods_and_switches_are_validated() {
        for r in ["preferred", "backup", "off"] {
            assert_eq!(parse_role(r).ok(), Some(r));
        }
        for r in ["Preferred", "", "active", "on"] {
            assert_eq!(parse_role(r).map_err(|e| e.exit_code()), Err(5), "{r}");
        }
        for p in ["daily", "weekly", "monthly"] {
            assert_eq!(parse_period(p).ok(), Some(p));
        }
        assert_eq!(parse_period("yearly").map_err(|e| e.exit_code()), Err(5));
        assert_eq!(parse_on_off("on").ok(), Some(true));
        assert_eq!(parse_on_off("OFF").ok(), Some(false));
        assert_eq!(parse_on_off("maybe").map_err(|e| e.exit_code()), Err(5));
        assert!(check_interface("wlan0").is_ok());
        assert!(check_interface("cellular").is_ok());
        for bad in ["", "a b", "x/y", "averyveryverylongname"] {
            assert_eq!(
                check_interface(bad).map_err(|e| e.exit_code()),
                Err(5),
                "{bad}"
            );
        }
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(2 * 1024 * 1024 * 1024), "2.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }
}
