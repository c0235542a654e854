//! Desktop integration files: the .desktop entry passes
//! `desktop-file-validate` and starts the panel's binary with its icon, the
//! AppStream metainfo passes `appstreamcli validate`, and the icon is a
//! square SVG named after the application id.

use std::path::PathBuf;
use std::process::Command;

const APP_ID: &str = "org.mptcp.PolicyPanel";

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/install-test-deps.sh installs it)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn desktop_entry_is_valid_and_starts_the_panel() {
    let path = data(&format!("{APP_ID}.desktop"));
    let (ok, text) = run("desktop-file-validate", &[path.to_str().expect("utf-8")]);
    assert!(ok && text.trim().is_empty(), "{text}");
    let entry = std::fs::read_to_string(&path).expect("read");
    for line in [
        "Exec=mptcp-policy-panel",
        &format!("Icon={APP_ID}"),
        "Type=Application",
        "Terminal=false",
    ] {
        assert!(entry.lines().any(|l| l == line), "{line} in {entry}");
    }
}

#[test]
fn metainfo_is_valid_appstream() {
    let path = data(&format!("{APP_ID}.metainfo.xml"));
    let (ok, text) = run(
        "appstreamcli",
        &["validate", "--no-net", path.to_str().expect("utf-8")],
    );
    assert!(ok, "{text}");
    let xml = std::fs::read_to_string(&path).expect("read");
    assert!(xml.contains(&format!("<id>{APP_ID}</id>")));
    assert!(xml.contains(&format!(
        "<launchable type=\"desktop-id\">{APP_ID}.desktop</launchable>"
    )));
    assert!(xml.contains("<binary>mptcp-policy-panel</binary>"));
}

#[test]
fn icon_is_a_square_svg() {
    let text = std::fs::read_to_string(data(&format!("{APP_ID}.svg"))).expect("read");
    let doc = roxmltree::Document::parse(&text).expect("the icon is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("viewBox"), Some("0 0 128 128"));
    assert_eq!(
        (root.attribute("width"), root.attribute("height")),
        (Some("128"), Some("128"))
    );
    assert!(root.children().filter(|n| n.is_element()).count() >= 3);
}
