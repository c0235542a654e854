//! The panel against the real daemon (private bus, testbed namespace) under
//! Xvfb, at phone (360×720) and laptop (1280×800) size: the testbed's
//! `wlan0` and `wwan0` appear with their roles in the GTK widget tree, the
//! layout folds on the phone and shows paths and connections side by side
//! on the laptop, and the window renders (screenshots, not blank). The PNGs
//! stay in `target/gui-screenshots/` as artifacts.

mod common;

use std::time::Duration;

use common::*;
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};

fn check_size(name: &str, width: u32, height: u32, folded: bool) {
    let env = daemon_env();
    let xvfb = Xvfb::start(width, height).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (width, height)).expect("panel");
    let tree = panel.wait(
        "wlan0 and wwan0 with their roles",
        Duration::from_secs(20),
        |t| {
            role_shown(t, "wlan0").as_deref() == Some("Preferred")
                && role_shown(t, "wwan0").as_deref() == Some("Backup")
                && named(t, "rate-wwan0").is_some_and(|n| n["mapped"] == true)
        },
    );
    // Names, types and addresses come from the daemon.
    let all = texts(&tree);
    for want in ["wlan0", "wwan0", WLAN_V4, WWAN_V4, "Throughput", "B/s"] {
        assert!(
            all.iter().any(|t| t.contains(want)),
            "{want} not shown: {all:?}"
        );
    }
    let leaflet = nodes(&tree)
        .into_iter()
        .find(|n| n["type"] == "AdwLeaflet")
        .expect("leaflet");
    assert_eq!(leaflet["folded"], folded, "{name}: folded");
    // On the phone the connections are one tap away; on the laptop beside.
    let connections = named(&tree, "connections").expect("connections list");
    assert_eq!(connections["mapped"], !folded, "{name}: connections beside");
    let button = named(&tree, "show-connections").expect("button");
    assert_eq!(button["mapped"], folded, "{name}: connections button");
    // Touch-size targets: the role selector row is at least 44 px high and
    // the window fits the screen.
    let role = named(&tree, "role-wwan0").expect("role row");
    assert!(role["height"].as_i64().unwrap_or(0) >= 44, "{role}");
    let window = &tree["windows"][0];
    assert!(window["width"].as_i64().unwrap_or(0) <= i64::from(width));
    assert!(role["width"].as_i64().unwrap_or(0) <= i64::from(width));

    // Let a frame or two reach the screen, then take the picture.
    std::thread::sleep(Duration::from_millis(500));
    let path = screenshot_dir().join(format!("panel-{name}-{width}x{height}.png"));
    xvfb.screenshot(&path).expect("screenshot");
    assert_eq!(image_size(&path).expect("size"), (width, height));
    let (colours, sd) = image_stats(&path).expect("stats");
    eprintln!("{}: {colours} colours, sd {sd:.3}", path.display());
    assert!(
        colours > 100 && sd > 0.02,
        "{} looks blank: {colours} colours, sd {sd}",
        path.display()
    );
    assert!(
        panel.log().is_empty() || !panel.log().contains("CRITICAL"),
        "GTK criticals:\n{}",
        panel.log()
    );
}

#[test]
fn phone_portrait_360x720() {
    check_size("phone", 360, 720, true);
}

#[test]
fn laptop_1280x800() {
    check_size("laptop", 1280, 800, false);
}
