//! End-to-end: faults injected at the `mptcp_pm` boundary of the real
//! daemon (`MPTCP_POLICYD_FAULTS`, compiled in only for tests: see
//! `netlink/src/pm/faults.rs`); the real kernel answers everything else.
//! Each command refused with `EEXIST`, `ENOENT`, `EINVAL`, `EBUSY`,
//! `ENOBUFS`, or its reply truncated; the event socket closed under the
//! daemon; an `ENOBUFS` storm. In every case the daemon logs the command
//! and the error once, keeps running, and the kernel's endpoints
//! (`ip mptcp endpoint show`) end up as the policy says after the next
//! event or resync — including endpoints it owns that a fault hid from it.

mod common;

use std::time::Duration;

use common::mptcp_ss::*;
use common::*;
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{ns_exec, Testbed, TestbedOpts};

const FAULTS: &str = "MPTCP_POLICYD_FAULTS";
const INJECTED: &str = "injected by MPTCP_POLICYD_FAULTS";
const WAIT: Duration = Duration::from_secs(10);

fn testbed() -> Testbed {
    Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed")
}

/// `WIFI_FIRST` in the kernel: WiFi subflow, LTE backup subflow, nothing else.
fn as_policy(eps: &[Ep]) -> bool {
    eps.len() == 2
        && endpoint(eps, WLAN_V4).is_some_and(|e| e.has("subflow") && !e.has("backup"))
        && endpoint(eps, WWAN_V4).is_some_and(|e| e.has("subflow") && e.has("backup"))
}

fn start(tb: &Testbed, plan: &str) -> Daemon {
    Daemon::start_with_env(
        tb,
        WIFI_FIRST,
        &[(FAULTS, plan), ("MPTCP_POLICYD_LOG", "debug")],
    )
    .expect("daemon")
}

/// Reload (an event that makes the daemon reconcile) and wait for it.
fn reload(d: &mut Daemon) {
    let n = d.log_count("policy reloaded");
    d.signal(libc::SIGHUP).expect("SIGHUP");
    d.wait_log_count("policy reloaded", n + 1, WAIT)
        .expect("reloaded");
}

/// One short MPTCP connection through the testbed (its events reach the
/// daemon's event socket).
fn connection(tb: &Testbed) {
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 200,
        ..StreamSpec::default()
    };
    StreamRun::start(tb, &stream_bin(), &spec)
        .expect("stream")
        .wait(WAIT)
        .expect("stream result");
}

/// Lines of the log that report `needle` as a failure of the daemon
/// (not the injection layer's own notice).
fn failures(d: &Daemon, needle: &str) -> usize {
    d.log()
        .lines()
        .filter(|l| l.contains(needle) && l.contains("failed"))
        .count()
}

#[test]
fn refused_adds_are_logged_once_and_the_next_event_adds_them() {
    let tb = testbed();
    let mut d = start(&tb, "endpoint add=EINVAL; endpoint add=ENOBUFS");
    d.wait_log_count(INJECTED, 2, WAIT)
        .expect("both adds refused");
    assert_eq!(failures(&d, "Invalid argument (EINVAL)"), 1, "{}", d.log());
    assert_eq!(failures(&d, "(ENOBUFS)"), 1, "{}", d.log());
    assert!(endpoints(&tb).expect("endpoints").is_empty(), "not sent");
    assert!(d.is_running());
    reload(&mut d);
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("converged");
    assert_eq!(failures(&d, "Invalid argument (EINVAL)"), 1, "{}", d.log());
}

#[test]
fn an_add_answered_eexist_that_did_nothing_is_added_on_the_next_event() {
    let tb = testbed();
    let mut d = start(&tb, "endpoint add=EEXIST");
    d.wait_log("already so", WAIT)
        .expect("EEXIST taken as done");
    assert_eq!(
        endpoints(&tb).expect("endpoints").len(),
        1,
        "one add not sent"
    );
    reload(&mut d);
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("converged");
}

