//! End-to-end authorization with the real polkitd: reading is open to
//! everyone; an unprivileged user's change is refused with `NotAuthorized`
//! and changes nothing (kernel, policy, state directory); after the example
//! rules file is installed and the user joins `netdev`, the same call
//! succeeds. (No logind here: `allow_active` is checked on the action file
//! in `dbus/tests/files.rs`.)

mod common;

use std::process::Output;
use std::time::Duration;

use common::bus_env::{self, BusEnv};
use common::*;
use mptcp_policy_tests::bins::find_bin;
use mptcp_policy_tests::daemon_env::repo;
use mptcp_policy_tests::testbed::WLAN_V4;
use mptcp_policy_tests::users::stage_executable;
use mptcp_policy_tests::TestUser;

fn ctl(env: &BusEnv, user: &TestUser, args: &[&str]) -> Output {
    let bin = find_bin("mptcp-policyctl", "MPTCP_POLICYCTL").expect("mptcp-policyctl built");
    let staged = stage_executable(&bin, env.bus.dir()).expect("stage");
    user.run_on_bus(&env.bus, &staged, args, Duration::from_secs(20))
        .expect("run as user")
}

fn error_name(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: serde_json::Value =
        serde_json::from_str(stderr.trim()).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    v["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn an_unprivileged_user_is_denied_until_the_rules_allow_it() {
    let env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let user = TestUser::create("mptcpe2e").expect("user");

    // Reading is open.
    let out = ctl(&env, &user, &["--json", "status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wlan0"));

    let eps = endpoints(&env.tb).expect("eps");
    let state = env.state_files();
    let policy = env
        .manager(async |m| m.get_policy().await)
        .expect("bus")
        .expect("GetPolicy");

    for args in [
        &["--json", "--no-ask", "set-role", "wlan0", "backup"][..],
        &["--json", "--no-ask", "budget", "wwan0", "1GiB", "monthly"][..],
        &["--json", "--no-ask", "reload"][..],
        &["--json", "--no-ask", "policy", "reset"][..],
        &["--json", "--no-ask", "set-role", "wlan0", "default"][..],
        &["--json", "--no-ask", "metered", "wwan0", "default"][..],
    ] {
        let out = ctl(&env, &user, args);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(error_name(&out), "NotAuthorized", "{args:?}");
    }
    assert_eq!(endpoints(&env.tb).expect("eps"), eps, "the kernel changed");
    assert_eq!(env.state_files(), state, "the state directory changed");
    let after = env
        .manager(async |m| m.get_policy().await)
        .expect("bus")
        .expect("GetPolicy");
    assert_eq!(after, policy, "the policy changed");
    assert!(
        env.log()
            .contains("is not authorized for org.mptcp.policy.set-role"),
        "{}",
        env.log()
    );

    // The example rules + group membership grant both actions.
    env.polkitd
        .add_rules(&repo().join("polkit/50-mptcp-policy.rules.example"))
        .expect("rules");
    user.add_to_group("netdev").expect("group");
    let out = ctl(
        &env,
        &user,
        &["--json", "--no-ask", "set-role", "wlan0", "backup"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eps = endpoints(&env.tb).expect("eps");
    assert!(
        endpoint(&eps, WLAN_V4).expect("wlan0").has("backup"),
        "{eps:?}"
    );
    // The change is recorded with the caller's uid.
    let reason = env
        .interface("wlan0", async |p| {
            p.role_reason().await.expect("RoleReason")
        })
        .expect("bus");
    assert!(
        reason.contains(&format!("set over D-Bus by uid {} at ", user.uid())),
        "{reason}"
    );
    let out = ctl(
        &env,
        &user,
        &["--json", "--no-ask", "budget", "wwan0", "1GiB", "monthly"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And to take every change back: the file decides again.
    let out = ctl(&env, &user, &["--json", "--no-ask", "policy", "reset"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eps = endpoints(&env.tb).expect("eps");
    assert!(
        !endpoint(&eps, WLAN_V4).expect("wlan0").has("backup"),
        "{eps:?}"
    );
}
