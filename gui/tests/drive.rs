//! The panel drives the real daemon through its real widgets (as root, who
//! polkit always allows): the role selector of `wwan0` set to "Preferred"
//! re-flags the kernel's endpoint and the card's reason changes from the
//! policy file and line to "set over D-Bus by uid 0 at …"; a new MPTCP connection in the testbed
//! appears within a second with its active WiFi and backup LTE subflows and
//! goes when it closes; the "add budget" dialog refuses bad amounts in the
//! dialog and sets a good one on the daemon.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mptcp_policy_tests::bins::find_bin;
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{SERVER_V4, WWAN_V4};

fn roles_loaded(panel: &mut Panel) {
    panel.wait("roles", Duration::from_secs(20), |t| {
        role_shown(t, "wlan0").as_deref() == Some("Preferred")
            && role_shown(t, "wwan0").as_deref() == Some("Backup")
    });
}

#[test]
fn the_role_selector_changes_the_kernel_endpoint() {
    let env = daemon_env();
    wait_endpoint(&env, WWAN_V4, "LTE is a backup endpoint", |l| {
        l.contains("backup")
    });
    let xvfb = Xvfb::start(1280, 800).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (1280, 800)).expect("panel");
    roles_loaded(&mut panel);
    // Each card says which layer decided: here the file and line.
    let from_file = format!("(type = cellular) in {}:", env.config.display());
    panel.wait("the reason names the file", Duration::from_secs(5), |t| {
        texts(t).iter().any(|s| s.contains(&from_file))
    });

    panel.ok("select role-wwan0 Preferred");
    wait_endpoint(&env, WWAN_V4, "no backup flag", |l| !l.contains("backup"));
    // (The daemon publishes the role right after it changed the kernel.)
    mptcp_policy_tests::wait_for("Role preferred", Duration::from_secs(5), || {
        Ok(env
            .interface("wwan0", async |p| p.role().await)?
            .map_err(anyhow::Error::from)?
            == "preferred")
    })
    .expect("the daemon's Role");
    // The selector shows the daemon's new value (its PropertiesChanged).
    panel.wait("wwan0 preferred", Duration::from_secs(5), |t| {
        role_shown(t, "wwan0").as_deref() == Some("Preferred")
    });
    // ... and now who set it over D-Bus, and when.
    panel.wait("the reason names who set it", Duration::from_secs(5), |t| {
        texts(t)
            .iter()
            .any(|s| s.contains("set over D-Bus by uid 0 at "))
    });

    // And back, so both directions are seen in the kernel.
    panel.ok("select role-wwan0 Backup");
    wait_endpoint(&env, WWAN_V4, "backup flag again", |l| l.contains("backup"));

    // The metered switch.
    panel.ok("activate metered-wwan0");
    mptcp_policy_tests::wait_for("Metered", Duration::from_secs(5), || {
        env.interface("wwan0", async |p| p.metered().await)?
            .map_err(anyhow::Error::from)
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}: switch {:?}\ndaemon log:\n{}",
            named(&panel.dump(), "metered-wwan0").map(|n| n["active"].clone()),
            env.log()
        )
    });
    panel.wait("the switch on", Duration::from_secs(5), |t| {
        named(t, "metered-wwan0").is_some_and(|n| n["active"] == true)
    });
}

