//! D-Bus changes as pure edits of the D-Bus layer: set, then take back.
//! Each row starts from a layer and the entry in force, applies one edit
//! and compares the layer's TOML (what the daemon saves).

use mptcp_policy::{InterfaceEdit, InterfaceRule, InterfaceType, Period, Policy, Role, Setting};

fn layer(text: &str) -> Policy {
    Policy::parse("layer.toml", text).expect("valid layer")
}

/// The first entry of `text`: "what is in force" for the interface.
fn entry(text: &str) -> InterfaceRule {
    layer(text).interfaces.remove(0)
}

/// The layer as the daemon saves it, without blank lines.
fn saved(p: &Policy) -> String {
    p.to_toml_overrides()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

const CELLULAR_FILE: &str = r#"
[[interface]]
type = "cellular"
role = "backup"
metered = true
budget = { bytes = "2GiB", period = "monthly", reset_day = 5 }
"#;

#[test]
fn edits_of_an_interface_start_from_the_entry_in_force() {
    let in_force = entry(CELLULAR_FILE);
    let empty = Policy::default();
    let cases: &[(&str, InterfaceEdit, &[&str], &[&str])] = &[
        (
            "a role keeps the file's metered flag and budget",
            InterfaceEdit::Role(Role::Preferred),
            &[
                "name = \"wwan0\"",
                "role = \"preferred\"",
                "metered = true",
                "reset_day = 5",
            ],
            &["role = \"backup\""],
        ),
        (
            "metered off keeps the role of the entry, not a demotion",
            InterfaceEdit::Metered(false),
            &["role = \"backup\"", "metered = false"],
            &[],
        ),
        (
            "a budget keeps reset_day and marks the link metered",
            InterfaceEdit::Budget {
                bytes: 1 << 30,
                period: Period::Monthly,
            },
            &["bytes = \"1GiB\"", "reset_day = 5", "metered = true"],
            &["2GiB"],
        ),
        (
            "a daily budget starts each day",
            InterfaceEdit::Budget {
                bytes: 100 << 20,
                period: Period::Daily,
            },
            &["period = \"daily\""],
            &["reset_day = 5"],
        ),
        (
            "0 bytes removes the budget",
            InterfaceEdit::Budget {
                bytes: 0,
                period: Period::Monthly,
            },
            &["metered = true"],
            &["budget"],
        ),
    ];
    for (what, edit, has, lacks) in cases {
        let text = saved(&empty.with_interface_edit("wwan0", Some(&in_force), edit));
        for h in *has {
            assert!(text.contains(h), "{what}: {h:?} missing in\n{text}");
        }
        for l in *lacks {
            assert!(!text.contains(l), "{what}: {l:?} present in\n{text}");
        }
    }
}

#[test]
fn a_second_edit_changes_only_its_setting() {
    let first = Policy::default().with_interface_edit(
        "wwan0",
        Some(&entry(CELLULAR_FILE)),
        &InterfaceEdit::Role(Role::Off),
    );
    // The entry in force is now the layer's own; a new edit keeps the role.
    let second = first.with_interface_edit("wwan0", None, &InterfaceEdit::Metered(false));
    let text = saved(&second);
    assert!(
        text.contains("role = \"off\"") && text.contains("metered = false"),
        "{text}"
    );
    assert_eq!(second.interfaces.len(), 1, "one entry per interface");
}

#[test]
fn an_unmatched_interface_starts_off() {
    let p = Policy::default().with_interface_edit("eth9", None, &InterfaceEdit::Metered(true));
    let text = saved(&p);
    assert!(
        text.contains("role = \"off\"") && text.contains("metered = true"),
        "{text}"
    );
}

#[test]
fn type_roles_go_after_name_entries_and_come_back() {
    let named =
        Policy::default().with_interface_edit("wwan0", None, &InterfaceEdit::Role(Role::Preferred));
    let typed = named.with_type_role(InterfaceType::Cellular, Role::Off);
    assert_eq!(typed.interfaces.len(), 2);
    assert!(
        typed.interfaces[0].name.is_some(),
        "the name entry still wins"
    );
    assert_eq!(typed.interfaces[1].kind, Some(InterfaceType::Cellular));
    // Setting it again edits the same entry.
    let again = typed.with_type_role(InterfaceType::Cellular, Role::Backup);
    assert_eq!(again.interfaces.len(), 2);
    assert_eq!(again.interfaces[1].role, Role::Backup);
    // "default" for the type drops it; twice is nothing to do.
    let back = again
        .without_type_entry(InterfaceType::Cellular)
        .expect("had one");
    assert_eq!(back, named);
    assert!(back.without_type_entry(InterfaceType::Cellular).is_none());
}

#[test]
fn reverting_gives_the_files_value_and_drops_an_entry_with_nothing_left() {
    let file = entry(CELLULAR_FILE);
    let changed = Policy::default()
        .with_interface_edit("wwan0", Some(&file), &InterfaceEdit::Role(Role::Preferred))
        .with_interface_edit("wwan0", None, &InterfaceEdit::Metered(false));
    let cases: &[(Setting, Option<&str>)] = &[
        // Role back; metered still differs: the entry stays with the file's role.
        (Setting::Role, Some("role = \"backup\"")),
        // Metered back; the role still differs.
        (Setting::Metered, Some("metered = true")),
        (Setting::All, None),
    ];
    for (setting, stays) in cases {
        let reverted = changed
            .with_reverted("wwan0", *setting, Some(&file))
            .expect("has an entry");
        match stays {
            Some(s) => assert!(
                saved(&reverted).contains(s),
                "{setting:?}: {}",
                saved(&reverted)
            ),
            None => assert!(reverted.interfaces.is_empty(), "{setting:?}"),
        }
    }
    // Both settings back, one after the other: nothing left.
    let both = changed
        .with_reverted("wwan0", Setting::Role, Some(&file))
        .and_then(|p| p.with_reverted("wwan0", Setting::Metered, Some(&file)))
        .expect("entry");
    assert!(both.interfaces.is_empty(), "{}", saved(&both));
    // No entry for the interface: nothing to take back.
    assert!(Policy::default()
        .with_reverted("wwan0", Setting::Role, Some(&file))
        .is_none());
}

#[test]
fn settings_parse_and_name_themselves() {
    for s in [
        Setting::Role,
        Setting::Metered,
        Setting::Budget,
        Setting::All,
    ] {
        assert_eq!(s.as_str().parse::<Setting>(), Ok(s));
    }
    let e = "colour".parse::<Setting>().expect_err("unknown");
    assert!(e.contains("expected role, metered, budget or all"), "{e}");
}
