//! Parsing: the documented example, every kind of bad input with its exact
//! position, and `to_toml` round trips.

use mptcp_policy::{
    validate, Budget, ConnFacts, InterfaceType, Mode, OnExit, PathManager, Period, Policy, Role,
    WhenExhausted,
};

/// The DESIGN.md example, as shipped (`scripts/install.sh` installs it as
/// the default `/etc/mptcp-policyd/policy.toml`).
const EXAMPLE: &str = include_str!("../policy.example.toml");

#[test]
fn example_parses() {
    let p = Policy::parse("policy.toml", EXAMPLE).expect("example must parse");
    assert_eq!(p.general.path_manager, PathManager::Kernel);
    assert!(!p.general.announce && !p.general.fullmesh);
    assert_eq!(p.general.on_exit, OnExit::Keep);
    assert_eq!((p.limits.subflows, p.limits.add_addr_accepted), (4, 4));
    assert_eq!(p.interfaces.len(), 3);
    assert_eq!(p.interfaces[0].kind, Some(InterfaceType::Wifi));
    assert_eq!(
        p.interfaces[1].name.as_ref().map(|g| g.as_str()),
        Some("eth*")
    );
    assert_eq!(p.interfaces[2].role, Role::Backup);
    assert_eq!(p.interfaces[2].metered, Some(true));
    assert_eq!(
        p.interfaces[2].budget,
        Some(Budget {
            bytes: 2 << 30,
            period: Period::Monthly,
            reset_day: 1,
            warn_at: vec![0.8],
            when_exhausted: WhenExhausted::Off,
            daily_allowance: true,
        })
    );
    assert_eq!(p.rules.len(), 1);
    assert_eq!(p.rules[0].remote_port, vec![443]);
    assert_eq!(p.rules[0].mode, Mode::Handover);
}

#[test]
fn empty_file_gives_defaults() {
    let p = Policy::parse("empty.toml", "").expect("empty parses");
    assert_eq!(p, Policy::default());
    assert_eq!((p.limits.subflows, p.limits.add_addr_accepted), (4, 4));
}

const EXTENDED: &str = r#"
[general]
path_manager = "userspace"
announce = true
on_exit = "remove"

[interface_types]
"usb0" = "cellular"
"wwx*" = "cellular"

[[interface]]
name = "wl*"
type = "wifi"
role = "preferred"

[[interface]]
type = "cellular"
role = "backup"
metered = true
budget = { bytes = 1500000000, period = "weekly", reset_day = 7, warn_at = [0.9, 0.5, 1], daily_allowance = true }

[[interface]]
type = "vpn"
role = "off"

[[rule]]
remote_prefix = ["10.0.0.0/8", "2001:db8::/32"]
local_port = [8080]
uid = [1000, 1001]
mode = "aggregate"
"#;

#[test]
fn extended_keys_parse() {
    let p = Policy::parse("x.toml", EXTENDED).expect("parses");
    assert!(p.general.announce);
    assert_eq!(p.general.on_exit, OnExit::Remove);
    assert_eq!(
        p.interface_types.lookup("usb0"),
        Some(InterfaceType::Cellular)
    );
    assert_eq!(
        p.interface_types.lookup("wwx0011"),
        Some(InterfaceType::Cellular)
    );
    assert_eq!(p.interface_types.lookup("eth0"), None);
    let b = p.interfaces[1].budget.as_ref().expect("budget");
    assert_eq!(b.bytes, 1_500_000_000);
    assert_eq!(b.warn_at, vec![0.5, 0.9, 1.0], "sorted");
    assert_eq!(b.when_exhausted, WhenExhausted::Backup, "default");
    assert!(b.daily_allowance);
    assert_eq!(p.rules[0].remote_prefix.len(), 2);
    let facts = |uid| ConnFacts {
        remote: "10.9.9.9".parse().expect("ip"),
        remote_port: 1,
        local_port: 8080,
        uid,
        cgroup: None,
    };
    assert!(p.rules[0].matches(&facts(Some(1000))));
    assert!(!p.rules[0].matches(&facts(None)));
}

#[test]
fn to_toml_round_trips() {
    for text in [EXAMPLE, EXTENDED, ""] {
        let p = Policy::parse("a.toml", text).expect("parses");
        let written = p.to_toml();
        let again =
            Policy::parse("b.toml", &written).unwrap_or_else(|e| panic!("{written}\n{e:?}"));
        assert_eq!(again, p, "{written}");
        assert_eq!(again.to_toml(), written, "stable text");
    }
}

