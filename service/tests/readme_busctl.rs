//! The README's "Scripting with busctl" block, run verbatim: every command of
//! the fenced block marked `sh busctl-example` goes through `sh -c` with
//! `DBUS_SYSTEM_BUS_ADDRESS` pointing at a private bus where the real daemon
//! (and the real polkitd) run; as root each must exit 0. `busctl monitor`
//! runs until `timeout 1` stops it (exit 124). Afterwards the changes the
//! block makes are checked in the kernel and on the bus.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::bus_env;
use common::*;
use mptcp_policy_tests::testbed::WLAN_V4;
use mptcp_policy_tests::{run_output, TempDir, SYSTEM_BUS_ENV};

/// The info string that marks the block.
const MARKER: &str = "```sh busctl-example";

/// The commands of the marked block: every line that is neither empty nor
/// a `#` comment.
fn readme_commands(readme: &str) -> Vec<String> {
    let mut lines = readme.lines();
    assert!(
        lines.by_ref().any(|l| l.trim_end() == MARKER),
        "README.md has no block opened with {MARKER:?}"
    );
    let mut cmds = Vec::new();
    let mut closed = false;
    for line in lines {
        if line.trim_start().starts_with("```") {
            closed = true;
            break;
        }
        let t = line.trim();
        if !t.is_empty() && !t.starts_with('#') {
            cmds.push(t.to_string());
        }
    }
    assert!(closed, "the {MARKER:?} block is not closed");
    cmds
}

#[test]
fn readme_block_is_found_and_ends_at_its_fence() {
    let text = "x\n```sh busctl-example\n# c\nbusctl a\n\n  busctl b  \n```\nbusctl c\n";
    assert_eq!(readme_commands(text), ["busctl a", "busctl b"]);
}

#[test]
fn every_busctl_command_of_the_readme_works_verbatim() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let cmds = readme_commands(&readme);
    assert!(cmds.len() >= 10, "too few commands: {cmds:?}");
    assert!(cmds.iter().all(|c| c.starts_with("busctl ")), "{cmds:?}");

    let env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");

    // A working directory with the policy.toml the block reads.
    let cwd = TempDir::new("mptcp-readme-busctl").expect("temp dir");
    std::fs::write(cwd.join("policy.toml"), WIFI_FIRST).expect("policy.toml");

    let mut changes_checked = false;
    for cmd in &cmds {
        if cmd.contains(" RevertInterface ") && !changes_checked {
            // Before the block takes its changes back: they are in force.
            check_changes(&env, true);
            changes_checked = true;
        }
        let monitor = cmd.starts_with("busctl monitor");
        let script = if monitor {
            format!("timeout 1 {cmd}")
        } else {
            cmd.clone()
        };
        println!("$ {script}");
        let out = run_output(
            Command::new("sh")
                .args(["-c", &script])
                .current_dir(cwd.path())
                .env(SYSTEM_BUS_ENV, env.bus.address())
                .env_remove("DBUS_SESSION_BUS_ADDRESS"),
            Duration::from_secs(20),
        )
        .unwrap_or_else(|e| panic!("{cmd}: {e:#}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        print!("{stdout}");
        if !stderr.is_empty() {
            println!("[stderr] {stderr}");
        }
        let code = out.status.code();
        if monitor {
            assert_eq!(code, Some(124), "{cmd}: {}\n{stderr}", out.status);
        } else {
            assert_eq!(
                code,
                Some(0),
                "{cmd}: {}\n{stderr}\ndaemon log:\n{}",
                out.status,
                env.log()
            );
        }
        // A few outputs whose exact form the README promises.
        if cmd.ends_with(" PathManager") {
            assert_eq!(stdout.trim(), "s \"kernel\"", "{cmd}");
        }
        if cmd.contains(" ValidatePolicy ") {
            assert_eq!(stdout.trim(), "as 0", "{cmd}: the policy is valid");
        }
        if cmd.contains("GetManagedObjects") {
            assert!(
                stdout.contains("wlan0") && stdout.contains("wwan0"),
                "{cmd}"
            );
        }
    }

    assert!(changes_checked, "the block takes its changes back");
    // ResetPolicy: the file decides again.
    check_changes(&env, false);
}

/// The block's changes: wlan0 is a backup path in the kernel, wwan0 is
/// metered with a 2 GiB budget (`made`), or none of that (after
/// `ResetPolicy`).
fn check_changes(env: &bus_env::BusEnv, made: bool) {
    let eps = endpoints(&env.tb).expect("endpoints");
    let wlan = endpoint(&eps, WLAN_V4).expect("wlan0 endpoint");
    assert_eq!(wlan.has("backup"), made, "{eps:?}");
    let (budget, metered) = env
        .interface("wwan0", async |p| {
            (
                p.budget_bytes().await.expect("BudgetBytes"),
                p.metered().await.expect("Metered"),
            )
        })
        .expect("bus");
    let role = env
        .interface("wlan0", async |p| p.role().await.expect("Role"))
        .expect("bus");
    if made {
        assert_eq!(budget, 2_147_483_648);
        assert!(metered);
        assert_eq!(role, "backup");
    } else {
        assert_eq!(budget, 0);
        assert!(!metered);
        assert_eq!(role, "preferred");
    }
}