#[test]
fn refused_deletes_keep_the_endpoint_ours_until_it_is_gone() {
    let tb = testbed();
    let mut d = start(&tb, "endpoint delete=ENOENT; endpoint delete=EBUSY");
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("start");
    // WiFi goes: its delete is answered ENOENT ("already gone") but the
    // kernel still has the endpoint.
    tb.link_down("wlan0").expect("wlan0 down");
    d.wait_log_count(INJECTED, 1, WAIT).expect("ENOENT");
    assert!(endpoint(&endpoints(&tb).expect("eps"), WLAN_V4).is_some());
    // Next event: deleted again, refused with EBUSY (logged once).
    reload(&mut d);
    d.wait_log_count(INJECTED, 2, WAIT).expect("EBUSY");
    assert_eq!(
        failures(&d, "Device or resource busy (EBUSY)"),
        1,
        "{}",
        d.log()
    );
    // Next event: the endpoint is still ours, so it goes now. (Before the
    // fix a refused delete forgot ownership and the endpoint stayed as
    // "not created by mptcp-policyd" for ever.)
    reload(&mut d);
    wait_endpoints(&tb, "only the LTE endpoint", |eps| {
        eps.len() == 1 && endpoint(eps, WWAN_V4).is_some()
    })
    .expect("WiFi endpoint deleted");
    assert_eq!(
        d.log_count("was not created by mptcp-policyd"),
        0,
        "{}",
        d.log()
    );
    tb.link_up("wlan0").expect("wlan0 up");
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("WiFi back");
}

#[test]
fn adds_the_kernel_did_but_answered_with_an_error_are_owned() {
    let tb = testbed();
    let mut d = start(&tb, "endpoint add=EINVAL sent times=2");
    d.wait_log_count(INJECTED, 2, WAIT)
        .expect("both adds refused");
    // The kernel did both: the endpoints are there without another event,
    // and they are the daemon's (WiFi down deletes its endpoint).
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("added");
    tb.link_down("wlan0").expect("wlan0 down");
    wait_endpoints(&tb, "only the LTE endpoint", |eps| {
        eps.len() == 1 && endpoint(eps, WWAN_V4).is_some()
    })
    .expect("owned: deleted on link down");
    assert_eq!(failures(&d, "Invalid argument (EINVAL)"), 2, "{}", d.log());
}

#[test]
fn a_refused_flag_change_is_retried_on_the_next_event() {
    let tb = testbed();
    let mut d = start(&tb, "endpoint change=EBUSY");
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("start");
    std::fs::write(&d.config, LTE_FIRST).expect("write policy");
    reload(&mut d);
    d.wait_log_count(INJECTED, 1, WAIT).expect("EBUSY");
    assert_eq!(failures(&d, "(EBUSY)"), 1, "{}", d.log());
    reload(&mut d);
    wait_endpoints(&tb, "roles swapped", |eps| {
        endpoint(eps, WLAN_V4).is_some_and(|e| e.has("backup"))
            && endpoint(eps, WWAN_V4).is_some_and(|e| !e.has("backup"))
    })
    .expect("converged");
    assert_eq!(failures(&d, "(EBUSY)"), 1, "{}", d.log());
}

#[test]
fn truncated_replies_are_survived_and_ownership_settles_later() {
    let tb = testbed();
    // The first dump at start-up (retried), the dump after the adds (the
    // kernel added, the daemon cannot see it) and a limits set (done by
    // the kernel, reply cut) arrive truncated.
    let plan = "endpoint show=truncated; endpoint show=truncated skip=1; limits set=truncated";
    let mut d = start(&tb, plan);
    d.wait_log_count("injected Truncated", 3, WAIT)
        .expect("three truncated replies");
    assert!(d.log().contains("trying again"), "{}", d.log());
    assert!(d.log().contains("settled at the next read"), "{}", d.log());
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("kernel did it");
    reload(&mut d);
    // Ownership of both adds settled: WiFi down deletes its endpoint.
    tb.link_down("wlan0").expect("wlan0 down");
    wait_endpoints(&tb, "only the LTE endpoint", |eps| {
        eps.len() == 1 && endpoint(eps, WWAN_V4).is_some()
    })
    .expect("owned");
    let limits = ns_exec(tb.client_ns(), "ip", &["mptcp", "limits", "show"]).expect("limits");
    assert!(limits.contains("subflows 4"), "{limits}");
    assert_eq!(
        d.log_count("was not created by mptcp-policyd"),
        0,
        "{}",
        d.log()
    );
}