#[test]
fn a_new_connection_appears_within_a_second_and_goes_when_closed() {
    let env = daemon_env();
    let xvfb = Xvfb::start(1280, 800).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (1280, 800)).expect("panel");
    roles_loaded(&mut panel);
    assert!(named_prefix(&panel.dump(), "connection-").is_empty());

    let stream = find_bin("mptcp-stream", "MPTCP_STREAM").expect("mptcp-stream built");
    let spec = StreamSpec {
        direction: Direction::Download,
        duration_ms: 4000,
        ..StreamSpec::default()
    };
    let rx_of_radios = || -> anyhow::Result<u64> {
        let mut sum = 0;
        for ifname in ["wlan0", "wwan0"] {
            sum += env
                .interface(ifname, async |p| p.rx_bytes().await)?
                .map_err(anyhow::Error::from)?;
        }
        Ok(sum)
    };
    let rx_before = rx_of_radios().expect("RxBytes");
    let run = StreamRun::start(&env.tb, &stream, &spec).expect("stream");
    let started = Instant::now();
    let tree = panel.wait("the connection row", Duration::from_secs(1), |t| {
        !named_prefix(t, "connection-").is_empty()
    });
    let seen_after = started.elapsed();
    eprintln!("connection shown {seen_after:?} after the client started");
    let row = named_prefix(&tree, "connection-")[0];
    assert_eq!(row["title"], format!("{SERVER_V4}:{}", spec.port), "{row}");
    // Its subflows: WiFi carries the data, LTE is the backup.
    panel.wait(
        "WiFi active + LTE backup subflows",
        Duration::from_secs(5),
        |t| {
            named(t, "subflow-wlan0-active").is_some() && named(t, "subflow-wwan0-backup").is_some()
        },
    );
    // The graph draws the stream's bytes on WiFi (daemon counters).
    panel.wait(
        "WiFi throughput in KiB/s or more",
        Duration::from_secs(5),
        |t| {
            named(t, "rate-wlan0")
                .and_then(|n| n["text"].as_str())
                .is_some_and(|s| s.contains("KiB/s") || s.contains("MiB/s"))
        },
    );
    // A few seconds of the stream in the graph for the picture.
    std::thread::sleep(Duration::from_millis(2500));
    let shot = screenshot_dir().join("panel-connection-1280x800.png");
    xvfb.screenshot(&shot).expect("screenshot");

    let result = run.wait(Duration::from_secs(20)).expect("stream");
    result.check().expect("stream ok");
    panel.wait("the row gone", Duration::from_secs(5), |t| {
        named_prefix(t, "connection-").is_empty()
    });
    // The daemon's RxBytes of the radios counted the download (with
    // headers, more than its payload): what the graph draws.
    let payload = result.receiver.bytes_received;
    assert!(payload > 0);
    mptcp_policy_tests::wait_for("RxBytes to grow", Duration::from_secs(5), || {
        Ok(rx_of_radios()? >= rx_before + payload)
    })
    .unwrap_or_else(|e| panic!("{e}: {payload} bytes downloaded"));
}

#[test]
fn the_budget_dialog_validates_and_sets_a_budget() {
    let env = daemon_env();
    let xvfb = Xvfb::start(360, 720).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (360, 720)).expect("panel");
    roles_loaded(&mut panel);

    panel.ok("activate budget-wwan0");
    let set_enabled =
        |t: &serde_json::Value| named(t, "budget-dialog").map(|d| d["responses"]["set"] == true);
    let tree = panel.wait("the dialog", Duration::from_secs(5), |t| {
        named(t, "budget-dialog").is_some_and(|d| d["mapped"] == true)
    });
    assert_eq!(
        set_enabled(&tree),
        Some(false),
        "empty amount: Set disabled"
    );

    for (amount, message) in [
        ("two", "must be a number"),
        ("0", "more than zero"),
        ("99999999999999", "too large"),
    ] {
        panel.ok(&format!("set-text budget-amount {amount}"));
        let tree = panel.dump();
        let error = named(&tree, "budget-error").expect("error label");
        assert!(
            error["text"].as_str().unwrap_or("").contains(message) && error["visible"] == true,
            "{amount}: {error}"
        );
        assert_eq!(set_enabled(&tree), Some(false), "{amount}");
        let refused = panel.command("respond budget-dialog set").expect("reply");
        assert_eq!(refused["ok"], false, "{amount}: {refused}");
    }
    panel.ok("set-text budget-amount 1.5");
    panel.ok("select budget-unit GiB");
    panel.ok("select budget-period Every week");
    let tree = panel.dump();
    assert_eq!(set_enabled(&tree), Some(true));
    assert_eq!(
        named(&tree, "budget-error").expect("label")["visible"],
        false
    );
    std::thread::sleep(Duration::from_millis(300));
    xvfb.screenshot(&screenshot_dir().join("panel-budget-dialog-360x720.png"))
        .expect("screenshot");
    panel.ok("respond budget-dialog set");

    let want = 3u64 << 29; // 1.5 GiB
    mptcp_policy_tests::wait_for("BudgetBytes", Duration::from_secs(5), || {
        let bytes = env
            .interface("wwan0", async |p| p.budget_bytes().await)?
            .map_err(anyhow::Error::from)?;
        let period = env
            .interface("wwan0", async |p| p.budget_period().await)?
            .map_err(anyhow::Error::from)?;
        Ok(bytes == want && period == "weekly")
    })
    .expect("the daemon has the budget");
    // Usage of the budget with the period's reset date (next Monday).
    let tree = panel.wait("the card shows the budget", Duration::from_secs(5), |t| {
        texts(t)
            .iter()
            .any(|s| s.contains("of 1.5 GiB per week · resets 20"))
    });
    let bar = nodes(&tree)
        .into_iter()
        .find(|n| n["type"] == "GtkLevelBar" && n["mapped"] == true)
        .expect("a usage bar");
    assert!(
        bar["value"]
            .as_f64()
            .is_some_and(|v| (0.0..0.01).contains(&v)),
        "{bar}"
    );
}

