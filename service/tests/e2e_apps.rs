//! The daemon's side of unmodified apps on MPTCP, end to end on a private
//! bus with the real polkitd: the BPF probe's answer is published
//! (`BpfStatus`, `mptcp-policyctl status`) and the daemon runs on with the
//! preload path; `EnableCgroup`/`DisableCgroup` (CLI `enable/disable
//! --cgroup`) manage real cgroups, with the ids the kernel gives them,
//! persisted across a restart, refused for bad input and for an
//! unprivileged user.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::bus_env::BusEnv;
use common::{daemon_bin, WIFI_FIRST};
use mptcp_policy_tests::preload::tools;
use mptcp_policy_tests::users::stage_executable;
use mptcp_policy_tests::{TestUser, TestbedOpts};

/// A cgroup made for the test (and a child), removed on drop.
struct TestCgroup {
    dir: PathBuf,
    child: PathBuf,
    /// Its path relative to the cgroup2 mount.
    path: String,
}

impl TestCgroup {
    fn create(mount: &Path) -> TestCgroup {
        let name = format!("mptcp-policyd-test-{}", std::process::id());
        let dir = mount.join(&name);
        let child = dir.join("app");
        std::fs::create_dir_all(&child).expect("mkdir cgroup");
        TestCgroup {
            dir,
            child,
            path: format!("/{name}/app"),
        }
    }

    fn id(&self) -> u64 {
        std::fs::metadata(&self.child).expect("stat").ino()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.child);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The cgroup2 mount of this (the host's) mount namespace.
fn cgroup2_mount() -> PathBuf {
    mptcp_policy_tests::cgroups::cgroup2_mount().expect("cgroup v2 mounted")
}

fn ctl_root(env: &BusEnv, args: &[&str]) -> Output {
    let (ctl, _) = tools().expect("tools");
    env.bus
        .command(ctl)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run mptcp-policyctl")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn cgroups(env: &BusEnv) -> Vec<(String, u64)> {
    env.manager(async |m| m.enabled_cgroups().await)
        .expect("bus")
        .expect("EnabledCgroups")
}

#[test]
fn bpf_status_is_published_and_cgroups_are_managed_over_dbus() {
    let mount = cgroup2_mount();
    let cg = TestCgroup::create(&mount);
    // `ip netns exec` gives the daemon a fresh /sys without the cgroup
    // mounts; it reaches the same hierarchy through this process's root.
    let root = PathBuf::from(format!("/proc/{}/root", std::process::id()))
        .join(mount.strip_prefix("/").expect("absolute"));
    let mut env = BusEnv::start_with_args(
        &daemon_bin(),
        WIFI_FIRST,
        TestbedOpts {
            ipv6: false,
            ..TestbedOpts::default()
        },
        &["--cgroup-root".as_ref(), root.as_os_str()],
    )
    .expect("env");

    // No app enabled: the program is not loaded (nor the kernel's BTF
    // parsed) at start; said on the bus, in the log and in `status`.
    let bpf_status = |env: &BusEnv| {
        env.manager(async |m| m.bpf_status().await)
            .expect("bus")
            .expect("BpfStatus")
    };
    let idle = bpf_status(&env);
    assert!(idle.starts_with("not loaded ("), "{idle}");
    assert!(env.log().contains(&format!("bpf: {idle}")), "{}", env.log());
    let out = ctl_root(&env, &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&idle), "{}", text(&out));

    // Enable through the CLI: the program is loaded then (the probe's
    // answer, the same on the bus, in the log and in `status`) and the
    // kernel's id of that cgroup is published.
    assert_eq!(cgroups(&env), vec![]);
    let out = ctl_root(&env, &["enable", "--cgroup", &cg.path]);
    assert!(out.status.success(), "{}", text(&out));
    let status = bpf_status(&env);
    assert!(
        status.starts_with("active (") || status.starts_with("unavailable ("),
        "{status}"
    );
    if status.starts_with("unavailable") {
        assert!(
            text(&out).contains("its sockets stay TCP"),
            "{}",
            text(&out)
        );
    }
    assert!(
        env.log().contains(&format!("bpf: {status}")),
        "{}",
        env.log()
    );
    let out = ctl_root(&env, &["status"]);
    assert!(text(&out).contains(&status), "{}", text(&out));
    assert_eq!(cgroups(&env), vec![(cg.path.clone(), cg.id())]);
    let saved = std::fs::read_to_string(env.state.join("apps.json")).expect("apps.json");
    assert!(saved.contains(&cg.path), "{saved}");

    // Bad input: named errors, nothing changes.
    let state = env.state_files();
    for bad in ["relative/path", "/a/../b", "/no-such-cgroup-here", ""] {
        let out = ctl_root(&env, &["--json", "enable", "--cgroup", bad]);
        assert_eq!(out.status.code(), Some(5), "{bad:?}: {}", text(&out));
        assert!(
            text(&out).contains("InvalidArgument"),
            "{bad:?}: {}",
            text(&out)
        );
    }
    let out = ctl_root(&env, &["disable", "--cgroup", "/not/enabled"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("is not enabled"), "{}", text(&out));
    assert_eq!(env.state_files(), state, "bad input changed the state");
    assert_eq!(cgroups(&env), vec![(cg.path.clone(), cg.id())]);

    // An unprivileged user may read but not change.
    let user = TestUser::create("mptcpapps").expect("user");
    let (ctl, _) = tools().expect("tools");
    let staged = stage_executable(&ctl, env.bus.dir()).expect("stage");
    let out = user
        .run_on_bus(
            &env.bus,
            &staged,
            &["--json", "--no-ask", "disable", "--cgroup", &cg.path],
            Duration::from_secs(20),
        )
        .expect("run as user");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("NotAuthorized"), "{}", text(&out));
    assert!(
        env.log()
            .contains("is not authorized for org.mptcp.policy.configure"),
        "polkit, not the bus, refused: {}",
        env.log()
    );
    assert_eq!(cgroups(&env), vec![(cg.path.clone(), cg.id())]);
    let out = user
        .run_on_bus(&env.bus, &staged, &["apps"], Duration::from_secs(20))
        .expect("run as user");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&cg.path), "{}", text(&out));

    // Persisted: a restarted daemon has it again, and with an app enabled
    // it loads the program at start.
    env.stop_daemon().expect("stop");
    env.start_daemon().expect("start");
    assert_eq!(cgroups(&env), vec![(cg.path.clone(), cg.id())]);
    assert_eq!(bpf_status(&env), status);

    // Disable: gone from the bus and from the state directory.
    let out = ctl_root(&env, &["disable", "--cgroup", &format!("/{}", cg.path)]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(cgroups(&env), vec![]);
    let saved = std::fs::read_to_string(env.state.join("apps.json")).expect("apps.json");
    assert!(!saved.contains(&cg.path), "{saved}");
    assert!(env.daemon_alive(), "{}", env.log());
}
