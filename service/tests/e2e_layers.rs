//! Where the policy comes from, end to end: a `--config` run uses that
//! file alone (a state directory of its own, no saved D-Bus layer) and logs
//! every layer it loaded; changes made over D-Bus can be taken back one by
//! one (`default`) or all at once (`ResetPolicy`), and `RoleReason` names
//! the layer that decided — the file and line, or who set it over D-Bus and
//! when (recorded with the change, kept across a restart).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::bus_env::{self, BusEnv};
use common::*;
use mptcp_policy_dbus::Error;
use mptcp_policy_tests::process::BgProcess;
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{Testbed, TestbedOpts};

fn reason_of(env: &BusEnv, ifname: &str) -> String {
    env.interface(ifname, async |p| p.role_reason().await.expect("RoleReason"))
        .expect("bus")
}

fn is_backup(env: &BusEnv, addr: &str) -> bool {
    endpoint(&endpoints(&env.tb).expect("eps"), addr)
        .unwrap_or_else(|| panic!("no endpoint {addr}"))
        .has("backup")
}

#[test]
fn d_bus_changes_can_be_taken_back_and_reasons_name_the_layer() {
    let mut env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let config = env.config.display().to_string();
    // The file decides, and the reason says which file and line.
    assert!(
        reason_of(&env, "wwan0").contains(&format!("(type = cellular) in {config}:7")),
        "{}",
        reason_of(&env, "wwan0")
    );
    assert!(
        env.log().contains(&format!(
            "start: policy layers, lowest priority first: --config {config}"
        )),
        "{}",
        env.log()
    );

    // A role set over D-Bus wins, and the reason says who and when.
    env.manager(async |m| m.set_interface_role("wwan0", "preferred").await)
        .expect("bus")
        .expect("SetInterfaceRole wwan0 preferred");
    assert!(!is_backup(&env, WWAN_V4));
    let reason = reason_of(&env, "wwan0");
    assert!(reason.contains("set over D-Bus by uid 0 at "), "{reason}");

    // "default": the file decides again, in the kernel when the call returns.
    env.manager(async |m| m.set_interface_role("wwan0", "default").await)
        .expect("bus")
        .expect("SetInterfaceRole wwan0 default");
    assert!(is_backup(&env, WWAN_V4));
    assert!(reason_of(&env, "wwan0").contains(&format!("in {config}:7")));
    let policy = env
        .manager(async |m| m.get_policy().await)
        .expect("bus")
        .expect("GetPolicy");
    assert!(!policy.contains("name = \"wwan0\""), "{policy}");

    // By type the same way.
    env.manager(async |m| m.set_interface_role("cellular", "off").await)
        .expect("bus")
        .expect("SetInterfaceRole cellular off");
    assert!(endpoint(&endpoints(&env.tb).expect("eps"), WWAN_V4).is_none());
    env.manager(async |m| m.set_interface_role("cellular", "default").await)
        .expect("bus")
        .expect("SetInterfaceRole cellular default");
    assert!(is_backup(&env, WWAN_V4));

    // Metered and budget one at a time: the role set beside them stays.
    env.manager(async |m| {
        m.set_interface_role("wwan0", "preferred").await?;
        m.set_metered("wwan0", true).await?;
        m.set_budget("wwan0", 5 << 20, "monthly").await
    })
    .expect("bus")
    .expect("changes");
    let props = |env: &BusEnv| {
        env.interface("wwan0", async |p| {
            (
                p.metered().await.expect("Metered"),
                p.budget_bytes().await.expect("BudgetBytes"),
            )
        })
        .expect("bus")
    };
    assert_eq!(props(&env), (true, 5 << 20));
    env.manager(async |m| m.revert_interface("wwan0", "budget").await)
        .expect("bus")
        .expect("RevertInterface budget");
    assert_eq!(props(&env), (true, 0));
    env.manager(async |m| m.revert_interface("wwan0", "metered").await)
        .expect("bus")
        .expect("RevertInterface metered");
    assert_eq!(props(&env), (false, 0));
    assert!(!is_backup(&env, WWAN_V4), "the role set over D-Bus stays");

    // Bad input: a named error, nothing changed.
    let state = env.state_files();
    let eps = endpoints(&env.tb).expect("eps");
    let err = env
        .manager(async |m| m.revert_interface("wwan0", "colour").await)
        .expect("bus")
        .expect_err("unknown setting");
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("role, metered, budget or all")),
        "{err:?}"
    );
    let err = env
        .manager(async |m| m.set_interface_role("nosuch0", "default").await)
        .expect("bus")
        .expect_err("unknown interface");
    assert!(matches!(err, Error::UnknownInterface(_)), "{err:?}");
    assert_eq!(env.state_files(), state, "the state directory changed");
    assert_eq!(endpoints(&env.tb).expect("eps"), eps, "the kernel changed");

    // Who set it survives a restart (same --state-dir, given explicitly).
    let before = reason_of(&env, "wwan0");
    env.stop_daemon().expect("stop");
    env.start_daemon().expect("restart");
    assert_eq!(reason_of(&env, "wwan0"), before);
    assert!(
        env.log().contains(&format!(
            "D-Bus layer (saved changes) {}",
            env.state.join("policy.toml").display()
        )),
        "{}",
        env.log()
    );

    // ResetPolicy: every D-Bus change gone, the files decide.
    env.manager(async |m| m.set_interface_role("wlan0", "backup").await)
        .expect("bus")
        .expect("SetInterfaceRole wlan0 backup");
    env.manager(async |m| m.reset_policy().await)
        .expect("bus")
        .expect("ResetPolicy");
    assert!(!is_backup(&env, WLAN_V4));
    assert!(is_backup(&env, WWAN_V4));
    assert!(!env.state.join("policy.toml").exists());
    assert!(reason_of(&env, "wlan0").contains(&format!("in {config}:4")));
}

