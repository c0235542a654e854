//! The manual page `mptcp-policyd.toml(5)` (`policy/mptcp-policyd.toml.5`,
//! written by hand) against the parser, so that the page cannot drift:
//!
//! - keys: the keys each table accepts are taken from the parser itself
//!   (its unknown-key error lists them); each must have exactly one `.TP`
//!   entry in its table's section, and the page documents no other keys.
//!   A policy using every key must parse and reach the model;
//! - enumerated values: found by giving every string key a bad word (the
//!   parser answers with the list it accepts); an entry's tag lists exactly
//!   those words and its text explains each. Interface types likewise;
//! - `Required.` exactly for the keys whose removal makes the parser fail;
//!   `Default: X` with X the value `Policy::to_toml` writes for a default;
//! - every `from A to B` range: A and B parse, A-1 and B+1 do not; the
//!   reset_day ranges per period and the warn_at bounds; size units (from
//!   `parse_size`'s own message) with their factors;
//! - every TOML example parses; the first is the shipped
//!   `policy.example.toml` (DESIGN.md's example); the sample error is what
//!   the parser prints;
//! - `groff -man -ww -z` and `man --warnings -l` print no warnings, the
//!   rendered text has every key, `lexgrog` reads the NAME line.
//!
//! groff and man-db are required: a missing tool fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use mptcp_policy::{
    parse_size, HealthConfig, InterfaceType, Mode, OnExit, PathManager, Period, Policy, Role,
    WhenExhausted, MAX_ENDPOINTS,
};

const PAGE: &str = include_str!("../mptcp-policyd.toml.5");
const PAGE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mptcp-policyd.toml.5");
/// The DESIGN.md example, as shipped.
const EXAMPLE: &str = include_str!("../policy.example.toml");

/// Uses every key the format has, with non-default values where the
/// format allows (`announce` and `fullmesh` cannot both be true).
const EVERY_KEY: &str = r#"
[general]
path_manager = "userspace"
default_mode = "interactive"
announce = true
on_exit = "remove"
fullmesh = false

[limits]
subflows = 8
add_addr_accepted = 0

[health]
enable = false
floor_ms = 10000
multiplier = 20.0
recovery_ms = 0
probe_interval_ms = 10

[interface_types]
usb0 = "cellular"

[[interface]]
name = "wwan*"
type = "cellular"
role = "backup"
metered = false
budget = { bytes = "1.5 GB", period = "weekly", reset_day = 7, warn_at = [0.9, 0.5], when_exhausted = "off", daily_allowance = false }

[[rule]]
remote_port = [443]
remote_prefix = ["192.0.2.0/24"]
local_port = [8080]
uid = [1000]
cgroup = ["/system.slice/backup.service/"]
mode = "aggregate"
"#;

/// A table of the format: its name, an unknown-key probe (the parser's
/// answer lists the keys it accepts), and where the page documents it:
/// the `.SH` title's first word and the `.SS` title (`None`: the part of
/// the section before any `.SS`).
struct Table {
    name: &'static str,
    probe: &'static str,
    section: &'static str,
    subsection: Option<&'static str>,
}

const TABLES: &[Table] = &[
    Table {
        name: "general",
        probe: "[general]\nzz_not_a_key = 1\n",
        section: "[general]",
        subsection: None,
    },
    Table {
        name: "limits",
        probe: "[limits]\nzz_not_a_key = 1\n",
        section: "[limits]",
        subsection: None,
    },
    Table {
        name: "health",
        probe: "[health]\nzz_not_a_key = 1\n",
        section: "[health]",
        subsection: None,
    },
    Table {
        name: "interface",
        probe: "[[interface]]\nzz_not_a_key = 1\n",
        section: "[[interface]]",
        subsection: None,
    },
    Table {
        name: "budget",
        probe: "[[interface]]\ntype = \"wifi\"\nrole = \"off\"\nbudget = { zz_not_a_key = 1 }\n",
        section: "[[interface]]",
        subsection: Some("budget"),
    },
    Table {
        name: "rule",
        probe: "[[rule]]\nzz_not_a_key = 1\n",
        section: "[[rule]]",
        subsection: None,
    },
];

/// Top-level keys whose contents are free-form (no fixed keys).
const FREE_FORM: &[&str] = &["interface_types"];

// ---------------------------------------------------------------------------
// The page, read as roff.

/// A non-comment line of the page with the `.SH` / `.SS` it is under.
struct Line {
    sh: String,
    ss: Option<String>,
    text: String,
}

