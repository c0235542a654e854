//! Interface type hints from sysfs: `DEVTYPE=` in `uevent` (`wlan`, `wwan`)
//! and the presence of `wireless/`. Reads the sysfs of the
//! calling process's mount namespace (`ip netns exec` remounts it per
//! network namespace). Missing files are not errors: they give no hint.

use std::path::Path;

/// What sysfs says about an interface's nature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysfsHints {
    /// `DEVTYPE=` from `/sys/class/net/NAME/uevent`, e.g. `wlan`, `wwan`.
    pub devtype: Option<String>,
    /// `DEVTYPE=wlan`, or `/sys/class/net/NAME/wireless` exists.
    pub wireless: bool,
}

/// Reads the hints for `name` below `/sys/class/net`.
pub fn hints(name: &str) -> SysfsHints {
    hints_under(Path::new("/sys/class/net"), name)
}

/// The hints of a link whose rtnetlink kind (`IFLA_INFO_KIND`) is given:
/// for the virtual devices below the kind alone says what sysfs would (none
/// of them is ever wireless; `DEVTYPE` as their drivers set it), so there is
/// nothing to read — two to four file-system calls less per interface at
/// start. Other kinds, and devices without one (every physical NIC, WiFi and
/// modem), are read from sysfs.
pub fn hints_for(name: &str, kind: Option<&str>) -> SysfsHints {
    match kind.and_then(virtual_devtype) {
        Some(devtype) => SysfsHints {
            devtype: devtype.map(str::to_string),
            wireless: false,
        },
        None => hints(name),
    }
}

/// `Some(DEVTYPE)` for kinds known never to be radios (checked against the
/// kernel's drivers and, for veth, bridge, vxlan, macvlan, tun and ifb,
/// against sysfs on this kernel); `None` for any other kind.
fn virtual_devtype(kind: &str) -> Option<Option<&'static str>> {
    Some(match kind {
        "veth" | "dummy" | "ifb" | "macvlan" | "tun" => None,
        "bridge" => Some("bridge"),
        "vlan" => Some("vlan"),
        "bond" => Some("bond"),
        "vxlan" => Some("vxlan"),
        "wireguard" => Some("wireguard"),
        _ => return None,
    })
}

/// Same as [`hints`] with another root (tests).
pub fn hints_under(root: &Path, name: &str) -> SysfsHints {
    // An interface name never contains '/', but names come from the kernel
    // and config: refuse anything that could walk out of the directory.
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return SysfsHints::default();
    }
    let dir = root.join(name);
    let devtype = crate::kernel_file::read(&dir.join("uevent"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("DEVTYPE=").map(|v| v.trim().to_string()))
        });
    // cfg80211 marks every device of its own DEVTYPE=wlan (its `phy80211`
    // link would say nothing more): no lookup then. Drivers with wireless
    // extensions only show `wireless/`.
    let wireless = devtype.as_deref() == Some("wlan") || dir.join("wireless").exists();
    SysfsHints { devtype, wireless }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_devtype_and_wireless() {
        let root = std::env::temp_dir().join(format!("mptcp-sysfs-{}", std::process::id()));
        let wl = root.join("wlp2s0");
        std::fs::create_dir_all(wl.join("wireless")).expect("mkdir");
        std::fs::write(
            wl.join("uevent"),
            "INTERFACE=wlp2s0\nIFINDEX=3\nDEVTYPE=wlan\n",
        )
        .expect("write");
        let ww = root.join("wwan0");
        std::fs::create_dir_all(&ww).expect("mkdir");
        std::fs::write(ww.join("uevent"), "DEVTYPE=wwan\n").expect("write");

        let h = hints_under(&root, "wlp2s0");
        assert_eq!(h.devtype.as_deref(), Some("wlan"));
        assert!(h.wireless);
        let h = hints_under(&root, "wwan0");
        assert_eq!(h.devtype.as_deref(), Some("wwan"));
        assert!(!h.wireless);
        assert_eq!(hints_under(&root, "missing"), SysfsHints::default());
        assert_eq!(hints_under(&root, "../etc"), SysfsHints::default());
        std::fs::remove_dir_all(&root).expect("cleanup");
    }

    #[test]
    fn virtual_kinds_need_no_sysfs() {
        // Names that do not exist in sysfs: the answer comes from the kind.
        let cases = [
            ("veth", None),
            ("tun", None),
            ("bridge", Some("bridge")),
            ("wireguard", Some("wireguard")),
            ("vlan", Some("vlan")),
        ];
        for (kind, devtype) in cases {
            let h = hints_for("no-such-link-0", Some(kind));
            assert_eq!(h.devtype.as_deref(), devtype, "{kind}");
            assert!(!h.wireless, "{kind}");
        }
        // An unknown kind (virt_wifi is a radio) and no kind fall back to
        // sysfs, which has nothing for a missing link.
        assert_eq!(
            hints_for("no-such-link-0", Some("virt_wifi")),
            SysfsHints::default()
        );
        assert_eq!(hints_for("no-such-link-0", None), SysfsHints::default());
    }
}