/// Removes a directory the daemon made for a `--config` run, also when the
/// test fails.
struct RemoveDir(Option<PathBuf>);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = std::fs::remove_dir_all(&d);
            // The daemon's base directory too, when nothing else is in it.
            if let Some(base) = d.parent() {
                let _ = std::fs::remove_dir(base);
            }
        }
    }
}

fn run_daemon(tb: &Testbed, name: &str, args: &[String]) -> BgProcess {
    let mut all = vec!["--no-dbus".to_string()];
    all.extend_from_slice(args);
    let mut p = BgProcess::spawn_in_ns(tb.client_ns(), name, &daemon_bin(), &all, tb.tmp_dir())
        .expect("spawn");
    mptcp_policy_tests::wait_for("ready", Duration::from_secs(10), || {
        if let Some(st) = p.try_status()? {
            anyhow::bail!("daemon exited ({st}): {}", p.stderr());
        }
        Ok(p.stderr().contains("ready"))
    })
    .expect("daemon ready");
    p
}

fn stop(p: &mut BgProcess) {
    if let Some(pid) = p.pid() {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    }
    p.wait_success(Duration::from_secs(10)).expect("clean exit");
}

fn state_dir_in(log: &str) -> PathBuf {
    let line = log
        .lines()
        .find(|l| l.contains("state directory "))
        .unwrap_or_else(|| panic!("no state directory logged:\n{log}"));
    let rest = line.split("state directory ").nth(1).unwrap_or_default();
    PathBuf::from(rest.split(' ').next().unwrap_or_default())
}

#[test]
fn a_config_run_uses_that_file_alone() {
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .expect("testbed");
    let config = tb.tmp_dir().join("policy.toml");
    std::fs::write(&config, WIFI_FIRST).expect("write");
    let args = vec!["--config".to_string(), config.display().to_string()];

    // No --state-dir: a directory of its own, not the system's.
    let mut first = run_daemon(&tb, "config-alone-1", &args);
    let log = first.stderr();
    let own = state_dir_in(&log);
    let _cleanup = RemoveDir(Some(own.clone()));
    assert!(
        own.display()
            .to_string()
            .starts_with("/run/mptcp-policyd/config-"),
        "{log}"
    );
    assert!(!log.contains("/var/lib/mptcp-policyd"), "{log}");
    assert!(
        log.contains(&format!(
            "start: policy layers, lowest priority first: --config {}",
            config.display()
        )),
        "{log}"
    );
    let eps = wait_endpoints(&tb, "both endpoints", |e| e.len() == 2).expect("eps");
    assert!(endpoint(&eps, WWAN_V4).expect("wwan0").has("backup"));
    stop(&mut first);

    // A D-Bus layer saved there (as an older daemon would have) is not read.
    let layer = "[[interface]]\ntype = \"cellular\"\nrole = \"preferred\"\n";
    std::fs::write(own.join("policy.toml"), layer).expect("plant a layer");
    let mut second = run_daemon(&tb, "config-alone-2", &args);
    assert_eq!(
        state_dir_in(&second.stderr()),
        own,
        "same file, same directory"
    );
    assert!(
        !second.stderr().contains("D-Bus layer"),
        "{}",
        second.stderr()
    );
    let eps = wait_endpoints(&tb, "both endpoints", |e| e.len() == 2).expect("eps");
    assert!(
        endpoint(&eps, WWAN_V4).expect("wwan0").has("backup"),
        "{eps:?}"
    );
    stop(&mut second);

    // Named explicitly, a state directory's saved layer is used, and logged.
    let mut explicit_args = args.clone();
    explicit_args.extend(["--state-dir".to_string(), own.display().to_string()]);
    let mut third = run_daemon(&tb, "config-alone-3", &explicit_args);
    let log = third.stderr();
    assert!(
        log.contains(&format!(
            "--config {}, D-Bus layer (saved changes) {}",
            config.display(),
            own.join("policy.toml").display()
        )),
        "{log}"
    );
    wait_endpoints(&tb, "wwan0 preferred by the saved layer", |e| {
        endpoint(e, WWAN_V4).is_some_and(|ep| !ep.has("backup"))
    })
    .expect("eps");
    stop(&mut third);
    assert!(Path::new(&own).exists());
}

/// A D-Bus change is merged over the files as last read: an administrator's
/// half-written file is neither picked up nor a reason to refuse the change;
/// it counts from the next reload, where a bad file keeps the last good
/// policy.
#[test]
fn a_d_bus_change_ignores_a_half_written_file_until_reload() {
    let env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let good = std::fs::read_to_string(&env.config).expect("config");
    // Mid-save: the editor has written half of the file.
    std::fs::write(&env.config, &good[..good.len() / 2]).expect("write");
    env.manager(async |m| m.set_interface_role("wwan0", "preferred").await)
        .expect("bus")
        .expect("SetInterfaceRole wwan0 preferred while the file is half-written");
    assert!(!is_backup(&env, WWAN_V4));
    assert!(
        !is_backup(&env, WLAN_V4),
        "the file as last read still decides WiFi"
    );
    // Reload refuses the broken file and keeps the last good policy.
    let refused = env.manager(async |m| m.reload().await).expect("bus");
    assert!(refused.is_err(), "a half-written file was accepted");
    assert!(!is_backup(&env, WWAN_V4));
}
