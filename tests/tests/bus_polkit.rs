//! Self-test of the private bus + real polkitd + test user harness (root only).
//!
//! Root is authorized; an unprivileged user is not (challenge, no agent);
//! after a rules file granting the project's actions to `netdev` and adding
//! the user to `netdev`, the user is authorized. Nothing is left behind.

use anyhow::{Context, Result};
use mptcp_policy_tests::polkit::{check_self_at, Authz, Polkitd};
use mptcp_policy_tests::users::stage_executable;
use mptcp_policy_tests::{wait_for, PrivateBus, TempDir, TestUser};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SET_ROLE: &str = "org.mptcp.policy.set-role";
const CONFIGURE: &str = "org.mptcp.policy.configure";

/// Stand-in for `polkit/org.mptcp.policy.policy` until that file exists.
const TEST_POLICY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/PolicyKit/1/policyconfig.dtd">
<policyconfig>
  <vendor>mptcp-policyd</vendor>
  <action id="org.mptcp.policy.set-role">
    <description>Change the role of a network interface for MPTCP</description>
    <message>Authentication is required to change an interface's MPTCP role</message>
    <defaults>
      <allow_any>auth_admin</allow_any>
      <allow_inactive>auth_admin</allow_inactive>
      <allow_active>yes</allow_active>
    </defaults>
  </action>
  <action id="org.mptcp.policy.configure">
    <description>Configure the MPTCP policy daemon</description>
    <message>Authentication is required to configure the MPTCP policy</message>
    <defaults>
      <allow_any>auth_admin_keep</allow_any>
      <allow_inactive>auth_admin_keep</allow_inactive>
      <allow_active>auth_admin_keep</allow_active>
    </defaults>
  </action>
</policyconfig>
"#;

const NETDEV_RULES: &str = r#"polkit.addRule(function(action, subject) {
    if ((action.id == "org.mptcp.policy.set-role" ||
         action.id == "org.mptcp.policy.configure") &&
        subject.isInGroup("netdev")) {
        return polkit.Result.YES;
    }
});
"#;

/// These tests need root (useradd, mount namespaces, a system-like bus):
/// run as anyone else they fail with the reason instead of passing.
fn require_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    anyhow::ensure!(
        unsafe { libc::geteuid() == 0 },
        "needs root (useradd, mount namespaces): run the suite as scripts/test.sh does"
    );
    Ok(())
}

/// The project's action file once it exists, else the stand-in above.
fn policy_file(tmp: &TempDir) -> Result<PathBuf> {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../polkit/org.mptcp.policy.policy");
    if project.is_file() {
        return Ok(project);
    }
    let p = tmp.join("org.mptcp.policy.policy");
    std::fs::write(&p, TEST_POLICY)?;
    Ok(p)
}

/// Run the helper as `user` and parse its answers (one per action).
fn check_as(
    user: &TestUser,
    bus: &PrivateBus,
    helper: &Path,
    actions: &[&str],
) -> Result<Vec<Authz>> {
    let out = user.run_on_bus(bus, helper, actions, Duration::from_secs(10))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "polkit-check as {} failed ({}): {}",
        user.name(),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    stdout.lines().map(str::parse).collect()
}

