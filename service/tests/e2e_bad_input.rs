//! End-to-end: bad input at start — a broken policy file, MPTCP disabled in
//! the namespace — gives one clear line and a non-zero exit, and nothing is
//! applied to the kernel.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::{ns_exec, BgProcess, Testbed, TestbedOpts};

fn run_daemon(tb: &Testbed, policy: &str) -> (std::process::ExitStatus, String, String) {
    let config = tb.tmp_dir().join("bad.toml");
    std::fs::write(&config, policy).expect("write");
    let mut p = BgProcess::spawn_in_ns(
        tb.client_ns(),
        "bad-input",
        &daemon_bin(),
        &[
            "--config".into(),
            config.display().to_string(),
            "--no-dbus".into(),
            "--state-dir".into(),
            tb.tmp_dir().join("state").display().to_string(),
        ],
        tb.tmp_dir(),
    )
    .expect("spawn");
    let status = p.wait(Duration::from_secs(10)).expect("daemon exits");
    (status, p.stderr(), config.display().to_string())
}

#[test]
fn broken_policy_is_refused_with_its_position_and_nothing_applied() {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let cases = [
        ("[[interface]]\ntype = \"wifi\"\nrole = \"sometimes\"\n", ":3:8:"),
        ("[limits]\nsubflows = \"many\"\n", ":2:12:"),
        ("[[interface]]\nname = \"wl[an\"\nrole = \"preferred\"\n", ":2:8:"),
        ("[general]\npath_mangler = \"kernel\"\n", ":2:1:"),
        ("[[interface]]\ntype = \"wifi\"\nrole = \"preferred\"\n[[interface]]\ntype = \"wifi\"\nrole = \"backup\"\n", ":5:8:"),
    ];
    for (policy, position) in cases {
        let (status, stderr, file) = run_daemon(&tb, policy);
        assert!(!status.success(), "accepted:\n{policy}");
        assert!(
            stderr.contains(&format!("{file}{position}")),
            "expected {file}{position} in:\n{stderr}"
        );
        assert!(
            endpoints(&tb).expect("endpoints").is_empty(),
            "something was applied"
        );
    }
}

#[test]
fn mptcp_disabled_in_the_namespace_is_one_clear_line() {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    ns_exec(tb.client_ns(), "sysctl", &["-qw", "net.mptcp.enabled=0"]).expect("sysctl");
    let (status, stderr, _) = run_daemon(&tb, WIFI_FIRST);
    assert!(!status.success());
    assert!(
        stderr.contains("MPTCP is disabled in this network namespace"),
        "{stderr}"
    );
    assert!(stderr.contains("sysctl net.mptcp.enabled=1"), "{stderr}");
}