fn lines() -> Vec<Line> {
    let mut out = Vec::new();
    let (mut sh, mut ss) = (String::new(), None);
    for raw in PAGE.lines() {
        if raw.starts_with(".\\\"") || raw.starts_with("'\\\"") {
            continue;
        }
        if let Some(t) = raw.strip_prefix(".SH ") {
            sh = unquote(t);
            ss = None;
        } else if let Some(t) = raw.strip_prefix(".SS ") {
            ss = Some(unquote(t));
        }
        out.push(Line {
            sh: sh.clone(),
            ss: ss.clone(),
            text: raw.to_string(),
        });
    }
    out
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

/// The text of a roff line: escapes resolved, fonts dropped; font macros
/// (`.B`, `.BR`, ...) give their arguments; other requests give nothing.
fn text(line: &str) -> String {
    if let Some(rest) = line.strip_prefix('.') {
        let (mac, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let args = macro_args(args);
        let joined = match mac {
            "B" | "I" => args.join(" "),
            "BR" | "RB" | "BI" | "IB" | "IR" | "RI" => args.concat(),
            _ => String::new(),
        };
        return unescape(&joined);
    }
    unescape(line)
}

fn macro_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(cur);
    }
    args
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('f') => match it.next() {
                Some('(') => {
                    it.next();
                    it.next();
                }
                Some(_) => {}
                None => panic!("dangling \\f in {s:?}"),
            },
            Some('-') => out.push('-'),
            Some('e') => out.push('\\'),
            Some('&') => {}
            Some(' ') => out.push(' '),
            Some('(') => {
                let name: String = [it.next(), it.next()].into_iter().flatten().collect();
                out.push_str(match name.as_str() {
                    "dq" => "\"",
                    "aq" => "'",
                    "ha" => "^",
                    "mu" => "×",
                    "em" => "—",
                    "->" => "→",
                    other => panic!(
                        "the page uses the escape \\({other}, which this test does not know: add it to unescape()"
                    ),
                });
            }
            other => panic!(
                "the page uses the escape \\{} in {s:?}, which this test does not know: add it to unescape()",
                other.map(String::from).unwrap_or_default()
            ),
        }
    }
    out
}

/// One `.TP` entry of a key: its tag line and its text, both plain.
#[derive(Debug)]
struct Entry {
    tag: String,
    body: String,
}

/// The key entries of a table's section: every `.TP` whose tag is
/// `key = ...`; an entry's text runs to the next paragraph macro.
fn entries(table: &Table) -> BTreeMap<String, Entry> {
    let scope: Vec<Line> = lines()
        .into_iter()
        .filter(|l| {
            l.sh.split_whitespace().next() == Some(table.section)
                && l.ss.as_deref() == table.subsection
        })
        .collect();
    assert!(
        !scope.is_empty(),
        "the page has no section {:?}{} for [{}]",
        table.section,
        table
            .subsection
            .map(|s| format!(" with subsection {s:?}"))
            .unwrap_or_default(),
        table.name
    );
    let ends = [
        ".TP", ".PP", ".P", ".LP", ".IP", ".SH", ".SS", ".RS", ".RE", ".EX",
    ];
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < scope.len() {
        if scope[i].text.trim() != ".TP" {
            i += 1;
            continue;
        }
        let tag = text(&scope[i + 1].text);
        let mut body = Vec::new();
        i += 2;
        while i < scope.len()
            && !ends
                .iter()
                .any(|m| scope[i].text == *m || scope[i].text.starts_with(&format!("{m} ")))
        {
            body.push(text(&scope[i].text));
            i += 1;
        }
        let key = tag
            .split_once(" = ")
            .map(|(k, _)| k.trim().to_string())
            .unwrap_or_else(|| panic!("entry tag {tag:?} in {} is not `key = ...`", table.section));
        assert!(
            key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "entry tag {tag:?}: {key:?} is not a snake_case key"
        );
        let entry = Entry {
            tag,
            body: body.join(" "),
        };
        assert!(
            out.insert(key.clone(), entry).is_none(),
            "{key} has two entries in {}",
            table.section
        );
    }
    out
}

