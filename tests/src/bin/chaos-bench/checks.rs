//! The end of a chaos run: the world put back, the checks, the table.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Result};
use mptcp_policy_tests::bins::default_daemon_bin;
use mptcp_policy_tests::daemon_env::DaemonEnv;
use mptcp_policy_tests::{ns_exec, wait_for};

use super::{restore_routes, signal, Tally, FOREIGN, GOOD, IFACES};

pub(crate) type Check = (String, bool, String);

/// Puts the world back, waits for the daemon to converge, checks.
pub(crate) fn settle_and_check(env: &mut DaemonEnv) -> Result<Vec<Check>> {
    let client = env.tb.client_ns().to_string();
    for i in IFACES {
        ns_exec(&client, "ip", &["link", "set", i, "up"])?;
        restore_routes(&client, i)?;
        for n in 50..56 {
            let net = if i == "wlan0" { 1 } else { 2 };
            let _ = ns_exec(
                &client,
                "ip",
                &["addr", "del", &format!("10.{net}.0.{n}/24"), "dev", i],
            );
        }
    }
    std::fs::write(&env.config, GOOD)?;
    let reset = env.bus.busctl(&[
        "call",
        "org.mptcp.Policy1",
        "/org/mptcp/Policy1",
        "org.mptcp.Policy1",
        "ResetPolicy",
    ]);
    signal(env, libc::SIGHUP);
    let mut want = vec![
        format!("{FOREIGN} id 42 signal"),
        "10.1.0.2 id ? subflow dev wlan0".to_string(),
        "10.2.0.2 id ? subflow backup dev wwan0".to_string(),
    ];
    want.sort();
    let shape = |text: &str| -> Vec<String> {
        let mut v: Vec<String> = text
            .lines()
            .map(|l| {
                let mut w: Vec<&str> = l.split_whitespace().collect();
                if w.first() != Some(&FOREIGN) && w.len() > 2 {
                    w[2] = "?";
                }
                w.join(" ")
            })
            .collect();
        v.sort();
        v
    };
    let endpoints = || ns_exec(&client, "ip", &["mptcp", "endpoint", "show"]);
    let converged = wait_for(
        "endpoints as the policy says",
        Duration::from_secs(15),
        || Ok(shape(&endpoints()?) == want),
    );
    let now = endpoints()?;
    let mut checks = vec![
        (
            "D-Bus ResetPolicy at the end".into(),
            reset.is_ok(),
            reset.err().map(|e| e.to_string()).unwrap_or_default(),
        ),
        (
            "kernel endpoints = policy + foreign".into(),
            converged.is_ok(),
            now.trim().replace('\n', "; "),
        ),
        (
            "foreign endpoint untouched".into(),
            now.lines()
                .any(|l| l.trim() == format!("{FOREIGN} id 42 signal")),
            String::new(),
        ),
    ];
    checks.extend(state_checks(env)?);
    let logs = all_logs(env.tb.tmp_dir());
    let panics = logs.matches("panicked").count();
    checks.push((
        "no panic in any daemon log".into(),
        panics == 0,
        format!("{panics}"),
    ));
    Ok(checks)
}

/// Every file of the state directory parses (JSON, or TOML through the
/// daemon's own `--check`).
pub(crate) fn state_checks(env: &DaemonEnv) -> Result<Vec<Check>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&env.state)? {
        let p = entry?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ok = match p.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(&p)?).is_ok()
            }
            Some("toml") => Command::new(default_daemon_bin())
                .arg("--config")
                .arg(&p)
                .arg("--check")
                .output()
                .is_ok_and(|o| o.status.success()),
            _ => p.is_dir(),
        };
        out.push((format!("state file {name} parses"), ok, String::new()));
    }
    if out.is_empty() {
        bail!("state directory {} is empty", env.state.display());
    }
    Ok(out)
}

pub(crate) fn all_logs(dir: &Path) -> String {
    let mut all = String::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("mptcp-policyd") && name.ends_with(".err") {
                all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    all
}

pub(crate) fn report(t: &Tally, checks: &[Check], env: &DaemonEnv) {
    println!("\n{:<28} {:>8} {:>9}", "action", "count", "refused");
    for (what, n) in &t.actions {
        println!("{what:<28} {n:>8} {:>9}", t.refused.get(what).unwrap_or(&0));
    }
    println!(
        "{:<28} {:>8} {:>9}",
        "MPTCP connections", t.connections_made, t.connections_failed
    );
    println!("{:<28} {:>8}", "daemon died on its own", t.unexpected_exits);
    let logs = all_logs(env.tb.tmp_dir());
    println!(
        "{:<28} {:>8}",
        "daemon ERROR log lines",
        logs.matches(" ERROR ").count()
    );
    let last_pid = t.rss.last().map(|r| r.1);
    let last_run: Vec<_> = t.rss.iter().filter(|r| Some(r.1) == last_pid).collect();
    let samples: Vec<String> = last_run
        .iter()
        .map(|r| format!("{:.0}s:{}", r.0, r.2 / 1024))
        .collect();
    println!("RSS samples of the last run (MiB): {}", samples.join(" "));
    if let Some(line) = logs.lines().rev().find(|l| l.contains("stats: ")) {
        println!(
            "daemon at the end: {}",
            line.split("stats: ").nth(1).unwrap_or(line)
        );
    }
    if let (Some(first), Some(last)) = (last_run.first(), last_run.last()) {
        let max = last_run.iter().map(|r| r.2).max().unwrap_or(0);
        println!(
            "RSS of the last run (pid {}): first {} KiB at {:.0} s, last {} KiB at {:.0} s, max {} KiB, {} samples",
            first.1, first.2, first.0, last.2, last.0, max, last_run.len()
        );
    }
    println!("\n{:<40} result", "check");
    for (name, ok, detail) in checks {
        println!("{name:<40} {}  {detail}", if *ok { "ok" } else { "FAILED" });
    }
}

/// Copies the daemon's logs (every run) to target/chaos-logs/ before the
/// testbed's directory goes.
pub(crate) fn keep_logs(dir: &Path) -> Result<()> {
    let out = mptcp_policy_tests::daemon_env::repo().join("target/chaos-logs");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("mptcp-policyd") || name.starts_with("chaos-") {
            std::fs::copy(e.path(), out.join(&name))?;
        }
    }
    println!("daemon logs: {}", out.display());
    Ok(())
}