/// (name, input, expected `file:line:column: message` prefix).
const BAD: &[(&str, &str, &str)] = &[
    ("syntax", "[general\n", "t.toml:1:9: "),
    ("unknown top-level key", "colour = 1\n", "t.toml:1:1: unknown field `colour`"),
    ("unknown general key", "[general]\nannounce = true\nfoo = 1\n", "t.toml:3:1: unknown field `foo`"),
    ("unknown interface key", "[[interface]]\ntype = \"wifi\"\nrole = \"backup\"\nprio = 1\n", "t.toml:4:1: unknown field `prio`"),
    ("unknown budget key", "[[interface]]\ntype = \"wifi\"\nrole = \"backup\"\nbudget = { bytes = 1, cap = 2 }\n", "t.toml:4:23: unknown field `cap`"),
    ("camelCase key", "[general]\npathManager = \"kernel\"\n", "t.toml:2:1: unknown field `pathManager`"),
    ("wrong type bool", "[general]\nannounce = \"yes\"\n", "t.toml:2:12: invalid type: string \"yes\", expected a boolean"),
    ("wrong type limit", "[limits]\nsubflows = \"4\"\n", "t.toml:2:12: invalid type: string \"4\", expected u32"),
    ("negative limit", "[limits]\nsubflows = -1\n", "t.toml:2:12: invalid value: integer `-1`, expected u32"),
    ("limit above 8", "[limits]\nsubflows = 9\n", "t.toml:2:12: subflows = 9 is above the kernel's maximum of 8"),
    ("add_addr above 8", "[limits]\nadd_addr_accepted = 20\n", "t.toml:2:21: add_addr_accepted = 20 is above"),
    ("unknown path manager", "[general]\npath_manager = \"bpf\"\n", "t.toml:2:16: unknown path manager \"bpf\""),
    ("unknown on_exit", "[general]\non_exit = \"drop\"\n", "t.toml:2:11: unknown on_exit value \"drop\""),
    ("unknown role", "[[interface]]\ntype = \"wifi\"\nrole = \"prefered\"\n", "t.toml:3:8: unknown role \"prefered\" (expected preferred, backup, off)"),
    ("unknown type", "[[interface]]\ntype = \"wlan\"\nrole = \"backup\"\n", "t.toml:2:8: unknown interface type \"wlan\""),
    ("uppercase type", "[[interface]]\ntype = \"WiFi\"\nrole = \"backup\"\n", "t.toml:2:8: unknown interface type \"WiFi\""),
    ("missing role", "[[interface]]\ntype = \"wifi\"\n", "t.toml:1:1: missing field `role`"),
    ("no matcher", "[[interface]]\nrole = \"backup\"\n", "t.toml:1:1: [[interface]] #1 needs `name` or `type`"),
    ("invalid glob", "[[interface]]\nname = \"eth[0\"\nrole = \"backup\"\n", "t.toml:2:8: invalid glob \"eth[0\""),
    ("empty glob", "[[interface]]\nname = \"\"\nrole = \"backup\"\n", "t.toml:2:8: empty interface name pattern"),
    ("duplicate type match", "[[interface]]\ntype = \"wifi\"\nrole = \"backup\"\n[[interface]]\ntype = \"wifi\"\nrole = \"off\"\n", "t.toml:5:8: duplicate match: [[interface]] #2 (type = wifi) repeats the matcher of #1"),
    ("duplicate name match", "[[interface]]\nname = \"eth*\"\nrole = \"backup\"\n[[interface]]\nname = \"eth*\"\nrole = \"off\"\n", "t.toml:5:8: duplicate match: [[interface]] #2 (name = \"eth*\")"),
    ("bad budget size", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = \"2 gigs\" }\n", "t.toml:4:20: invalid size \"2 gigs\""),
    ("negative budget", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = -5 }\n", "t.toml:4:20: byte count must not be negative"),
    ("float budget", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1.5 }\n", "t.toml:4:20: invalid type: floating point `1.5`, expected a byte count"),
    ("missing budget bytes", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { period = \"daily\" }\n", "t.toml:4:10: missing field `bytes`"),
    ("unknown period", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, period = \"yearly\" }\n", "t.toml:4:32: unknown period \"yearly\""),
    ("reset_day monthly 0", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, reset_day = 0 }\n", "t.toml:4:35: reset_day = 0 is out of range (1..=31"),
    ("reset_day monthly 32", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, reset_day = 32 }\n", "t.toml:4:35: reset_day = 32 is out of range (1..=31"),
    ("reset_day weekly 8", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, period = \"weekly\", reset_day = 8 }\n", "t.toml:4:54: reset_day = 8 is out of range (1..=7"),
    ("reset_day daily", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, period = \"daily\", reset_day = 3 }\n", "t.toml:4:53: reset_day = 3 is out of range (only 1"),
    ("warn_at zero", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, warn_at = [0.5, 0] }\n", "t.toml:4:39: warn_at value 0 is out of range"),
    ("warn_at above 1", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, warn_at = [1.5] }\n", "t.toml:4:34: warn_at value 1.5 is out of range"),
    ("warn_at nan", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, warn_at = [nan] }\n", "t.toml:4:34: warn_at value NaN is out of range"),
    ("unknown when_exhausted", "[[interface]]\ntype = \"cellular\"\nrole = \"backup\"\nbudget = { bytes = 1, when_exhausted = \"throttle\" }\n", "t.toml:4:40: unknown when_exhausted value \"throttle\""),
    ("unknown mode", "[[rule]]\nremote_port = [443]\nmode = \"fast\"\n", "t.toml:3:8: unknown mode \"fast\" (expected handover, interactive, aggregate)"),
    ("missing mode", "[[rule]]\nremote_port = [443]\n", "t.toml:1:1: missing field `mode`"),
    ("port out of range", "[[rule]]\nremote_port = [70000]\nmode = \"aggregate\"\n", "t.toml:2:16: invalid value: integer `70000`, expected u16"),
    ("port not a list", "[[rule]]\nremote_port = 443\nmode = \"aggregate\"\n", "t.toml:2:15: invalid type: integer `443`, expected a sequence"),
    ("bad cidr", "[[rule]]\nremote_prefix = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\nmode = \"aggregate\"\n", "t.toml:2:32: prefix length in \"10.0.0.0/40\" is out of range (0..=32)"),
    ("not a cidr", "[[rule]]\nremote_prefix = [\"example.com\"]\nmode = \"aggregate\"\n", "t.toml:2:18: invalid prefix \"example.com\""),
    ("bad interface_types glob", "[interface_types]\n\"usb[\" = \"cellular\"\n", "t.toml:2:1: invalid glob \"usb[\""),
    ("bad interface_types type", "[interface_types]\n\"usb0\" = \"lte\"\n", "t.toml:2:10: unknown interface type \"lte\""),
    ("announce with fullmesh", "[general]\nannounce = true\nfullmesh = true\n", "t.toml:3:12: `announce` and `fullmesh` cannot both be true"),
    ("non-ascii column", "[[interface]]\nname = \"é*\" # ok\ntype = \"wífi\"\nrole = \"backup\"\n", "t.toml:3:8: unknown interface type \"wífi\""),
];

#[test]
fn bad_inputs_report_exact_positions() {
    let mut failures = Vec::new();
    for (name, text, want) in BAD {
        let errors = validate("t.toml", text);
        let got = errors.first().map(ToString::to_string).unwrap_or_default();
        if !got.starts_with(want) {
            failures.push(format!("{name}:\n  want {want}\n  got  {got}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn all_semantic_errors_are_reported() {
    let text = "[limits]\nsubflows = 9\nadd_addr_accepted = 10\n\n[[interface]]\ntype = \"lte\"\nrole = \"main\"\n\n[[rule]]\nmode = \"fast\"\n";
    let errors = validate("multi.toml", text);
    let got: Vec<String> = errors.iter().map(|e| e.short()).collect();
    assert_eq!(got.len(), 5, "{got:#?}");
    let positions: Vec<(usize, usize)> = errors.iter().map(|e| (e.line(), e.column())).collect();
    assert_eq!(positions, vec![(2, 12), (3, 21), (6, 8), (7, 8), (10, 8)]);
    assert!(errors.iter().all(|e| e.file() == "multi.toml"));
    assert!(got[0].starts_with("2:12: subflows = 9"), "{}", got[0]);
}

#[test]
fn valid_input_has_no_errors() {
    assert!(validate("t.toml", EXAMPLE).is_empty());
}