/// Deletes the daemon's WiFi endpoint behind its back: only a resync can
/// notice (endpoints have no events).
fn delete_wifi_by_hand(tb: &Testbed) {
    let eps = endpoints(tb).expect("endpoints");
    let id = endpoint(&eps, WLAN_V4)
        .expect("WiFi endpoint")
        .id
        .to_string();
    ns_exec(
        tb.client_ns(),
        "ip",
        &["mptcp", "endpoint", "delete", "id", &id],
    )
    .expect("delete");
}

#[test]
fn a_closed_event_socket_is_reopened_and_the_daemon_resyncs() {
    let tb = testbed();
    let mut d = start(&tb, "events=close");
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("start");
    delete_wifi_by_hand(&tb);
    connection(&tb);
    d.wait_log("subscribed to MPTCP events again", WAIT)
        .expect("resubscribed");
    // The resync after it restores what was lost meanwhile.
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("resynced");
    // Events flow again on the new socket.
    let seen = d.log_count("mptcp event Created");
    connection(&tb);
    d.wait_log_count("mptcp event Created", seen + 1, WAIT)
        .expect("events after the reopen");
    assert_eq!(d.log_count("MPTCP event socket failed"), 1, "{}", d.log());
    assert!(d.is_running());
}

#[test]
fn an_enobufs_storm_is_logged_once_and_ends_in_a_resync() {
    let tb = testbed();
    let mut d = start(&tb, "events=ENOBUFS times=50");
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("start");
    delete_wifi_by_hand(&tb);
    connection(&tb);
    d.wait_log_count("MPTCP events were lost", 50, WAIT)
        .expect("50 overflows");
    wait_endpoints(&tb, "endpoints as the policy says", as_policy).expect("resynced");
    assert_eq!(
        d.log_count("re-reading endpoints and connections"),
        1,
        "a storm is logged once:\n{}",
        d.log()
    );
    let seen = d.log_count("mptcp event Created");
    connection(&tb);
    d.wait_log_count("mptcp event Created", seen + 1, WAIT)
        .expect("events after the storm");
    assert!(d.is_running());
}

#[test]
fn a_refused_subflow_create_of_the_userspace_pm_is_retried_on_the_next_event() {
    let tb = testbed();
    let policy = "[general]\npath_manager = \"userspace\"\n[[interface]]\nname = \"wlan0\"\nrole = \"preferred\"\n[[interface]]\nname = \"wwan0\"\nrole = \"backup\"\n";
    let mut d =
        Daemon::start_with_env(&tb, policy, &[(FAULTS, "subflow create=EBUSY")]).expect("daemon");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 6000,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&tb, &stream_bin(), &spec).expect("stream");
    d.wait_log_count(INJECTED, 1, WAIT).expect("create refused");
    assert!(
        ss_subflows(&tb)
            .expect("ss")
            .iter()
            .all(|s| !on(s, WWAN_V4)),
        "no LTE subflow yet"
    );
    reload(&mut d);
    wait_until("a backup subflow on LTE", WAIT, || {
        let sfs = ss_subflows(&tb)?;
        Ok(sfs
            .iter()
            .any(|s| on(s, WWAN_V4) && s.backup_local)
            .then_some(()))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    assert_eq!(failures(&d, "(EBUSY)"), 1, "{}", d.log());
    run.wait(Duration::from_secs(20))
        .expect("stream")
        .check()
        .expect("the stream went on");
    assert!(d.is_running());
}