fn daemons_alive(pids: &[u32]) -> Vec<u32> {
    pids.iter()
        .copied()
        .filter(|p| {
            // A reaped child's /proc entry is gone; a zombie would show `Z`.
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn private_bus_real_polkitd_and_test_user() -> Result<()> {
    require_root()?;
    let tmp = TempDir::new("bus-polkit-test")?;
    let policy = policy_file(&tmp)?;

    let host_action = Path::new("/usr/share/polkit-1/actions/org.mptcp.policy.policy");
    let host_had_action = host_action.exists();
    let bus = PrivateBus::start(&[])?;
    let polkitd = Polkitd::start(&bus, &[&policy], &[])?;
    let (bus_dir, pk_dir) = (bus.dir().to_path_buf(), polkitd.dir().to_path_buf());
    let pids: Vec<u32> = bus.pid().into_iter().chain(polkitd.pid()).collect();
    assert!(polkitd
        .actions_dir()
        .join("org.mptcp.policy.policy")
        .is_file());

    // The host's polkit directories are untouched (private mount namespace).
    assert_eq!(host_action.exists(), host_had_action);

    // Root: authorized (root is always authorized by polkit).
    assert_eq!(check_self_at(bus.address(), CONFIGURE)?, Authz::Authorized);
    assert_eq!(check_self_at(bus.address(), SET_ROLE)?, Authz::Authorized);

    // The same question with busctl (as in the README), about a root connection.
    if Path::new("/usr/bin/busctl").exists() {
        let conn = zbus::block_on(bus.connect())?;
        let me = conn.unique_name().context("unique name")?.to_string();
        let out = bus.busctl(&[
            "call",
            "org.freedesktop.PolicyKit1",
            "/org/freedesktop/PolicyKit1/Authority",
            "org.freedesktop.PolicyKit1.Authority",
            "CheckAuthorization",
            "(sa{sv})sa{ss}us",
            "system-bus-name",
            "1",
            "name",
            "s",
            &me,
            CONFIGURE,
            "0",
            "0",
            "",
        ])?;
        assert!(
            out.starts_with("(bba{ss}) true false"),
            "busctl said {out:?}"
        );
    }

    // The helper, run as an unprivileged user, is not.
    let helper = stage_executable(Path::new(env!("CARGO_BIN_EXE_polkit-check")), bus.dir())?;
    // A user left behind by a killed test process (pid gone: pids stay below
    // 2^22, so this one never lives) is cleaned up by the next `create`.
    let stale = format!("mptcpt-{}-0", 4_000_000_000u32 - std::process::id());
    mptcp_policy_tests::run(
        "useradd",
        &[
            "--system",
            "--no-create-home",
            "--comment",
            "mptcp-policy test user",
            &stale,
        ],
        Duration::from_secs(10),
    )?;
    let user = TestUser::create("mptcpt")?;
    let user_name = user.name().to_string();
    assert_ne!(user.uid(), 0);
    assert!(!std::fs::read_to_string("/etc/passwd")?.contains(&format!("{stale}:")));
    assert_eq!(
        check_as(&user, &bus, &helper, &[CONFIGURE, SET_ROLE])?,
        [Authz::Challenge, Authz::Challenge],
        "no logind: the user is never active, so both need admin auth"
    );

    // A rules file alone does not help a user outside the group … (the
    // project's example once it exists, installed as 50-mptcp-policy.rules)
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../polkit/50-mptcp-policy.rules.example");
    if example.is_file() {
        let installed = polkitd.add_rules(&example)?;
        assert!(installed.ends_with("50-mptcp-policy.rules"));
    } else {
        polkitd.add_rules_text("50-mptcp-policy.rules", NETDEV_RULES)?;
    }
    assert_eq!(
        check_as(&user, &bus, &helper, &[CONFIGURE])?,
        [Authz::Challenge]
    );

    // … joining netdev does (polkit reads group membership itself).
    user.add_to_group("netdev")?;
    assert!(user.groups()?.iter().any(|g| g == "netdev"));
    wait_for(
        "user authorized via netdev rule",
        Duration::from_secs(5),
        || Ok(check_as(&user, &bus, &helper, &[CONFIGURE])? == [Authz::Authorized]),
    )
    .with_context(|| polkitd.log())?;
    assert_eq!(
        check_as(&user, &bus, &helper, &[SET_ROLE])?,
        [Authz::Authorized]
    );

    // Removing the rules takes the grant away again.
    polkitd.remove_rules("50-mptcp-policy.rules")?;
    wait_for("grant revoked", Duration::from_secs(5), || {
        Ok(check_as(&user, &bus, &helper, &[CONFIGURE])? == [Authz::Challenge])
    })?;

    // Cleanup: everything goes away on drop.
    drop(user);
    drop(polkitd);
    drop(bus);
    assert!(
        std::fs::read_to_string("/etc/passwd")?
            .lines()
            .all(|l| !l.starts_with(&format!("{user_name}:"))),
        "user {user_name} still exists"
    );
    assert!(!bus_dir.exists() && !pk_dir.exists(), "temp dirs left");
    assert_eq!(daemons_alive(&pids), Vec::<u32>::new(), "daemons left");
    Ok(())
}

#[test]
fn bus_refuses_names_not_granted_and_allows_extra_conf() -> Result<()> {
    require_root()?;
    let tmp = TempDir::new("bus-conf-test")?;
    let conf = tmp.join("test.conf");
    std::fs::write(
        &conf,
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root"><allow own="org.mptcp.Test1"/></policy>
</busconfig>
"#,
    )?;
    let bus = PrivateBus::start(&[&conf])?;
    let meta = std::fs::metadata(bus.socket_path())?;
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o777,
        "socket usable by anyone"
    );

    zbus::block_on(async {
        let conn = bus.connect().await?;
        conn.request_name("org.mptcp.Test1").await?;
        let denied = conn.request_name("org.mptcp.Other1").await;
        assert!(
            matches!(denied, Err(zbus::Error::FDO(ref e)) if matches!(**e, zbus::fdo::Error::AccessDenied(_))),
            "system-bus default policy must deny owning other names: {denied:?}"
        );
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}

#[test]
fn bus_accepts_the_projects_policy_conf() -> Result<()> {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dbus/org.mptcp.Policy1.conf");
    require_root()?;
    anyhow::ensure!(conf.is_file(), "{} missing", conf.display());
    let bus = PrivateBus::start(&[&conf])?;
    zbus::block_on(async {
        let conn = bus.connect().await?;
        conn.request_name("org.mptcp.Policy1").await?;
        Ok::<_, anyhow::Error>(())
    })
    .with_context(|| bus.log())?;
    Ok(())
}
