//! Sizes (`2GiB`, `500MB`, `1048576`), periods, roles and on/off, validated
//! locally before anything is sent, and bytes formatted for humans.

use crate::error::CliError;

/// Budget periods the daemon accepts.
pub const PERIODS: [&str; 3] = ["daily", "weekly", "monthly"];

/// Parses a size: a number (decimal fractions allowed with a unit) followed
/// by an optional unit, case-insensitive, optional space between:
/// `B`; decimal `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB` (powers of 1000);
/// binary `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024). The result is rounded
/// down to whole bytes.
pub fn parse_size(input: &str) -> Result<u64, CliError> {
    let bad = |why: &str| {
        CliError::invalid(format!(
            "size '{input}': {why} (examples: 1048576, 500MB, 2GiB, 1.5GiB)"
        ))
    };
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit = unit.trim();
    if number.is_empty() {
        return Err(bad("no number"));
    }
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000u64.pow(2),
        "g" | "gb" => 1000u64.pow(3),
        "t" | "tb" => 1000u64.pow(4),
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        _ => return Err(bad(&format!("unknown unit '{unit}'"))),
    };
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(bad("not a number"));
    }
    let too_big = || bad("too large");
    let int: u64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| too_big())?
    };
    let mut bytes = int.checked_mul(multiplier).ok_or_else(too_big)?;
    if !frac_part.is_empty() {
        // Exact: frac / 10^digits * multiplier, in u128, rounded down.
        if frac_part.len() > 18 {
            return Err(bad("too many decimals"));
        }
        let frac: u128 = frac_part.parse().map_err(|_| bad("not a number"))?;
        let scale = 10u128.pow(frac_part.len() as u32);
        let extra = frac * u128::from(multiplier) / scale;
        let extra = u64::try_from(extra).map_err(|_| too_big())?;
        bytes = bytes.checked_add(extra).ok_or_else(too_big)?;
    }
    Ok(bytes)
}

/// Checks a budget period.
pub fn parse_period(input: &str) -> Result<&'static str, CliError> {
    PERIODS
        .iter()
        .copied()
        .find(|p| *p == input)
        .ok_or_else(|| {
            CliError::invalid(format!(
                "period '{input}': expected one of {}",
                PERIODS.join(", ")
            ))
        })
}

/// Checks a role against the contract's list.
pub fn parse_role(input: &str) -> Result<&'static str, CliError> {
    mptcp_policy_dbus::names::ROLES
        .iter()
        .copied()
        .find(|r| *r == input)
        .ok_or_else(|| {
            CliError::invalid(format!(
                "role '{input}': expected one of {}",
                mptcp_policy_dbus::names::ROLES.join(", ")
            ))
        })
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

/// Bytes for humans, binary units with one decimal: `512 B`, `1.5 KiB`,
/// `2.0 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
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
            ("2G", 2_000_000_000),
            ("1.5GiB", 1536 * 1024 * 1024),
            ("0.5KiB", 512),
            (".5K", 500),
            ("1.0001KB", 1000),
            ("10B", 10),
            ("3KiB", 3072),
            ("1TiB", 1 << 40),
            ("7 T", 7_000_000_000_000),
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
