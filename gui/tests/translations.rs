//! Translations: `gui/po/mptcp-policy-panel.pot` holds exactly the
//! translatable strings of the sources listed in `gui/po/POTFILES`
//! (regenerated with `gui/po/update-pot.sh` and compared), every `.po` of
//! `LINGUAS` compiles and translates all of them, and the panel really
//! speaks German with the compiled catalogue (strings from Rust code and
//! from the `.ui` templates) against the real daemon.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use mptcp_policy_tests::TempDir;

fn po_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("po")
}

/// The msgids of a .pot/.po file (header excluded).
fn msgids(path: &std::path::Path) -> BTreeSet<String> {
    let out = Command::new("msgcat")
        .args(["--no-wrap", "--sort-output"])
        .arg(path)
        .output()
        .expect("msgcat (gettext)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("msgid \""))
        .map(|s| s.trim_end_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn languages() -> Vec<String> {
    std::fs::read_to_string(po_dir().join("LINGUAS"))
        .expect("LINGUAS")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_pot_is_current() {
    let dir = TempDir::new("mptcp-pot").expect("tmp");
    let fresh = dir.join("fresh.pot");
    let out = Command::new("bash")
        .arg(po_dir().join("update-pot.sh"))
        .arg(&fresh)
        .output()
        .expect("update-pot.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = msgids(&po_dir().join("mptcp-policy-panel.pot"));
    assert_eq!(
        msgids(&fresh),
        committed,
        "run gui/po/update-pot.sh and translate the new strings"
    );
    assert!(committed.len() > 50, "{committed:?}");
    for s in [
        "Preferred",
        "Role",
        "Data Budget",
        "No MPTCP connections right now",
    ] {
        assert!(committed.contains(s), "{s}");
    }
}

#[test]
fn every_language_translates_every_string() {
    let pot = msgids(&po_dir().join("mptcp-policy-panel.pot"));
    for lang in languages() {
        let po = po_dir().join(format!("{lang}.po"));
        assert_eq!(msgids(&po), pot, "{lang}.po has the .pot's strings");
        let out = Command::new("msgfmt")
            .args(["--check", "--statistics", "-o", "/dev/null"])
            .arg(&po)
            .output()
            .expect("msgfmt");
        let stats = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{lang}: {stats}");
        assert!(
            !stats.contains("untranslated") && !stats.contains("fuzzy"),
            "{lang}: {stats}"
        );
    }
}

#[test]
fn the_panel_speaks_german() {
    let locale = TempDir::new("mptcp-locale").expect("tmp");
    let mo_dir = locale.join("de/LC_MESSAGES");
    std::fs::create_dir_all(&mo_dir).expect("mkdir");
    let ok = Command::new("msgfmt")
        .arg("-o")
        .arg(mo_dir.join("mptcp-policy-panel.mo"))
        .arg(po_dir().join("de.po"))
        .status()
        .expect("msgfmt");
    assert!(ok.success());

    let env = daemon_env();
    let xvfb = Xvfb::start(360, 720).expect("Xvfb");
    let mut panel = Panel::start_with_env(
        &env,
        &xvfb,
        (360, 720),
        &[
            ("LANGUAGE", "de"),
            (
                "MPTCP_PANEL_LOCALEDIR",
                locale.path().to_str().expect("utf-8"),
            ),
        ],
    )
    .expect("panel");
    // "Bevorzugt" comes from Rust (gettext), "Rolle" and "Durchsatz" from
    // the .ui templates (GtkBuilder with the text domain).
    let tree = panel.wait("German labels", Duration::from_secs(20), |t| {
        role_shown(t, "wlan0").as_deref() == Some("Bevorzugt")
    });
    let all = texts(&tree);
    for want in ["Rolle", "Durchsatz", "Reserve", "Getaktet"] {
        assert!(all.iter().any(|s| s == want), "{want} in {all:?}");
    }
    panel.ok("select role-wwan0 Bevorzugt");
    // The daemon gets the role id, not the label.
    mptcp_policy_tests::wait_for("wwan0 preferred", Duration::from_secs(5), || {
        Ok(env
            .interface("wwan0", async |p| p.role().await)?
            .map_err(anyhow::Error::from)?
            == "preferred")
    })
    .expect("the daemon took the role");
}
