//! Byte sizes written with units (`"2GiB"`, `"500 MB"`, `"1.5TB"`): parsing
//! and the canonical form `to_toml` writes. No I/O here.

/// Units, longest first so `GiB` is tried before `B`. Decimal (SI) and
/// binary (IEC) multiples; matched case-insensitively.
const UNITS: &[(&str, u64)] = &[
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("b", 1),
];

/// Parses a size such as `"2GiB"`, `"1.5 GB"` or `"4096"` (bytes).
/// Fractions are allowed when the result is a whole number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let lower = s.to_ascii_lowercase();
    let (number, factor) = UNITS
        .iter()
        .find(|(unit, _)| lower.ends_with(unit))
        .map_or((s, 1), |(unit, factor)| {
            (s[..s.len() - unit.len()].trim_end(), *factor)
        });
    let bad = || {
        format!("invalid size {text:?} (expected a number with an optional unit B, KB, KiB, MB, MiB, GB, GiB, TB or TiB)")
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_ok(whole) || !digits_ok(frac) || (number.ends_with('.')) {
        return Err(bad());
    }
    let too_big = || format!("size {text:?} is too large");
    let whole: u128 = whole.parse().map_err(|_| too_big())?;
    let mut value = whole * u128::from(factor);
    if !frac.is_empty() {
        let scale = 10u128.checked_pow(frac.len() as u32).ok_or_else(too_big)?;
        let frac: u128 = frac.parse().map_err(|_| too_big())?;
        let part = frac * u128::from(factor);
        if !part.is_multiple_of(scale) {
            return Err(format!("size {text:?} is not a whole number of bytes"));
        }
        value += part / scale;
    }
    u64::try_from(value).map_err(|_| too_big())
}

/// Bytes for humans (log lines, reasons), binary units with one decimal as
/// `mptcp-policyctl` prints them: `512 B`, `1.5 KiB`, `2.0 GiB`.
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

/// The shortest exact text for `bytes` (`2GiB`, `500MB`, `1234B`); on a
/// tie binary units win.
pub fn format_size(bytes: u64) -> String {
    const ORDER: &[(&str, u64)] = &[
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1_000),
    ];
    let mut best = format!("{bytes}B");
    if bytes != 0 {
        for (unit, factor) in ORDER {
            let text = format!("{}{unit}", bytes / factor);
            if bytes.is_multiple_of(*factor) && text.len() < best.len() {
                best = text;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::{format_size, parse_size};

    #[test]
    fn parse_table() {
        for (text, want) in [
            ("2GiB", Ok(2 << 30)),
            ("2 GiB", Ok(2 << 30)),
            ("2gib", Ok(2 << 30)),
            ("2GB", Ok(2_000_000_000)),
            ("1.5GB", Ok(1_500_000_000)),
            ("0.5KiB", Ok(512)),
            ("1KB", Ok(1000)),
            ("1kb", Ok(1000)),
            ("3MiB", Ok(3 << 20)),
            ("3MB", Ok(3_000_000)),
            ("1TiB", Ok(1 << 40)),
            ("2TB", Ok(2_000_000_000_000)),
            ("4096", Ok(4096)),
            ("4096B", Ok(4096)),
            ("0", Ok(0)),
        ] {
            assert_eq!(parse_size(text), want, "{text}");
        }
        for bad in [
            "",
            "GiB",
            "2XB",
            "-1GB",
            "1.GB",
            ".5GB",
            "1..5GB",
            "1.0001KB",
            "2 G iB",
            "99999999TiB",
            "1e9",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn format_round_trips() {
        for bytes in [
            0,
            1,
            512,
            1000,
            1024,
            1536,
            2 << 30,
            2_000_000_000,
            u64::MAX,
        ] {
            assert_eq!(parse_size(&format_size(bytes)), Ok(bytes), "{bytes}");
        }
        assert_eq!(format_size(2 << 30), "2GiB");
        assert_eq!(format_size(2_000_000_000), "2GB");
        assert_eq!(format_size(1234), "1234B");
    }
}
