//! Fixed names (DESIGN.md): scripts, hooks and tests depend on them.

/// Well-known bus name of the daemon.
pub const BUS_NAME: &str = "org.mptcp.Policy1";
/// Object path of the manager (also the ObjectManager root).
pub const MANAGER_PATH: &str = "/org/mptcp/Policy1";
/// Interface of the manager object.
pub const MANAGER_INTERFACE: &str = "org.mptcp.Policy1";
/// Interface of each network interface object.
pub const INTERFACE_INTERFACE: &str = "org.mptcp.Policy1.Interface";
/// Interface of each MPTCP connection object.
pub const CONNECTION_INTERFACE: &str = "org.mptcp.Policy1.Connection";
/// Prefix of error names.
pub const ERROR_PREFIX: &str = "org.mptcp.Policy1.Error";

/// polkit action: switch an interface's role (a local active user may).
pub const ACTION_SET_ROLE: &str = "org.mptcp.policy.set-role";
/// polkit action: everything else that changes state (admin).
pub const ACTION_CONFIGURE: &str = "org.mptcp.policy.configure";

/// Roles as they travel over the bus (lowercase; clients must accept
/// unknown values).
pub const ROLES: [&str; 3] = ["preferred", "backup", "off"];

/// Budget periods as they travel over the bus (`SetBudget`,
/// `BudgetPeriod`).
pub const PERIODS: [&str; 3] = ["daily", "weekly", "monthly"];

/// `/org/mptcp/Policy1/interface/<escaped name>`.
pub fn interface_path(name: &str) -> String {
    format!("{MANAGER_PATH}/interface/{}", escape_path_element(name))
}

/// `/org/mptcp/Policy1/connection/<token>`.
pub fn connection_path(token: u32) -> String {
    format!("{MANAGER_PATH}/connection/{token}")
}

/// Escapes a string into one object-path element: `[A-Za-z0-9]` stay,
/// every other byte becomes `_xx` (lowercase hex), like systemd's unit
/// paths. The empty string becomes `_`.
pub fn escape_path_element(s: &str) -> String {
    if s.is_empty() {
        return "_".into();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    out
}

/// Inverse of [`escape_path_element`]; `None` if it is not a valid escape.
pub fn unescape_path_element(s: &str) -> Option<String> {
    if s == "_" {
        return Some(String::new());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'_' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_and_is_path_safe() {
        for (name, escaped) in [
            ("wlan0", "wlan0"),
            ("eth0.100", "eth0_2e100"),
            ("wwan_0", "wwan_5f0"),
            ("", "_"),
            ("wl-ä", "wl_2d_c3_a4"),
        ] {
            assert_eq!(escape_path_element(name), escaped);
            assert_eq!(unescape_path_element(escaped).as_deref(), Some(name));
            assert!(escaped
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        }
        assert_eq!(
            interface_path("wlan0"),
            "/org/mptcp/Policy1/interface/wlan0"
        );
        assert_eq!(connection_path(42), "/org/mptcp/Policy1/connection/42");
        assert_eq!(unescape_path_element("_zz"), None);
    }
}