/// The words in double quotes in `s`.
fn quoted(s: &str) -> BTreeSet<String> {
    s.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The `.EX` blocks of the page, as plain text, with their section.
fn example_blocks() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<String>> = None;
    let mut section = String::new();
    for l in lines() {
        match (l.text.as_str(), &mut cur) {
            (".EX", None) => {
                cur = Some(Vec::new());
                section = l.sh.clone();
            }
            (".EE", Some(_)) => {
                let block = cur.take().unwrap_or_default();
                out.push((section.clone(), block.join("\n") + "\n"));
            }
            (t, Some(block)) => {
                assert!(
                    !t.starts_with('.'),
                    "request {t:?} inside an .EX block (a TOML line starting with '.' needs \\&)"
                );
                block.push(unescape(t));
            }
            _ => {}
        }
    }
    assert!(cur.is_none(), ".EX without .EE");
    out
}

// ---------------------------------------------------------------------------
// The parser's side.

fn parse(text: &str) -> Result<Policy, String> {
    Policy::parse("test.toml", text).map_err(|e| {
        e.iter()
            .map(|e| e.message().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The words in backticks after "expected" in a serde unknown-field message.
fn expected_fields(message: &str) -> Vec<String> {
    let (_, list) = message.split_once("expected").unwrap_or_else(|| {
        panic!(
            "the parser's unknown-key message changed shape: {message:?}; adapt expected_fields()"
        )
    });
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The keys a table accepts, as the parser lists them.
fn parser_keys(probe: &str) -> Vec<String> {
    let err = parse(probe).expect_err("the unknown key must be refused");
    assert!(
        err.contains("zz_not_a_key"),
        "unexpected answer to an unknown key: {err}"
    );
    let keys = expected_fields(&err);
    assert!(!keys.is_empty(), "no key list in {err:?}");
    keys
}

fn every_key() -> toml::Table {
    toml::from_str(EVERY_KEY).expect("EVERY_KEY is TOML")
}

/// A table of a TOML document by our table names.
fn table_mut<'a>(root: &'a mut toml::Table, name: &str) -> &'a mut toml::Table {
    let first = |v: &'a mut toml::Value| -> &'a mut toml::Table {
        match v {
            toml::Value::Array(a) => a[0].as_table_mut().expect("entry is a table"),
            toml::Value::Table(t) => t,
            other => panic!("not a table: {other:?}"),
        }
    };
    match name {
        "budget" => table_mut(root, "interface")
            .get_mut("budget")
            .and_then(toml::Value::as_table_mut)
            .expect("budget table"),
        _ => first(root.get_mut(name).unwrap_or_else(|| panic!("no [{name}]"))),
    }
}

/// EVERY_KEY with one value replaced (`None`: the key removed), parsed.
fn parse_with(table: &str, key: &str, value: Option<toml::Value>) -> Result<Policy, String> {
    let mut root = every_key();
    let t = table_mut(&mut root, table);
    match value {
        Some(v) => {
            t.insert(key.to_string(), v);
        }
        None => {
            t.remove(key);
        }
    }
    parse(&toml::to_string(&root).expect("serialize"))
}

// ---------------------------------------------------------------------------

#[test]
fn a_policy_with_every_key_parses_and_reaches_the_model() {
    let p = parse(EVERY_KEY).expect("a policy using every key must parse");
    let g = &p.general;
    assert_eq!(g.path_manager, PathManager::Userspace);
    assert_eq!(g.default_mode, Mode::Interactive);
    assert!(g.announce && !g.fullmesh);
    assert_eq!(g.on_exit, OnExit::Remove);
    assert_eq!((p.limits.subflows, p.limits.add_addr_accepted), (8, 0));
    let h = &p.health;
    assert!(!h.enable);
    assert_eq!(
        (h.floor_ms, h.multiplier, h.recovery_ms, h.probe_interval_ms),
        (10_000, 20.0, 0, 10)
    );
    assert_eq!(
        p.interface_types.lookup("usb0"),
        Some(InterfaceType::Cellular)
    );
    let i = &p.interfaces[0];
    assert_eq!(i.name.as_ref().map(|g| g.as_str()), Some("wwan*"));
    assert_eq!(
        (i.kind, i.role, i.metered),
        (Some(InterfaceType::Cellular), Role::Backup, Some(false))
    );
    let b = i.budget.as_ref().expect("budget");
    assert_eq!(
        (b.bytes, b.period, b.reset_day),
        (1_500_000_000, Period::Weekly, 7)
    );
    assert_eq!(b.warn_at, vec![0.5, 0.9]);
    assert_eq!(b.when_exhausted, WhenExhausted::Off);
    assert!(!b.daily_allowance);
    let r = &p.rules[0];
    assert_eq!(
        (r.remote_port.clone(), r.local_port.clone(), r.uid.clone()),
        (vec![443], vec![8080], vec![1000])
    );
    assert_eq!(r.remote_prefix[0].to_string(), "192.0.2.0/24");
    assert_eq!(r.cgroup, vec!["/system.slice/backup.service".to_string()]);
    assert_eq!(r.mode, Mode::Aggregate);
}

#[test]
fn every_key_the_parser_accepts_is_documented_and_no_other() {
    // Top level: each part has its own section, and this test knows them all.
    let top = parser_keys("zz_not_a_key = 1\n");
    let titles: Vec<String> = lines().into_iter().map(|l| l.sh).collect();
    for key in &top {
        assert!(
            titles
                .iter()
                .any(|t| t.starts_with(&format!("[{key}] ")) || t.starts_with(&format!("[[{key}]] "))),
            "the parser accepts the table `{key}` but the page has no section \"[{key}] ...\" or \"[[{key}]] ...\""
        );
        assert!(
            FREE_FORM.contains(&key.as_str()) || TABLES.iter().any(|t| t.name == *key),
            "the parser accepts the table `{key}`: add it to TABLES in this test"
        );
    }
    let root = every_key();
    let mut in_every_key: BTreeSet<&str> = root.keys().map(String::as_str).collect();
    in_every_key.extend(FREE_FORM);
    assert_eq!(
        in_every_key,
        top.iter().map(String::as_str).collect(),
        "EVERY_KEY must use every top-level table"
    );

    for table in TABLES {
        let keys: BTreeSet<String> = parser_keys(table.probe).into_iter().collect();
        let mut root = every_key();
        let used: BTreeSet<String> = table_mut(&mut root, table.name).keys().cloned().collect();
        assert_eq!(
            used, keys,
            "EVERY_KEY must use every key of [{}] the parser accepts",
            table.name
        );
        // A key whose value is a table of its own needs its own probe.
        for (k, v) in table_mut(&mut root, table.name).iter() {
            assert!(
                !v.is_table() || TABLES.iter().any(|t| t.name == k),
                "[{}] {k} is a table: add it to TABLES in this test",
                table.name
            );
        }
        let documented: BTreeSet<String> = entries(table).into_keys().collect();
        let missing: Vec<_> = keys.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&keys).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "section {:?}{}: keys the parser accepts but the page lacks: {missing:?}; \
             keys the page documents but the parser refuses: {extra:?}",
            table.section,
            table
                .subsection
                .map(|s| format!("/{s}"))
                .unwrap_or_default()
        );
    }
}

/// The enumerated words a string key accepts, from the parser's answer to
/// a bad word (`unknown role "..." (expected preferred, backup, off)`);
/// `None` for a key that is not an enumeration.
fn accepted_words(table: &str, key: &str) -> Option<BTreeSet<String>> {
    let err = parse_with(
        table,
        key,
        Some(toml::Value::String("zz-not-a-word".into())),
    )
    .err()?;
    if !err.starts_with("unknown ") {
        return None;
    }
    let list = err.split_once("(expected ")?.1.split_once(')')?.0;
    Some(list.split(", ").map(str::to_string).collect())
}

/// The file names of an enumeration's values.
fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> BTreeSet<String> {
    all.iter().map(|v| name(*v).to_string()).collect()
}

#[test]
fn every_enumerated_value_is_documented() {
    // What the public API says, to make sure the discovery below finds them.
    let known: BTreeMap<(&str, &str), BTreeSet<String>> = [
        (
            ("general", "path_manager"),
            names(PathManager::ALL, PathManager::as_str),
        ),
        (("general", "default_mode"), names(Mode::ALL, Mode::as_str)),
        (("general", "on_exit"), names(OnExit::ALL, OnExit::as_str)),
        (
            ("interface", "type"),
            names(&InterfaceType::ALL, InterfaceType::as_str),
        ),
        (("interface", "role"), names(Role::ALL, Role::as_str)),
        (("budget", "period"), names(Period::ALL, Period::as_str)),
        (
            ("budget", "when_exhausted"),
            names(WhenExhausted::ALL, WhenExhausted::as_str),
        ),
        (("rule", "mode"), names(Mode::ALL, Mode::as_str)),
    ]
    .into_iter()
    .collect();

    let mut found = BTreeSet::new();
    for table in TABLES {
        let mut root = every_key();
        let string_keys: Vec<String> = table_mut(&mut root, table.name)
            .iter()
            .filter(|(_, v)| v.is_str())
            .map(|(k, _)| k.clone())
            .collect();
        let entries = entries(table);
        for (key, entry) in &entries {
            let accepted = if string_keys.contains(key) {
                accepted_words(table.name, key)
            } else {
                None
            };
            let in_tag = quoted(&entry.tag);
            match accepted {
                Some(accepted) => {
                    found.insert((table.name, key.clone()));
                    if let Some(api) = known.get(&(table.name, key.as_str())) {
                        assert_eq!(
                            &accepted, api,
                            "[{}] {key}: parser and public API differ",
                            table.name
                        );
                    }
                    assert_eq!(
                        in_tag, accepted,
                        "[{}] {key}: the entry's tag must list exactly the words the parser accepts",
                        table.name
                    );
                    for w in &accepted {
                        assert!(
                            entry.body.contains(&format!("\"{w}\"")),
                            "[{}] {key}: the text never explains \"{w}\"",
                            table.name
                        );
                    }
                }
                None => assert!(
                    in_tag.is_empty(),
                    "[{}] {key} is not an enumeration, yet its tag lists words: {in_tag:?}",
                    table.name
                ),
            }
        }
    }
    let known_keys: BTreeSet<(&str, String)> =
        known.keys().map(|(t, k)| (*t, k.to_string())).collect();
    assert!(
        known_keys.is_subset(&found),
        "enumerations not found by asking the parser: {:?}",
        known_keys.difference(&found).collect::<Vec<_>>()
    );

    // [interface_types] values are interface types too.
    let section: String = lines()
        .into_iter()
        .filter(|l| l.sh.starts_with("[interface_types] "))
        .map(|l| text(&l.text))
        .collect::<Vec<_>>()
        .join(" ");
    for t in InterfaceType::ALL {
        assert!(
            section.contains(&format!("\"{t}\"")),
            "[interface_types] does not list the type \"{t}\""
        );
        let probe = format!("[interface_types]\nx0 = \"{t}\"\n");
        parse(&probe).unwrap_or_else(|e| panic!("{probe}: {e}"));
    }
}

#[test]
fn required_keys_and_defaults_match_the_code() {
    // Defaults as `to_toml` writes them (it writes every default out).
    let mut defaults: BTreeMap<(String, String), String> = BTreeMap::new();
    let d: toml::Table = toml::from_str(&Policy::default().to_toml()).expect("to_toml is TOML");
    for (table, v) in &d {
        for (k, v) in v.as_table().expect("a table") {
            defaults.insert((table.clone(), k.clone()), v.to_string());
        }
    }
    let minimal = "[[interface]]\ntype = \"wifi\"\nrole = \"off\"\nbudget = { bytes = 1 }\n";
    let mut with_budget: toml::Table =
        toml::from_str(&parse(minimal).expect("minimal budget").to_toml()).expect("TOML");
    for (k, v) in table_mut(&mut with_budget, "budget").iter() {
        if k != "bytes" {
            defaults.insert(("budget".into(), k.clone()), v.to_string());
        }
    }
    assert!(defaults.len() >= 17, "too few defaults found: {defaults:?}");

    for table in TABLES {
        for (key, entry) in entries(table) {
            let required = entry.body.contains("Required.");
            let defaulted = entry.body.matches("Default: ").count();
            let optional = entry.body.contains("Optional");
            assert_eq!(
                u8::from(required) + u8::from(defaulted > 0) + u8::from(optional),
                1,
                "[{}] {key}: the text must say exactly one of `Required.`, `Default: X` or `Optional`: {:?}",
                table.name,
                entry.body
            );
            assert!(defaulted <= 1, "[{}] {key}: two defaults", table.name);
            let refused = parse_with(table.name, &key, None).err();
            match (&refused, required) {
                (Some(why), false) => panic!(
                    "[{}] {key}: the page says it is optional, but a file without it is refused ({why}): say `Required.`",
                    table.name
                ),
                (None, true) => panic!(
                    "[{}] {key}: the page says `Required.`, but a file without it is accepted",
                    table.name
                ),
                _ => {}
            }
            match defaults.get(&(table.name.to_string(), key.clone())) {
                Some(want) => assert!(
                    entry.body.contains(&format!("Default: {want}")),
                    "[{}] {key}: the code's default is {want}, the page says {:?}",
                    table.name,
                    entry.body
                ),
                None => assert!(
                    defaulted == 0,
                    "[{}] {key}: the page gives a default the code does not write out; say `Optional`",
                    table.name
                ),
            }
        }
    }
}

/// `from A to B` in a text, if any.
fn range_in(body: &str) -> Option<(i64, i64)> {
    let (_, rest) = body.split_once("from ")?;
    let mut words = rest.split_whitespace();
    let lo = words.next()?.parse().ok()?;
    (words.next()? == "to").then_some(())?;
    let hi = words
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((lo, hi))
}

#[test]
fn documented_ranges_are_the_parsers() {
    let mut checked = BTreeSet::new();
    for table in TABLES {
        let mut root = every_key();
        let values = table_mut(&mut root, table.name).clone();
        for (key, entry) in entries(table) {
            if key == "reset_day" {
                continue; // one range per period: below
            }
            // An entry for a key the parser does not have is reported by
            // every_key_the_parser_accepts_is_documented_and_no_other.
            let (Some((lo, hi)), Some(value)) = (range_in(&entry.body), values.get(&key)) else {
                continue;
            };
            let make = |n: i64| -> toml::Value {
                let scalar = match value {
                    toml::Value::Float(_) => toml::Value::Float(n as f64),
                    toml::Value::Array(a) if a.first().is_some_and(toml::Value::is_float) => {
                        toml::Value::Float(n as f64)
                    }
                    _ => toml::Value::Integer(n),
                };
                if value.is_array() {
                    toml::Value::Array(vec![scalar])
                } else {
                    scalar
                }
            };
            for n in [lo, hi] {
                if let Err(e) = parse_with(table.name, &key, Some(make(n))) {
                    panic!(
                        "[{}] {key}: the page says from {lo} to {hi}, but {n} is refused: {e}",
                        table.name
                    );
                }
            }
            for n in [lo - 1, hi + 1] {
                assert!(
                    parse_with(table.name, &key, Some(make(n))).is_err(),
                    "[{}] {key}: the page says from {lo} to {hi}, but {n} is accepted",
                    table.name
                );
            }
            checked.insert(format!("{}.{key}", table.name));
        }
    }
    // The ranges the public API states, and the kernel's limit.
    let body = |t: &str, k: &str| {
        let table = TABLES.iter().find(|x| x.name == t).expect("table");
        entries(table).remove(k).expect("entry").body
    };
    for (key, range) in [
        ("floor_ms", HealthConfig::FLOOR_MS),
        ("recovery_ms", HealthConfig::RECOVERY_MS),
        ("probe_interval_ms", HealthConfig::PROBE_INTERVAL_MS),
    ] {
        assert_eq!(
            range_in(&body("health", key)),
            Some((i64::from(*range.start()), i64::from(*range.end()))),
            "[health] {key}"
        );
    }
    let m = HealthConfig::MULTIPLIER;
    assert_eq!(
        range_in(&body("health", "multiplier")),
        Some((*m.start() as i64, *m.end() as i64)),
        "[health] multiplier"
    );
    for key in ["subflows", "add_addr_accepted"] {
        assert_eq!(
            range_in(&body("limits", key)),
            Some((0, MAX_ENDPOINTS as i64)),
            "[limits] {key}"
        );
    }
    for must in [
        "health.floor_ms",
        "health.multiplier",
        "health.recovery_ms",
        "health.probe_interval_ms",
        "limits.subflows",
        "limits.add_addr_accepted",
        "rule.remote_port",
        "rule.local_port",
    ] {
        assert!(checked.contains(must), "{must}: no `from A to B` checked");
    }

    // reset_day: one range per period.
    let reset = body("budget", "reset_day");
    for (period, lo, hi, claim) in [
        ("monthly", 1, 31, "for \"monthly\" from 1 to 31"),
        ("weekly", 1, 7, "for \"weekly\" from 1 to 7"),
        ("daily", 1, 1, "for \"daily\" only 1"),
    ] {
        assert!(
            reset.contains(claim),
            "reset_day: {claim:?} not in {reset:?}"
        );
        let budget = |day: i64| {
            format!(
                "[[interface]]\ntype = \"wifi\"\nrole = \"off\"\nbudget = {{ bytes = 1, period = \"{period}\", reset_day = {day} }}\n"
            )
        };
        for day in [lo, hi] {
            parse(&budget(day)).unwrap_or_else(|e| panic!("{period} reset_day {day}: {e}"));
        }
        for day in [lo - 1, hi + 1] {
            assert!(
                parse(&budget(day)).is_err(),
                "{period} reset_day {day} is accepted"
            );
        }
    }

    // warn_at: greater than 0, at most 1.
    let warn = body("budget", "warn_at");
    assert!(warn.contains("greater than 0 and at most 1"), "{warn:?}");
    let warn_at = |v: f64| {
        parse(&format!(
            "[[interface]]\ntype = \"wifi\"\nrole = \"off\"\nbudget = {{ bytes = 1, warn_at = [{v:?}] }}\n"
        ))
    };
    assert!(warn_at(0.0).is_err() && warn_at(1.000_001).is_err());
    assert!(warn_at(1e-9).is_ok() && warn_at(1.0).is_ok());
}

#[test]
fn size_units_are_the_parsers() {
    let err = parse_size("zz").expect_err("not a size");
    let list = err
        .split_once("optional unit ")
        .and_then(|(_, l)| l.split_once(')'))
        .map(|(l, _)| l)
        .unwrap_or_else(|| panic!("parse_size's message changed shape: {err:?}; adapt this test"));
    let units: Vec<&str> = list
        .split(", ")
        .flat_map(|u| u.split(" or "))
        .map(str::trim)
        .collect();
    assert!(units.len() >= 9, "units from {err:?}: {units:?}");
    let table = TABLES.iter().find(|t| t.name == "budget").expect("budget");
    let bytes = entries(table).remove("bytes").expect("bytes entry").body;
    for unit in &units {
        let want = parse_size(&format!("1{unit}")).expect("a unit parses");
        let at = word_at(&bytes, unit)
            .unwrap_or_else(|| panic!("budget bytes: the unit {unit} is not documented"));
        if *unit == "B" {
            assert_eq!(want, 1);
            continue;
        }
        // `KiB (1024^2)`-style factor right after the unit.
        let factor = bytes[at + unit.len()..]
            .strip_prefix(" (")
            .and_then(|r| r.split_once(')'))
            .map(|(f, _)| f)
            .unwrap_or_else(|| panic!("budget bytes: no factor after {unit}"));
        let (base, exp) = factor.split_once('^').unwrap_or((factor, "1"));
        let base: u64 = base.parse().expect("factor base");
        let exp: u32 = exp.parse().expect("factor exponent");
        assert_eq!(base.pow(exp), want, "budget bytes: {unit} ({factor})");
    }
    // Every size written in the entry parses.
    for example in quoted(&bytes) {
        parse_size(&example).unwrap_or_else(|e| panic!("budget bytes example {example:?}: {e}"));
    }
    assert_eq!(parse_size("2gib"), parse_size("2GiB"));
}

/// Byte offset of `word` in `s` standing alone (no letter on either side).
fn word_at(s: &str, word: &str) -> Option<usize> {
    s.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = s[..i].chars().next_back();
        let after = s[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphabetic) && !after.is_some_and(char::is_alphabetic)
    })
}

