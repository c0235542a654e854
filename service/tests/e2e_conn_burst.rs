//! End-to-end: a burst of short MPTCP connections (opened at once, closed
//! at once) leaves nothing behind in the daemon. Under load the kernel
//! sends a connection's `established` *after* its `closed` when it closed
//! before being fully established; the daemon used to bring such a
//! connection back and keep it (and its D-Bus object) for ever — the
//! chaos run (`bench/chaos`) ended with 5,000 of them.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::bins::find_bin;
use mptcp_policy_tests::daemon_env::DaemonEnv;
use mptcp_policy_tests::{wait_for, BgProcess};

const SERVER: &str = "10.9.0.1:7101";

/// The daemon's pid: the process of our binary in the client namespace.
fn daemon_pid(ns: &str) -> Option<i32> {
    let out = std::process::Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "mptcp-policyd")
        })
}

/// Connections the daemon tracks, from a fresh SIGUSR1 stats line.
fn tracked(env: &DaemonEnv) -> Option<usize> {
    let before = env.log().matches("stats: ").count();
    let pid = daemon_pid(env.tb.client_ns())?;
    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    wait_for("stats line", Duration::from_secs(5), || {
        Ok(env.log().matches("stats: ").count() > before)
    })
    .ok()?;
    let log = env.log();
    let line = log.lines().rev().find(|l| l.contains("stats: "))?;
    line.split("stats: ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

#[test]
fn a_burst_of_short_connections_leaves_no_connection_behind() {
    let env = DaemonEnv::start(&daemon_bin(), WIFI_FIRST).expect("daemon on its bus");
    let loader = find_bin("event-bench", "EVENT_BENCH").expect("event-bench built");
    let ready = env.tb.tmp_dir().join("serve.ready");
    let mut serve = std::process::Command::new("ip");
    serve
        .args(["netns", "exec", env.tb.server_ns()])
        .arg(&loader)
        .args(["serve", "--addr", SERVER, "--ready"])
        .arg(&ready);
    let _server = BgProcess::spawn("serve", &mut serve, env.tb.tmp_dir()).expect("server");
    wait_for("server ready", Duration::from_secs(10), || {
        Ok(ready.exists())
    })
    .expect("ready");
    let mut load = std::process::Command::new("ip");
    load.args(["netns", "exec", env.tb.client_ns()])
        .arg(&loader)
        .args([
            "load",
            "--addr",
            SERVER,
            "--connections",
            "200",
            "--batch",
            "200",
        ]);
    let mut client = BgProcess::spawn("load", &mut load, env.tb.tmp_dir()).expect("load");
    client
        .wait_success(Duration::from_secs(30))
        .expect("200 connections opened and closed");
    assert!(client.stdout().contains("made=200"), "{}", client.stdout());
    wait_for("no connection tracked", Duration::from_secs(10), || {
        Ok(tracked(&env) == Some(0))
    })
    .unwrap_or_else(|e| panic!("{e}: {:?} tracked\n{}", tracked(&env), env.log()));
}
