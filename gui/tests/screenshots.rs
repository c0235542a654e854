//! The panel against the real daemon (private bus, testbed namespace) under
//! Xvfb, at phone (360×720) and laptop (1280×800) size, with an MPTCP
//! download running: the testbed's `wlan0` and `wwan0` appear with their
//! roles in the GTK widget tree, the layout folds on the phone (connections
//! one tap away) and shows paths and connections side by side on the
//! laptop, touch targets are at least 44 px, and the window renders
//! (screenshots, not blank). The PNGs stay in `target/gui-screenshots/`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use mptcp_policy_tests::bins::find_bin;
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use serde_json::Value;

fn shoot(xvfb: &Xvfb, file: &str, size: (u32, u32)) {
    // Let a frame or two reach the screen, then take the picture.
    std::thread::sleep(Duration::from_millis(500));
    let path = screenshot_dir().join(file);
    xvfb.screenshot(&path).expect("screenshot");
    assert_not_blank(&path, size);
}

fn assert_not_blank(path: &Path, size: (u32, u32)) {
    assert_eq!(image_size(path).expect("size"), size);
    let (colours, sd) = image_stats(path).expect("stats");
    eprintln!("{}: {colours} colours, sd {sd:.3}", path.display());
    assert!(
        colours > 100 && sd > 0.02,
        "{} looks blank: {colours} colours, sd {sd}",
        path.display()
    );
}

fn at_least_44(tree: &Value, name: &str) {
    let n = named(tree, name).unwrap_or_else(|| panic!("{name} missing"));
    let (w, h) = (n["width"].as_i64(), n["height"].as_i64());
    assert!(
        w.unwrap_or(0) >= 44 && h.unwrap_or(0) >= 44,
        "{name} is {w:?}x{h:?}: {n}"
    );
}

fn check_size(name: &str, width: u32, height: u32, folded: bool) {
    let env = daemon_env();
    let xvfb = Xvfb::start(width, height).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (width, height)).expect("panel");
    // Shown, and laid out (a first frame may come before the allocation).
    let tree = panel.wait(
        "wlan0 and wwan0 with their roles",
        Duration::from_secs(20),
        |t| {
            role_shown(t, "wlan0").as_deref() == Some("Preferred")
                && role_shown(t, "wwan0").as_deref() == Some("Backup")
                && named(t, "role-wwan0").is_some_and(|n| n["width"].as_i64() > Some(200))
                && nodes(t)
                    .iter()
                    .any(|n| n["type"] == "AdwLeaflet" && n["folded"] == folded)
        },
    );
    // Names, types and addresses come from the daemon.
    let all = texts(&tree);
    for want in ["wlan0", "wwan0", WLAN_V4, WWAN_V4, "Throughput"] {
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
    at_least_44(&tree, "role-wwan0");
    at_least_44(&tree, "budget-wwan0");
    // The switch is small, but its whole row toggles it.
    at_least_44(&tree, "metered-row-wwan0");
    // None of the panel's controls and texts sticks out of the screen
    // (the window's own box and GTK's internal gizmos include shadows).
    for n in nodes(&tree["windows"][0]["children"])
        .into_iter()
        .filter(|n| n["mapped"] == true && (n["name"].is_string() || n["type"] == "GtkLabel"))
    {
        let right = n["x"].as_i64().unwrap_or(0) + n["width"].as_i64().unwrap_or(0);
        assert!(
            right <= i64::from(width) + 1,
            "{name}: {} ends at x={right}",
            n["type"]
        );
    }

    // Some traffic for the picture: a download over WiFi.
    let stream = find_bin("mptcp-stream", "MPTCP_STREAM").expect("mptcp-stream built");
    let spec = StreamSpec {
        direction: Direction::Download,
        duration_ms: 6000,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&env.tb, &stream, &spec).expect("stream");
    let tree = panel.wait("the connection and its rate", Duration::from_secs(5), |t| {
        !named_prefix(t, "connection-").is_empty()
            && named(t, "rate-wlan0")
                .and_then(|n| n["text"].as_str())
                .is_some_and(|s| s.contains("KiB/s") || s.contains("MiB/s"))
    });
    // On the phone the connections are one tap away; on the laptop beside.
    let connections = named(&tree, "connections").expect("connections list");
    assert_eq!(connections["mapped"], !folded, "{name}: connections beside");
    let button = named(&tree, "show-connections").expect("button");
    assert_eq!(button["mapped"], folded, "{name}: connections button");
    std::thread::sleep(Duration::from_secs(3)); // a few seconds of graph
    shoot(
        &xvfb,
        &format!("panel-{name}-{width}x{height}.png"),
        (width, height),
    );

    if folded {
        panel.ok("activate show-connections");
        panel.wait("the connections page", Duration::from_secs(5), |t| {
            named(t, "connections").is_some_and(|n| n["mapped"] == true)
                && named(t, "role-wlan0").is_some_and(|n| n["mapped"] == false)
        });
        shoot(
            &xvfb,
            &format!("panel-{name}-connections-{width}x{height}.png"),
            (width, height),
        );
        panel.ok("activate show-paths");
        panel.wait("the paths page again", Duration::from_secs(5), |t| {
            role_shown(t, "wlan0").is_some()
        });
    }
    run.wait(Duration::from_secs(20))
        .expect("stream")
        .check()
        .expect("stream ok");
    assert!(
        !panel.log().contains("CRITICAL"),
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
