//! Without the daemon the panel shows a clear empty state with how to start
//! it; when the daemon appears on the bus (NameOwnerChanged) the panel
//! connects by itself, and goes back to the empty state when it stops;
//! without a system bus the empty state says so.

mod common;

use std::time::Duration;

use common::*;

fn empty_state_shown(t: &serde_json::Value) -> bool {
    named(t, "empty-state").is_some_and(|n| {
        n["mapped"] == true
            && n["title"]
                .as_str()
                .is_some_and(|s| s.contains("Not Running"))
            && n["description"]
                .as_str()
                .is_some_and(|s| s.contains("systemctl start mptcp-policyd"))
    })
}

#[test]
fn empty_state_then_connects_when_the_daemon_appears() {
    let mut env = daemon_env();
    env.stop_daemon().expect("stop");
    let xvfb = Xvfb::start(360, 720).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (360, 720)).expect("panel");
    panel.wait(
        "the empty state",
        Duration::from_secs(20),
        empty_state_shown,
    );
    std::thread::sleep(Duration::from_millis(400));
    xvfb.screenshot(&screenshot_dir().join("panel-no-daemon-360x720.png"))
        .expect("screenshot");

    env.start_daemon().expect("start");
    panel.wait("the interfaces", Duration::from_secs(10), |t| {
        role_shown(t, "wlan0").as_deref() == Some("Preferred")
            && role_shown(t, "wwan0").as_deref() == Some("Backup")
    });

    env.stop_daemon().expect("stop again");
    panel.wait("the empty state again", Duration::from_secs(10), |t| {
        empty_state_shown(t) && named(t, "role-wlan0").is_none()
    });
}

#[test]
fn no_system_bus_is_explained_in_the_empty_state() {
    let xvfb = Xvfb::start(360, 720).expect("Xvfb");
    let mut panel =
        Panel::start_on_bus("unix:path=/nonexistent/bus", &xvfb, (360, 720)).expect("panel");
    panel.wait("the bus error", Duration::from_secs(10), |t| {
        empty_state_shown(t)
            && named(t, "empty-state")
                .and_then(|n| n["description"].as_str())
                .is_some_and(|s| s.contains("Cannot reach the system bus"))
    });
}
