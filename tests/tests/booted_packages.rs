//! The Debian packages on a booted Debian 12 (systemd as PID 1 in a
//! container inside a WiFi/LTE testbed), installed with apt the way an
//! administrator does: D-Bus activation, the hardened unit's user and
//! capabilities, endpoints, health polling, reload, restart, the userspace
//! path manager's sysctl, the BPF path's refusal, then `apt remove` and
//! `apt purge` leaving nothing behind. Needs the packages from
//! scripts/package.sh (scripts/test.sh builds them first).

use std::time::Duration;

use anyhow::{Context, Result};
use mptcp_policy_tests::booted::packages::{
    endpoint_line, with_journal_on_failure, workspace, SERVICE_USER, UNIT,
};
use mptcp_policy_tests::booted::System;
use mptcp_policy_tests::process::{ip, wait_for};
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};

/// An endpoint an administrator added by hand: never touched.
const FOREIGN_ADDR: &str = "10.1.0.77";

/// The unit's capabilities as a CapEff mask (numbers from capability.h).
fn unit_capabilities() -> Result<u64> {
    let unit = std::fs::read_to_string(workspace().join("systemd/mptcp-policyd.service"))?;
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("AmbientCapabilities="))
        .context("AmbientCapabilities= in the unit")?;
    let mut mask = 0u64;
    for cap in line.split_whitespace() {
        let bit = match cap {
            "CAP_NET_ADMIN" => 12,
            "CAP_PERFMON" => 38,
            "CAP_BPF" => 39,
            other => anyhow::bail!("add {other} to the table in this test"),
        };
        mask |= 1 << bit;
    }
    Ok(mask)
}

/// One field of /proc/PID/status inside the container.
fn proc_status(sys: &System, pid: u32, field: &str) -> Result<String> {
    let status = sys.container.ok(&["cat", &format!("/proc/{pid}/status")])?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .with_context(|| format!("{field} in /proc/{pid}/status"))
}

/// `mptcp-policyctl --json status` inside, as JSON.
fn status(sys: &System) -> Result<serde_json::Value> {
    let text = sys.container.ok(&["mptcp-policyctl", "--json", "status"])?;
    serde_json::from_str(&text).context("status JSON")
}

fn interface<'a>(status: &'a serde_json::Value, name: &str) -> Result<&'a serde_json::Value> {
    status["interfaces"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == name))
        .with_context(|| format!("{name} in {status}"))
}

fn exists(sys: &System, path: &str) -> Result<bool> {
    Ok(sys.container.exec(&["test", "-e", path])?.status.success())
}

#[test]
fn installed_service_starts_on_demand_runs_hardened_and_is_removed_cleanly() {
    let sys = System::boot("mptcp-pkg").expect("booting the container");
    with_journal_on_failure(&sys, Some(UNIT), lifecycle);
}

fn lifecycle(sys: &System) -> Result<()> {
    let phone = sys.testbed.client_ns().to_string();
    ip(&[
        "-n",
        &phone,
        "addr",
        "add",
        &format!("{FOREIGN_ADDR}/24"),
        "dev",
        "wlan0",
    ])?;
    ip(&[
        "-n",
        &phone,
        "mptcp",
        "endpoint",
        "add",
        FOREIGN_ADDR,
        "id",
        "77",
        "signal",
    ])?;

    install(sys)?;
    activation_and_hardening(sys)?;
    health_polling(sys)?;
    reload_and_restart_keep_state(sys)?;
    userspace_path_manager(sys)?;
    remove_and_purge(sys)?;
    Ok(())
}

fn install(sys: &System) -> Result<()> {
    let out = sys.install(&["mptcp-policyd", "mptcp-policy-panel"])?;
    println!("apt install:\n{out}");
    let c = &sys.container;
    assert_eq!(c.ok(&["systemctl", "is-enabled", UNIT])?.trim(), "enabled");
    // Not started by the installation: the first client starts it.
    assert_eq!(sys.unit_state()?, "inactive");
    c.ok(&["getent", "passwd", SERVICE_USER])
        .context("the system user made by systemd-sysusers")?;
    for f in [
        "/lib/systemd/system/mptcp-policyd.service",
        "/usr/lib/sysusers.d/mptcp-policyd.conf",
        "/usr/share/dbus-1/system.d/org.mptcp.Policy1.conf",
        "/usr/share/dbus-1/system-services/org.mptcp.Policy1.service",
        "/usr/share/polkit-1/actions/org.mptcp.policy.policy",
        "/usr/share/man/man8/mptcp-policyd.8.gz",
        "/usr/share/man/man1/mptcp-policyctl.1.gz",
        "/usr/share/man/man5/mptcp-policyd.toml.5.gz",
        "/usr/lib/mptcp-policyd/libmptcp_preload.so",
        "/usr/share/applications/org.mptcp.PolicyPanel.desktop",
        "/usr/share/locale/de/LC_MESSAGES/mptcp-policy-panel.mo",
    ] {
        assert!(exists(sys, f)?, "{f} not installed");
    }
    let conffiles = c.ok(&["dpkg-query", "-W", "-f=${Conffiles}", "mptcp-policyd"])?;
    for f in [
        "/etc/mptcp-policyd/policy.toml",
        "/etc/NetworkManager/conf.d/90-mptcp-policyd.conf",
        "/etc/NetworkManager/dispatcher.d/90-mptcp-policyd",
    ] {
        assert!(conffiles.contains(f), "{f} is no conffile: {conffiles}");
    }
    Ok(())
}

