//! End-to-end: counted usage survives a SIGKILL (at most the last minute of
//! counting is lost: the daemon saves every 60 s) and a corrupt or
//! truncated usage file is reported, kept aside, and survived.

mod common;

use std::time::Duration;

use common::bus_env::{self, BusEnv};
use common::LTE_FIRST;
use mptcp_policy_tests::testbed::{SERVER_V4, WWAN_V4};

/// LTE preferred (`LTE_FIRST`, whose last entry is the cellular one) with a
/// budget whose spending would demote it: its counters are read while
/// traffic flows (a link without a budget and without MPTCP connections is
/// counted only at the next reading something else needs;
/// mptcp_policy::schedule).
fn counted_lte() -> String {
    format!("{LTE_FIRST}budget = {{ bytes = \"10 GB\", period = \"monthly\" }}\n")
}

fn traffic_over_wwan0(env: &BusEnv) {
    mptcp_policy_tests::ns_exec(
        env.tb.client_ns(),
        "ping",
        &[
            "-q", "-c", "50", "-i", "0.005", "-s", "1000", "-I", WWAN_V4, SERVER_V4,
        ],
    )
    .expect("ping over wwan0");
}

fn bytes_used(env: &BusEnv) -> u64 {
    env.interface("wwan0", async |p| p.bytes_used().await.expect("BytesUsed"))
        .expect("bus")
}

/// What the usage file says for wwan0 (0 when absent).
fn saved(env: &BusEnv) -> u64 {
    let text = std::fs::read_to_string(env.state.join("usage.json")).unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["interfaces"]["wwan0"]["bytes"].as_u64())
        .unwrap_or(0)
}

#[test]
fn usage_survives_sigkill_losing_at_most_the_last_minute() {
    let mut env = bus_env::start(&counted_lte()).expect("env");
    traffic_over_wwan0(&env);
    mptcp_policy_tests::wait_for("usage counted", Duration::from_secs(5), || {
        Ok(bytes_used(&env) > 50_000)
    })
    .expect("counted");
    let counted = bytes_used(&env);
    // The periodic save (every 60 s) writes it without any shutdown.
    mptcp_policy_tests::wait_for("periodic save", Duration::from_secs(75), || {
        Ok(saved(&env) >= counted)
    })
    .expect("saved within a minute");
    env.kill_daemon().expect("SIGKILL");
    env.start_daemon().expect("restart");
    let after = bytes_used(&env);
    println!("counted {counted} B before SIGKILL, {after} B after the restart");
    assert!(
        after >= counted,
        "usage lost by SIGKILL: {counted} -> {after}"
    );
}

#[test]
fn a_truncated_usage_file_is_kept_aside_and_survived() {
    let mut env = bus_env::start(&counted_lte()).expect("env");
    env.stop_daemon().expect("stop");
    std::fs::write(
        env.state.join("usage.json"),
        "{\"interfaces\":{\"wwan0\":{\"bytes\":12",
    )
    .expect("truncate");
    env.start_daemon()
        .expect("the daemon starts despite the corrupt file");
    assert!(env.log().contains("is corrupt"), "{}", env.log());
    assert!(
        env.state.join("usage.json.corrupt").exists(),
        "corrupt file not kept aside"
    );
    traffic_over_wwan0(&env);
    mptcp_policy_tests::wait_for("counting again", Duration::from_secs(5), || {
        Ok(bytes_used(&env) > 50_000)
    })
    .expect("counting from the interface counters");
}
