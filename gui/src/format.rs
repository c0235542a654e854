//! Numbers as people read them: byte counts, rates, ages, dates. Pure.

use crate::i18n::gettext;

/// 1536 -> "1.5 KiB" (binary units, one decimal below 10).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

/// Bytes per second as a rate: "1.2 MiB/s".
pub fn rate(bytes_per_sec: f64) -> String {
    format!("{}/s", bytes(bytes_per_sec.max(0.0).round() as u64))
}

/// An age in seconds: "12 s", "3 min 5 s", "2 h 10 min".
pub fn age(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The local date of an RFC 3339 time ("2026-12-01T00:00:00+01:00" ->
/// "2026-12-01"); the text itself when it does not parse.
pub fn date(rfc3339: &str) -> String {
    match rfc3339.parse::<jiff::Timestamp>() {
        Ok(ts) => ts
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d")
            .to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// The role names the daemon uses, in selector order.
pub const ROLE_IDS: [&str; 3] = mptcp_policy_dbus::names::ROLES;

/// A role as shown in the selector.
pub fn role_label(role: &str) -> String {
    match role {
        "preferred" => gettext("Preferred"),
        "backup" => gettext("Backup"),
        "off" => gettext("Off"),
        other => other.to_string(), // a newer daemon's role: shown as is
    }
}

/// The symbolic icon for an interface type.
pub fn type_icon(kind: &str) -> &'static str {
    match kind {
        "wifi" => "network-wireless-symbolic",
        "cellular" => "network-cellular-symbolic",
        "ethernet" => "network-wired-symbolic",
        "vpn" => "network-vpn-symbolic",
        _ => "network-workgroup-symbolic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        for (n, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.5 KiB"),
            (3 << 20, "3.0 MiB"),
            (2 << 30, "2.0 GiB"),
            (50 << 30, "50 GiB"),
        ] {
            assert_eq!(bytes(n), want);
        }
        assert_eq!(rate(1_258_291.2), "1.2 MiB/s");
        assert_eq!(rate(-3.0), "0 B/s");
        for (s, want) in [
            (0, "0 s"),
            (59, "59 s"),
            (185, "3 min 5 s"),
            (7800, "2 h 10 min"),
        ] {
            assert_eq!(age(s), want);
        }
        assert_eq!(date("not a date"), "not a date");
        assert_eq!(date("2026-12-01T12:00:00+00:00").len(), 10);
        assert_eq!(role_label("preferred"), "Preferred");
        assert_eq!(role_label("future-role"), "future-role");
        assert_eq!(type_icon("wifi"), "network-wireless-symbolic");
    }
}