#[test]
fn budget_signals_appear_as_toasts_and_the_card_shows_the_usage() {
    let env = daemon_env();
    let xvfb = Xvfb::start(1280, 800).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (1280, 800)).expect("panel");
    roles_loaded(&mut panel);
    env.manager(async |m| m.set_budget("wwan0", 64 << 10, "weekly").await)
        .expect("bus")
        .expect("SetBudget");
    panel.wait("the budget on the card", Duration::from_secs(5), |t| {
        texts(t).iter().any(|s| s.contains("of 64 KiB per week"))
    });
    // ~170 KB over LTE: the daemon counts it and signals the budget.
    mptcp_policy_tests::ns_exec(
        env.tb.client_ns(),
        "ping",
        &[
            "-q", "-I", WWAN_V4, "-s", "1400", "-c", "60", "-i", "0.01", SERVER_V4,
        ],
    )
    .expect("ping over wwan0");
    let tree = panel.wait("a budget toast", Duration::from_secs(10), |t| {
        texts(t)
            .iter()
            .any(|s| s.starts_with("wwan0: ") && s.contains("64 KiB"))
    });
    eprintln!(
        "toast: {:?}",
        texts(&tree).iter().find(|s| s.starts_with("wwan0: "))
    );
    panel.wait("the card says used up", Duration::from_secs(5), |t| {
        texts(t).iter().any(|s| s.contains("used up"))
            && nodes(t)
                .iter()
                .any(|n| n["type"] == "GtkLevelBar" && n["value"] == 1.0 && n["mapped"] == true)
    });
}

#[test]
fn an_accepted_choice_that_is_not_in_force_shows_the_daemons_role() {
    let env = daemon_env();
    let xvfb = Xvfb::start(1280, 800).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (1280, 800)).expect("panel");
    roles_loaded(&mut panel);
    // A spent budget holds wwan0 back (when_exhausted = backup).
    env.manager(async |m| m.set_budget("wwan0", 16 << 10, "monthly").await)
        .expect("bus")
        .expect("SetBudget");
    mptcp_policy_tests::ns_exec(
        env.tb.client_ns(),
        "ping",
        &[
            "-q", "-I", WWAN_V4, "-s", "1400", "-c", "30", "-i", "0.01", SERVER_V4,
        ],
    )
    .expect("ping over wwan0");
    panel.wait("used up", Duration::from_secs(10), |t| {
        texts(t).iter().any(|s| s.contains("used up"))
    });
    panel.ok("select role-wwan0 Preferred");
    // The daemon takes the choice into its policy ...
    mptcp_policy_tests::wait_for("the choice in the policy", Duration::from_secs(5), || {
        let policy = env
            .manager(async |m| m.get_policy().await)?
            .map_err(anyhow::Error::from)?;
        Ok(policy.contains("name = \"wwan0\"\nrole = \"preferred\""))
    })
    .expect("SetInterfaceRole accepted");
    // ... but keeps wwan0 a backup while the budget is spent: the selector
    // goes back to that, it does not keep the user's choice.
    let role = env
        .interface("wwan0", async |p| p.role().await)
        .expect("bus")
        .expect("Role");
    assert_eq!(role, "backup", "a spent budget keeps wwan0 back");
    panel.wait(
        "the selector at the daemon's role",
        Duration::from_secs(5),
        |t| role_shown(t, "wwan0").as_deref() == Some("Backup"),
    );
}