fn activation_and_hardening(sys: &System) -> Result<()> {
    let c = &sys.container;
    let text = c.ok(&["mptcp-policyctl", "status"])?;
    assert!(text.contains("wlan0") && text.contains("wwan0"), "{text}");
    assert_eq!(
        sys.unit_state()?,
        "active",
        "D-Bus activation started the unit"
    );
    let pid = sys.main_pid()?;
    let uid = c.ok(&["id", "-u", SERVICE_USER])?.trim().to_string();
    let uids = proc_status(sys, pid, "Uid")?;
    assert!(
        uids.split_whitespace().all(|u| u == uid),
        "runs as {uids}, not {SERVICE_USER} ({uid})"
    );
    let cap_eff = u64::from_str_radix(&proc_status(sys, pid, "CapEff")?, 16)?;
    assert_eq!(
        cap_eff,
        unit_capabilities()?,
        "CapEff {cap_eff:#x} is not exactly the unit's capabilities"
    );
    // The example policy: WiFi preferred, cellular backup.
    let eps = sys.wait_endpoints("WiFi subflow and LTE backup endpoints", |eps| {
        endpoint_line(eps, WLAN_V4).is_some_and(|l| l.contains("subflow") && !l.contains("backup"))
            && endpoint_line(eps, WWAN_V4).is_some_and(|l| l.contains("backup"))
    })?;
    assert!(endpoint_line(&eps, FOREIGN_ADDR).is_some(), "{eps}");
    let journal = c.journal(Some(UNIT));
    assert!(
        journal.contains("ip mptcp endpoint add"),
        "no decision lines:\n{journal}"
    );
    // No app enabled: the BPF program (and the kernel's BTF) is left alone.
    assert!(journal.contains("bpf: not loaded"), "{journal}");
    Ok(())
}

/// inet_diag under the hardened unit: WiFi goes silent under a stream, the
/// health monitor sees it and removes the WiFi endpoint.
fn health_polling(sys: &System) -> Result<()> {
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_mptcp-stream"));
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 8_000,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&sys.testbed, &bin, &spec)?;
    std::thread::sleep(Duration::from_millis(1500)); // the stream gets going
    sys.testbed.blackhole("wlan0")?;
    sys.wait_endpoints("WiFi endpoint removed on silent loss", |eps| {
        endpoint_line(eps, WLAN_V4).is_none()
    })?;
    let journal = sys.container.journal(Some(UNIT));
    assert!(journal.contains("-> stalled"), "{journal}");
    sys.testbed.unblackhole("wlan0")?;
    let result = run.wait(Duration::from_secs(60))?;
    result.check().context("the stream survived")?;
    sys.wait_endpoints("WiFi endpoint back", |eps| {
        endpoint_line(eps, WLAN_V4).is_some()
    })?;
    Ok(())
}

fn reload_and_restart_keep_state(sys: &System) -> Result<()> {
    let c = &sys.container;
    c.ok(&["mptcp-policyctl", "set-role", "wwan0", "preferred"])?;
    c.ok(&["mptcp-policyctl", "budget", "wwan0", "1GiB", "monthly"])?;
    sys.wait_endpoints("LTE active", |eps| {
        endpoint_line(eps, WWAN_V4).is_some_and(|l| !l.contains("backup"))
    })?;
    // Traffic over LTE is counted against its budget.
    let phone = sys.testbed.client_ns().to_string();
    mptcp_policy_tests::process::ns_exec(
        &phone,
        "ping",
        &[
            "-q", "-c", "100", "-i", "0.01", "-s", "1200", "-I", "wwan0", "10.2.0.1",
        ],
    )?;
    wait_for("usage counted", Duration::from_secs(10), || {
        Ok(interface(&status(sys)?, "wwan0")?["bytes_used"].as_u64() >= Some(100 * 1200))
    })?;
    let used = interface(&status(sys)?, "wwan0")?["bytes_used"]
        .as_u64()
        .context("bytes_used")?;

    // SIGHUP: an admin's file change (WiFi to backup) takes effect.
    let policy = c.ok(&["cat", "/etc/mptcp-policyd/policy.toml"])?;
    let changed = policy.replacen(
        "[[interface]]",
        "[[interface]]\nname = \"wlan0\"\nrole = \"backup\"\n\n[[interface]]",
        1,
    );
    write_policy(sys, &changed)?;
    c.ok(&["systemctl", "reload", UNIT])?;
    sys.wait_endpoints("WiFi backup after reload", |eps| {
        endpoint_line(eps, WLAN_V4).is_some_and(|l| l.contains("backup"))
    })?;
    assert!(c.journal(Some(UNIT)).contains("policy reloaded"));

    let pid = sys.main_pid()?;
    c.ok(&["systemctl", "restart", UNIT])?;
    let after = status(sys)?;
    assert_ne!(sys.main_pid()?, pid, "restarted");
    let wwan = interface(&after, "wwan0")?;
    assert_eq!(wwan["role"], "preferred", "role kept: {wwan}");
    assert_eq!(
        wwan["budget_bytes"].as_u64(),
        Some(1 << 30),
        "budget kept: {wwan}"
    );
    assert!(
        wwan["bytes_used"].as_u64() >= Some(used),
        "usage kept ({used} before): {wwan}"
    );
    Ok(())
}