/// Text without its leading comment and blank lines.
fn without_header(s: &str) -> String {
    let lines: Vec<&str> = s
        .lines()
        .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
        .collect();
    lines.join("\n")
}

#[test]
fn examples_parse_and_the_first_is_the_shipped_example() {
    let blocks = example_blocks();
    let toml_blocks: Vec<&(String, String)> =
        blocks.iter().filter(|(sh, _)| sh != "ERRORS").collect();
    assert!(toml_blocks.len() >= 4, "examples: {toml_blocks:?}");
    for (section, block) in &toml_blocks {
        parse(block)
            .unwrap_or_else(|e| panic!("example in {section} does not parse: {e}\n{block}"));
    }
    let examples: Vec<&String> = toml_blocks
        .iter()
        .filter(|(sh, _)| sh == "EXAMPLES")
        .map(|(_, b)| b)
        .collect();
    assert!(
        examples.len() >= 2,
        "EXAMPLES needs the design's and a userspace example"
    );
    assert_eq!(
        without_header(examples[0]),
        without_header(EXAMPLE),
        "the first example must be policy.example.toml (DESIGN.md's example)"
    );
    assert!(
        examples.iter().any(|e| {
            parse(e).is_ok_and(|p| {
                p.general.path_manager == PathManager::Userspace && !p.rules.is_empty()
            })
        }),
        "EXAMPLES needs a userspace example with rules"
    );
}

