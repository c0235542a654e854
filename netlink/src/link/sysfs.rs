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

/// Same as [`hints`] with another root (tests).
pub fn hints_under(root: &Path, name: &str) -> SysfsHints {
    // An interface name never contains '/', but names come from the kernel
    // and config: refuse anything that could walk out of the directory.
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return SysfsHints::default();
    }
    let dir = root.join(name);
    let devtype = read_attribute(&dir.join("uevent")).and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("DEVTYPE=").map(|v| v.trim().to_string()))
    });
    // cfg80211 marks every device of its own DEVTYPE=wlan (its `phy80211`
    // link would say nothing more): no lookup then. Drivers with wireless
    // extensions only show `wireless/`.
    let wireless = devtype.as_deref() == Some("wlan") || dir.join("wireless").exists();
    SysfsHints { devtype, wireless }
}

/// A sysfs attribute: at most a page, returned whole by the first read, so
/// one `read` with no `stat` before it (what `fs::read_to_string` does).
fn read_attribute(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    let n = std::fs::File::open(path).ok()?.read(&mut buf).ok()?;
    String::from_utf8(buf[..n].to_vec()).ok()
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
}
