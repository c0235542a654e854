//! Checks that the kernel can do MPTCP at all, so the daemon can say so in
//! one line instead of failing later with a netlink error.

use std::path::Path;

/// Fails with a one-line reason when MPTCP is missing or disabled in this
/// network namespace.
pub fn check_mptcp_enabled() -> anyhow::Result<()> {
    check_enabled_file(Path::new("/proc/sys/net/mptcp/enabled"))
}

fn check_enabled_file(path: &Path) -> anyhow::Result<()> {
    match mptcp_policy_netlink::kernel_file::read(path) {
        Err(_) => anyhow::bail!(
            "this kernel has no MPTCP support ({} is missing); a kernel >= 5.6 with CONFIG_MPTCP=y is needed",
            path.display()
        ),
        Ok(v) if v.trim() == "1" => Ok(()),
        Ok(v) => anyhow::bail!(
            "MPTCP is disabled in this network namespace ({} = {}); enable it with: sysctl net.mptcp.enabled=1",
            path.display(),
            v.trim()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_missing_and_disabled() {
        let dir = std::env::temp_dir().join(format!("mptcp-preflight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let f = dir.join("enabled");
        let missing = check_enabled_file(&f).expect_err("missing must fail");
        assert!(
            missing.to_string().contains("no MPTCP support"),
            "{missing}"
        );
        std::fs::write(&f, "0\n").expect("write");
        let off = check_enabled_file(&f).expect_err("disabled must fail");
        assert!(off.to_string().contains("disabled"), "{off}");
        std::fs::write(&f, "1\n").expect("write");
        assert!(check_enabled_file(&f).is_ok());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