fn write_policy(sys: &System, text: &str) -> Result<()> {
    std::fs::write(
        sys.container.root().join("etc/mptcp-policyd/policy.toml"),
        text,
    )?;
    Ok(())
}

fn userspace_path_manager(sys: &System) -> Result<()> {
    let c = &sys.container;
    let phone = sys.testbed.client_ns().to_string();
    let sysctl = || -> Result<String> {
        Ok(mptcp_policy_tests::process::ns_exec(
            &phone,
            "cat",
            &["/proc/sys/net/mptcp/path_manager"],
        )?
        .trim()
        .to_string())
    };
    assert_eq!(sysctl()?, "kernel");
    let policy = c.ok(&["cat", "/etc/mptcp-policyd/policy.toml"])?;
    write_policy(
        sys,
        &policy.replacen(
            "path_manager = \"kernel\"",
            "path_manager = \"userspace\"",
            1,
        ),
    )?;
    c.ok(&["systemctl", "restart", UNIT])?;
    wait_for(
        "net.mptcp.path_manager = userspace",
        Duration::from_secs(10),
        || Ok(sysctl()? == "userspace"),
    )?;
    let s = status(sys)?;
    assert_eq!(s["path_manager"], "userspace", "{s}");
    c.ok(&["systemctl", "stop", UNIT])?;
    assert_eq!(sysctl()?, "kernel", "restored on stop");
    write_policy(sys, &policy)?;
    Ok(())
}

fn remove_and_purge(sys: &System) -> Result<()> {
    let c = &sys.container;
    c.ok(&["mptcp-policyctl", "status"])?; // running again (activation)
    sys.wait_endpoints("daemon endpoints", |eps| {
        endpoint_line(eps, WWAN_V4).is_some()
    })?;
    println!("{}", sys.apt("remove -y mptcp-policy-panel mptcp-policyd")?);
    let eps = sys.endpoints()?;
    assert!(endpoint_line(&eps, WLAN_V4).is_none(), "{eps}");
    assert!(endpoint_line(&eps, WWAN_V4).is_none(), "{eps}");
    assert!(
        endpoint_line(&eps, FOREIGN_ADDR).is_some(),
        "the admin's endpoint: {eps}"
    );
    for gone in [
        "/lib/systemd/system/mptcp-policyd.service",
        "/usr/share/dbus-1/system.d/org.mptcp.Policy1.conf",
        "/usr/share/dbus-1/system-services/org.mptcp.Policy1.service",
        "/usr/share/polkit-1/actions/org.mptcp.policy.policy",
        "/usr/bin/mptcp-policyd",
    ] {
        assert!(!exists(sys, gone)?, "{gone} left after apt remove");
    }
    // Like dh_installsystemd: the unit file is gone and the name stays
    // masked until purge, so nothing can start the removed service.
    assert_eq!(load_state(sys)?, "masked");
    // Kept: the admin's files and the state (roles, budgets, usage).
    assert!(exists(sys, "/etc/mptcp-policyd/policy.toml")?);
    assert!(exists(sys, "/var/lib/mptcp-policyd")?);

    println!("{}", sys.apt("purge -y mptcp-policyd mptcp-policy-panel")?);
    for gone in [
        "/var/lib/mptcp-policyd",
        "/etc/mptcp-policyd",
        "/etc/NetworkManager/conf.d/90-mptcp-policyd.conf",
        "/etc/NetworkManager/dispatcher.d/90-mptcp-policyd",
    ] {
        assert!(!exists(sys, gone)?, "{gone} left after apt purge");
    }
    assert!(
        !c.exec(&["getent", "passwd", SERVICE_USER])?
            .status
            .success(),
        "the system user stays after purge"
    );
    assert_eq!(load_state(sys)?, "not-found");
    let left = c.sh("ls /etc/systemd/system/mptcp-policyd.service /etc/systemd/system/*/mptcp-policyd.service 2>/dev/null || true")?;
    assert!(left.trim().is_empty(), "enable links left: {left}");
    assert!(endpoint_line(&sys.endpoints()?, FOREIGN_ADDR).is_some());
    Ok(())
}

/// systemd's `LoadState` of the unit.
fn load_state(sys: &System) -> Result<String> {
    Ok(sys
        .container
        .ok(&["systemctl", "show", "-p", "LoadState", "--value", UNIT])?
        .trim()
        .to_string())
}
