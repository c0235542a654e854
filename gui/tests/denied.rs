//! An unprivileged user without polkit rules: the panel shows the
//! daemon's state, a change is refused by polkit (no agent can answer the
//! interactive request), the daemon's message appears as a toast, and the
//! selector and switch go back to the daemon's values; the kernel keeps its
//! endpoints.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::TestUser;

#[test]
fn a_denied_change_shows_the_error_and_keeps_the_daemons_value() {
    let env = daemon_env();
    wait_endpoint(&env, WLAN_V4, "WiFi endpoint", |l| !l.contains("backup"));
    let before = (endpoint_line(&env, WLAN_V4), endpoint_line(&env, WWAN_V4));
    let user = TestUser::create("mptcpgui").expect("user");
    let xvfb = Xvfb::start(1280, 800).expect("Xvfb");
    let mut panel = Panel::start_as(&user, &env, &xvfb, (1280, 800)).expect("panel");
    panel.wait("roles", Duration::from_secs(20), |t| {
        role_shown(t, "wlan0").as_deref() == Some("Preferred")
    });

    let asked = std::time::Instant::now();
    panel.ok("select role-wlan0 Backup");
    let tree = panel.wait("the daemon's refusal", Duration::from_secs(10), |t| {
        texts(t)
            .iter()
            .any(|s| s.contains("org.mptcp.policy.set-role") && s.contains("no agent"))
    });
    eprintln!("refusal shown {:?} after the selection", asked.elapsed());
    assert_eq!(
        role_shown(&tree, "wlan0").as_deref(),
        Some("Preferred"),
        "the selector went back to the daemon's value"
    );
    std::thread::sleep(Duration::from_millis(400));
    xvfb.screenshot(&screenshot_dir().join("panel-denied-1280x800.png"))
        .expect("screenshot");

    // The metered switch (action org.mptcp.policy.configure) too.
    let asked = std::time::Instant::now();
    panel.ok("activate metered-wwan0");
    let tree = panel.wait("the configure refusal", Duration::from_secs(10), |t| {
        texts(t)
            .iter()
            .any(|s| s.contains("org.mptcp.policy.configure"))
    });
    eprintln!("second refusal shown {:?} after the click", asked.elapsed());
    assert_eq!(
        named(&tree, "metered-wwan0").expect("switch")["active"],
        false,
        "the switch went back"
    );
    assert_eq!(
        (endpoint_line(&env, WLAN_V4), endpoint_line(&env, WWAN_V4)),
        before,
        "the kernel's endpoints changed"
    );
    assert!(
        env.log()
            .contains("is not authorized for org.mptcp.policy.set-role"),
        "{}",
        env.log()
    );
}
