//! Layer merging: per-key wins for tables, later entries first for lists,
//! shadowed entries dropped, errors from every layer.

use mptcp_policy::{InterfaceType, OnExit, PathManager, Policy, PolicySource, Role};

fn src(name: &str, text: &str) -> PolicySource {
    PolicySource::new(name, text)
}

const VENDOR: &str = r#"
[general]
path_manager = "kernel"
on_exit = "remove"
fullmesh = true

[limits]
subflows = 2
add_addr_accepted = 2

[interface_types]
"usb0" = "ethernet"
"rmnet*" = "cellular"

[[interface]]
type = "wifi"
role = "preferred"

[[interface]]
type = "cellular"
role = "backup"

[[rule]]
remote_port = [443]
mode = "handover"
"#;

const ADMIN: &str = r#"
[limits]
subflows = 6

[interface_types]
"usb0" = "cellular"

[[interface]]
type = "cellular"
role = "off"

[[interface]]
name = "eth*"
role = "preferred"
"#;

const DBUS: &str = r#"
[general]
fullmesh = false
announce = true

[[interface]]
name = "wlan0"
role = "backup"

[[rule]]
remote_port = [22]
mode = "interactive"
"#;

#[test]
fn later_layers_win_per_key_and_come_first_in_lists() {
    let p = Policy::from_layers(&[
        src("vendor.toml", VENDOR),
        src("admin.toml", ADMIN),
        src("dbus", DBUS),
    ])
    .expect("merges");
    assert_eq!(p.general.path_manager, PathManager::Kernel);
    assert_eq!(
        p.general.on_exit,
        OnExit::Remove,
        "vendor key kept when nobody overrides"
    );
    assert!(p.general.announce);
    assert!(!p.general.fullmesh, "dbus overrides vendor fullmesh");
    assert_eq!((p.limits.subflows, p.limits.add_addr_accepted), (6, 2));
    assert_eq!(
        p.interface_types.lookup("usb0"),
        Some(InterfaceType::Cellular)
    );
    assert_eq!(
        p.interface_types.lookup("rmnet_data0"),
        Some(InterfaceType::Cellular)
    );
    let matchers: Vec<(String, Role)> = p
        .interfaces
        .iter()
        .map(|e| (e.describe_match(), e.role))
        .collect();
    assert_eq!(
        matchers,
        vec![
            ("name = \"wlan0\"".to_owned(), Role::Backup),
            ("type = cellular".to_owned(), Role::Off),
            ("name = \"eth*\"".to_owned(), Role::Preferred),
            ("type = wifi".to_owned(), Role::Preferred),
            // vendor's `type = cellular` is shadowed by admin's and dropped
        ]
    );
    let ports: Vec<Vec<u16>> = p.rules.iter().map(|r| r.remote_port.clone()).collect();
    assert_eq!(ports, vec![vec![22], vec![443]]);
}

#[test]
fn merged_policy_round_trips() {
    let p = Policy::from_layers(&[
        src("vendor.toml", VENDOR),
        src("admin.toml", ADMIN),
        src("dbus", DBUS),
    ])
    .expect("merges");
    assert_eq!(Policy::parse("dbus", &p.to_toml()), Ok(p));
}

#[test]
fn no_layers_is_the_default_policy() {
    assert_eq!(Policy::from_layers(&[]), Ok(Policy::default()));
}

#[test]
fn errors_of_every_layer_are_returned_with_their_file() {
    let bad1 = "[limits]\nsubflows = 12\n";
    let bad2 = "[[interface]]\ntype = \"wifi\"\nrole = \"sometimes\"\n";
    let errors = Policy::from_layers(&[
        src("a.toml", bad1),
        src("ok.toml", ADMIN),
        src("b.toml", bad2),
    ])
    .expect_err("must fail");
    let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].starts_with("a.toml:2:12: subflows = 12"),
        "{}",
        got[0]
    );
    assert!(
        got[1].starts_with("b.toml:3:8: unknown role \"sometimes\""),
        "{}",
        got[1]
    );
}

#[test]
fn same_matcher_in_two_layers_is_an_override_not_an_error() {
    let a = "[[interface]]\ntype = \"wifi\"\nrole = \"preferred\"\n";
    let b = "[[interface]]\ntype = \"wifi\"\nrole = \"backup\"\n";
    let p = Policy::from_layers(&[src("a", a), src("b", b)]).expect("merges");
    assert_eq!(p.interfaces.len(), 1);
    assert_eq!(p.interfaces[0].role, Role::Backup);
}