#[test]
fn the_sample_error_is_what_the_parser_prints() {
    let blocks = example_blocks();
    let sample = blocks
        .iter()
        .find(|(sh, _)| sh == "ERRORS")
        .map(|(_, b)| b.trim().to_string())
        .expect("ERRORS shows a sample error in an .EX block");
    let (file, _) = sample.split_once(':').expect("FILE:LINE:COLUMN: MESSAGE");
    // The page says which edit of the first example gives it.
    let errors: String = lines()
        .into_iter()
        .filter(|l| l.sh == "ERRORS")
        .map(|l| text(&l.text))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        errors.contains(
            "role = \"sometimes\" in the second [[interface]] entry of the first example"
        ),
        "ERRORS must say how the sample error comes about: {errors:?}"
    );
    let first = example_blocks()
        .into_iter()
        .find(|(sh, _)| sh == "EXAMPLES")
        .expect("an example")
        .1;
    let mut n = 0;
    let text: String = first
        .lines()
        .map(|l| {
            if l.starts_with("role = \"preferred\"") {
                n += 1;
                if n == 2 {
                    return "role = \"sometimes\"\n".to_string();
                }
            }
            format!("{l}\n")
        })
        .collect();
    assert!(
        n >= 2,
        "the first example needs two entries with role = \"preferred\""
    );
    let errs = Policy::parse(file, &text).expect_err("sometimes is no role");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].to_string(), sample, "the sample error in ERRORS");
}

