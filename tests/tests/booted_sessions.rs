//! polkit with real logind sessions on a booted Debian with the packages
//! installed: a user in an active local session may switch roles without a
//! password (allow_active), the same user outside such a session is refused
//! with NotAuthorized, and the example administrator rule grants
//! `configure` to the netdev group. Also NetworkManager as the system's
//! own service with the packaged hook and drop-in.

use std::time::Duration;

use anyhow::{Context, Result};
use mptcp_policy_tests::booted::packages::{endpoint_line, with_journal_on_failure, UNIT};
use mptcp_policy_tests::booted::System;
use mptcp_policy_tests::process::wait_for;
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};

const USER: &str = "alice";

/// Runs `mptcp-policyctl --no-ask ARGS` as the user, in a logind session
/// when `session` says so: `Some(seat)` a local session on that seat,
/// `Some("")` a session without a seat (like an ssh login); `None` in no
/// session at all (a plain `systemd-run --uid`).
fn as_user(sys: &System, session: Option<&str>, args: &[&str]) -> Result<(bool, String)> {
    let mut argv = vec!["systemd-run", "--quiet", "--wait", "--pipe", "--collect"];
    argv.push("--uid=alice");
    let seat;
    if let Some(s) = session {
        argv.extend(["-p", "PAMName=login", "-E", "XDG_SESSION_CLASS=user"]);
        if !s.is_empty() {
            seat = format!("XDG_SEAT={s}");
            argv.extend(["-E", &seat]);
        }
    }
    argv.extend(["mptcp-policyctl", "--json", "--no-ask"]);
    argv.extend(args);
    let out = sys.container.exec(&argv)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

fn role(sys: &System, iface: &str) -> Result<String> {
    let text = sys.container.ok(&["mptcp-policyctl", "--json", "status"])?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    v["interfaces"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == iface))
        .and_then(|i| i["role"].as_str())
        .map(str::to_string)
        .with_context(|| format!("{iface} in {v}"))
}

#[test]
fn polkit_follows_logind_sessions_and_the_admin_rule() {
    let sys = System::boot("mptcp-polkit").expect("booting the container");
    with_journal_on_failure(&sys, None, sessions);
}

fn sessions(sys: &System) -> Result<()> {
    let c = &sys.container;
    sys.install(&["mptcp-policyd"])?;
    c.ok(&["useradd", "--create-home", USER])?;
    c.ok(&["mptcp-policyctl", "status"])?;
    assert_eq!(role(sys, "wwan0")?, "backup");

    // Outside any session: set-role needs an administrator (auth_admin).
    let (ok, text) = as_user(sys, None, &["set-role", "wwan0", "preferred"])?;
    assert!(!ok && text.contains("NotAuthorized"), "no session: {text}");
    // A session without a seat is not local: refused too.
    let (ok, text) = as_user(sys, Some(""), &["set-role", "wwan0", "preferred"])?;
    assert!(
        !ok && text.contains("NotAuthorized"),
        "remote session: {text}"
    );
    assert_eq!(role(sys, "wwan0")?, "backup", "nothing changed");

    // An active local session on seat0: allowed without a password.
    let (ok, text) = as_user(sys, Some("seat0"), &["set-role", "wwan0", "preferred"])?;
    assert!(ok, "active local session refused: {text}");
    assert_eq!(role(sys, "wwan0")?, "preferred");
    sys.wait_endpoints("LTE active", |eps| {
        endpoint_line(eps, WWAN_V4).is_some_and(|l| !l.contains("backup"))
    })?;
    // `configure` needs an administrator even there.
    let (ok, text) = as_user(sys, Some("seat0"), &["budget", "wwan0", "1GiB", "monthly"])?;
    assert!(
        !ok && text.contains("NotAuthorized"),
        "budget allowed: {text}"
    );

    // The example rule: the netdev group may configure.
    c.ok(&["usermod", "-a", "-G", "netdev", USER])?;
    // Written under a name polkitd ignores, then renamed into place: polkitd
    // reloads on every change of the directory, and a reload in the middle
    // of the write read half a file ("Error loading script") and kept
    // the rules without it.
    c.ok(&[
        "install",
        "-m",
        "644",
        "/usr/share/doc/mptcp-policyd/50-mptcp-policy.rules.example",
        "/etc/polkit-1/rules.d/50-mptcp-policy.rules.new",
    ])?;
    c.ok(&[
        "mv",
        "/etc/polkit-1/rules.d/50-mptcp-policy.rules.new",
        "/etc/polkit-1/rules.d/50-mptcp-policy.rules",
    ])?;
    // polkitd reloads rules on its own within about two seconds.
    wait_for("the rule grants configure", Duration::from_secs(15), || {
        Ok(as_user(sys, None, &["budget", "wwan0", "1GiB", "monthly"])?.0)
    })?;
    let journal = c.journal(Some(UNIT));
    assert!(journal.contains("D-Bus SetBudget wwan0"), "{journal}");
    Ok(())
}

#[test]
fn networkmanager_hands_its_events_to_the_daemon_and_adds_no_endpoints() {
    let sys = System::boot("mptcp-nm").expect("booting the container");
    with_journal_on_failure(&sys, None, networkmanager);
}

fn networkmanager(sys: &System) -> Result<()> {
    let c = &sys.container;
    // No "Wired connection" of NetworkManager's own on the test's links:
    // the test activates the one it wants.
    std::fs::write(
        c.root().join("etc/NetworkManager/conf.d/00-test.conf"),
        "[main]\nno-auto-default=*\n",
    )?;
    // Enabling also enables its dispatcher (Also=), as on an installed system.
    c.ok(&["systemctl", "enable", "--now", "NetworkManager.service"])?;
    wait_for("NetworkManager started", Duration::from_secs(30), || {
        Ok(c.exec(&["nmcli", "-t", "-f", "STARTUP", "general"])?
            .stdout
            .starts_with(b"started"))
    })?;
    sys.install(&["mptcp-policyd"])?;
    c.ok(&["mptcp-policyctl", "status"])?;
    sys.wait_endpoints("daemon endpoints", |eps| {
        endpoint_line(eps, WLAN_V4).is_some() && endpoint_line(eps, WWAN_V4).is_some()
    })?;
    c.ok(&[
        "nmcli",
        "connection",
        "add",
        "type",
        "ethernet",
        "ifname",
        "wwan0",
        "con-name",
        "lte",
        "ipv4.method",
        "manual",
        "ipv4.addresses",
        "10.2.0.2/24",
        "ipv6.method",
        "disabled",
        "connection.metered",
        "yes",
    ])?;
    c.ok(&["nmcli", "--wait", "20", "connection", "up", "lte"])?;
    // The dispatcher ran the packaged hook, which told the daemon.
    wait_for(
        "the hook's event in the daemon",
        Duration::from_secs(15),
        || {
            Ok(c.journal(Some(UNIT))
                .contains("NetworkManager hook: wwan0 up"))
        },
    )?;
    // Every endpoint in the kernel is the daemon's: the drop-in kept
    // NetworkManager from adding its own.
    let text = c.ok(&["mptcp-policyctl", "--json", "status"])?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(v["foreign_endpoints"], serde_json::json!([]), "{v}");
    let eps = sys.endpoints()?;
    assert_eq!(eps.lines().count(), 2, "{eps}");
    Ok(())
}