#[test]
fn announce_and_fullmesh_conflict_across_layers_points_at_the_later_one() {
    let a = "[general]\nfullmesh = true\n";
    let b = "\n[general]\nannounce = true\n";
    let errors =
        Policy::from_layers(&[src("vendor.toml", a), src("admin.toml", b)]).expect_err("conflict");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].file(), errors[0].line(), errors[0].column()),
        ("admin.toml", 3, 12)
    );
    // An override in a later layer resolves it.
    let c = "[general]\nfullmesh = false\n";
    assert!(
        Policy::from_layers(&[src("vendor.toml", a), src("admin.toml", b), src("c", c)]).is_ok()
    );
}

#[test]
fn dbus_layer_edits_do_not_override_other_keys() {
    // The daemon keeps the D-Bus layer as a Policy, edits entries, saves it.
    let mut dbus = Policy::default();
    dbus.interface_entry_mut("wwan0", Role::Preferred).role = Role::Backup;
    dbus.interface_entry_mut("wwan0", Role::Preferred).metered = Some(true);
    dbus.interface_entry_mut("we[ird]*", Role::Off);
    assert_eq!(dbus.interfaces.len(), 2);
    let text = dbus.to_toml_overrides();
    assert!(
        !text.contains("[limits]") && !text.contains("[general]"),
        "{text}"
    );
    assert_eq!(Policy::parse("dbus", &text), Ok(dbus.clone()));

    let merged =
        Policy::from_layers(&[src("admin.toml", ADMIN), src("dbus", &text)]).expect("merges");
    assert_eq!(merged.limits.subflows, 6, "admin's limit survives");
    let first = &merged.interfaces[0];
    assert!(
        first.matches("we[ird]*", InterfaceType::Unknown),
        "escaped literal"
    );
    assert!(!first.matches("weirdo", InterfaceType::Unknown));
    let wwan = &merged.interfaces[1];
    assert!(wwan.matches("wwan0", InterfaceType::Cellular) && wwan.metered == Some(true));
    assert_eq!(wwan.role, Role::Backup);
}

#[test]
fn overrides_form_keeps_non_default_keys() {
    let p = Policy::parse(
        "p",
        "[general]\non_exit = \"remove\"\n[limits]\nsubflows = 2\n",
    )
    .expect("parses");
    let text = p.to_toml_overrides();
    assert_eq!(
        text.trim(),
        "[general]\non_exit = \"remove\"\n\n[limits]\nsubflows = 2"
    );
    assert_eq!(Policy::parse("p", &text), Ok(p));
}

#[test]
fn verdicts_name_the_layer_and_line_that_decided() {
    use mptcp_policy::{evaluate, Observed, ObservedInterface};
    let vendor = PolicySource::new(
        "/usr/lib/mptcp-policyd/policy.d/10-carrier.toml",
        "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\n",
    );
    let admin = PolicySource::new(
        "/etc/mptcp-policyd/policy.toml",
        "[limits]\nsubflows = 2\n\n[[interface]]\ntype = \"wifi\"\nrole = \"preferred\"\n",
    );
    let mut p = Policy::from_layers(&[vendor, admin]).expect("valid");
    let iface = |index, name: &str, kind| ObservedInterface {
        index,
        name: name.into(),
        kind,
        up: true,
        addresses: Vec::new(),
        usage: None,
        hints: Default::default(),
        stalled: None,
        degraded: None,
    };
    let observed = Observed {
        interfaces: vec![
            iface(2, "wlan0", InterfaceType::Wifi),
            iface(3, "wwan0", InterfaceType::Cellular),
        ],
    };
    let now: mptcp_policy::jiff::ZonedDateTime =
        "2026-05-15T12:00:00+00:00[UTC]".parse().expect("instant");
    let d = evaluate(&p, &observed, &now);
    assert!(
        d.interfaces[0].reason.starts_with(
            "matched [[interface]] #1 (type = wifi) in /etc/mptcp-policyd/policy.toml:4"
        ),
        "{}",
        d.interfaces[0].reason
    );
    assert!(
        d.interfaces[1].reason.starts_with(
            "matched [[interface]] #2 (type = cellular) in /usr/lib/mptcp-policyd/policy.d/10-carrier.toml:1"
        ),
        "{}",
        d.interfaces[1].reason
    );
    // The daemon replaces the place with who set it over D-Bus.
    p.interfaces[1].source.note =
        Some("set over D-Bus by uid 1000 at 2026-05-15 14:00:00 +02:00".into());
    let d = evaluate(&p, &observed, &now);
    assert!(
        d.interfaces[1].reason.starts_with(
            "matched [[interface]] #2 (type = cellular), set over D-Bus by uid 1000 at 2026-05-15 14:00:00 +02:00"
        ),
        "{}",
        d.interfaces[1].reason
    );
    // Where an entry was written is not part of what it says.
    let same = Policy::parse("elsewhere.toml", "[limits]\nsubflows = 2\n\n[[interface]]\ntype = \"wifi\"\nrole = \"preferred\"\n[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\n").expect("valid");
    assert_eq!(p, same);
}