#[test]
fn a_connection_opened_before_the_panel_shows_its_real_age() {
    let env = daemon_env();
    let stream = find_bin("mptcp-stream", "MPTCP_STREAM").expect("mptcp-stream built");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 6000,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(&env.tb, &stream, &spec).expect("stream");
    std::thread::sleep(Duration::from_secs(3));
    let xvfb = Xvfb::start(1280, 800).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (1280, 800)).expect("panel");
    // The age comes from the daemon's OpenedAt, not from when the panel
    // started: at least the 3 s before it.
    let tree = panel.wait(
        "the connection with its age",
        Duration::from_secs(10),
        |t| {
            named_prefix(t, "connection-").first().is_some_and(|row| {
                row["subtitle"]
                    .as_str()
                    .and_then(|s| s.strip_prefix("open for "))
                    .and_then(|s| s.split(' ').next())
                    .and_then(|n| n.parse::<u64>().ok())
                    .is_some_and(|secs| secs >= 3)
            })
        },
    );
    let row = named_prefix(&tree, "connection-")[0];
    assert!(
        !row["subtitle"].as_str().unwrap_or("").contains("over"),
        "{row}"
    );
    run.wait(Duration::from_secs(20))
        .expect("stream")
        .check()
        .expect("stream ok");
}

/// WiFi's delay climbing under a request/response load (a call): the
/// daemon judges it degraded, hands the traffic to LTE, and the card's state
/// says "Degraded" in the warning colour.
#[test]
fn a_degraded_path_shows_on_its_card() {
    let daemon = find_bin("mptcp-policyd", "MPTCP_POLICYD").expect("mptcp-policyd built");
    let opts = mptcp_policy_tests::TestbedOpts {
        ipv6: false,
        wifi_delay_ramp: Some(mptcp_policy_tests::fade::DELAY_RAMP),
        ..Default::default()
    };
    let env = mptcp_policy_tests::daemon_env::DaemonEnv::start_with(
        &daemon,
        mptcp_policy_tests::handover::DAEMON_POLICY,
        opts,
    )
    .expect("daemon env");
    wait_endpoint(&env, WWAN_V4, "LTE is a backup endpoint", |l| {
        l.contains("backup")
    });
    let xvfb = Xvfb::start(1280, 800).expect("Xvfb");
    let mut panel = Panel::start(&env, &xvfb, (1280, 800)).expect("panel");
    roles_loaded(&mut panel);
    let spec = StreamSpec {
        duration_ms: 8_000,
        rr_interval_ms: mptcp_policy_tests::fade::RR_INTERVAL_MS,
        ..StreamSpec::default()
    };
    let stream = find_bin("mptcp-stream", "MPTCP_STREAM").expect("mptcp-stream");
    let run = StreamRun::start(&env.tb, &stream, &spec).expect("stream");
    std::thread::sleep(Duration::from_secs(1));
    env.tb.start_delay_ramp().expect("delay ramp");
    panel.wait("wlan0 degraded on its card", Duration::from_secs(6), |t| {
        named(t, "state-wlan0").is_some_and(|n| {
            n["text"] == "Degraded"
                && n["classes"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c == "warning"))
        })
    });
    wait_endpoint(&env, WWAN_V4, "LTE carries the traffic", |l| {
        !l.contains("backup")
    });
    let _ = run.wait(Duration::from_secs(60));
}