#[test]
fn header_names_the_version() {
    let th = PAGE
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect(".TH line");
    let version = format!("mptcp\\-policyd {}", env!("CARGO_PKG_VERSION"));
    assert!(
        th.contains(&version) && th.starts_with(".TH MPTCP\\-POLICYD.TOML 5 "),
        "{th:?} must be .TH MPTCP\\-POLICYD.TOML 5 DATE \"{version}\" ..."
    );
}

// ---------------------------------------------------------------------------
// Rendering with the real tools.

fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}): the manual page check needs groff and man-db installed \
                 (Debian/Ubuntu: apt-get install groff man-db)"
            )
        })
}

#[test]
fn groff_prints_no_warnings() {
    let out = run("groff", &["-man", "-ww", "-z", PAGE_PATH], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "groff -man -ww -z {PAGE_PATH}: {}\n{stderr}",
        out.status
    );
}

#[test]
fn man_renders_it_without_warnings() {
    let env = [
        ("MANPAGER", "cat"),
        ("PAGER", "cat"),
        ("MANWIDTH", "80"),
        ("LC_ALL", "C.UTF-8"),
        ("MAN_KEEP_FORMATTING", ""),
    ];
    let out = run("man", &["--warnings", "-l", PAGE_PATH], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "man --warnings -l {PAGE_PATH}: {}\n{stderr}",
        out.status
    );
    for heading in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "ERRORS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            stdout.lines().any(|l| l == heading),
            "man output has no {heading} section"
        );
    }

    // Every key in the rendered text (not hidden in a comment or macro),
    // with long lines and no hyphenation so that words stay whole.
    let out = run(
        "groff",
        &[
            "-man",
            "-Tutf8",
            "-rLL=400n",
            "-rHY=0",
            "-P-cbou",
            PAGE_PATH,
        ],
        &[],
    );
    assert!(out.status.success(), "groff -Tutf8: {}", out.status);
    let rendered = String::from_utf8_lossy(&out.stdout);
    for table in TABLES {
        for key in parser_keys(table.probe) {
            assert!(
                word_at(&rendered, &key).is_some(),
                "the rendered page never shows {key}"
            );
        }
    }
    for path in [
        "/usr/lib/mptcp-policyd/policy.d/*.toml",
        "/etc/mptcp-policyd/policy.toml",
        "/etc/mptcp-policyd/policy.d/*.toml",
        "/var/lib/mptcp-policyd/policy.toml",
        "mptcp-policyd --check",
    ] {
        assert!(
            rendered.contains(path),
            "the rendered page lacks {path} (written with \\- so that it renders as ASCII '-')"
        );
    }
    for see in ["mptcp-policyd(8)", "mptcp-policyctl(1)", "ip-mptcp(8)"] {
        assert!(rendered.contains(see), "SEE ALSO lacks {see}");
    }
}

#[test]
fn whatis_reads_the_name_line() {
    let out = run("lexgrog", &[PAGE_PATH], &[("LC_ALL", "C.UTF-8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("\"mptcp-policyd.toml - MPTCP path policy of mptcp-policyd\""),
        "lexgrog {PAGE_PATH}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
