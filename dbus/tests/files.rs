//! The shipped contract files agree with the crate: the introspection XML
//! lists exactly the proxies' members with their signatures and documents
//! each of them, the polkit action defaults are the ones the issue fixes
//! (there is no logind here, so this file check is how `allow_active` is
//! tested), and the bus policy, activation file and unit name the same bus
//! name, user and unit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mptcp_policy_dbus::names::{
    ACTION_CONFIGURE, ACTION_SET_ROLE, BUS_NAME, CONNECTION_INTERFACE, ERROR_PREFIX,
    INTERFACE_INTERFACE, MANAGER_INTERFACE, MANAGER_PATH,
};
use mptcp_policy_dbus::{introspection_xml, SubflowInfo};
use zbus::zvariant::Type;
use zbus_xml::{ArgDirection, Node};

/// The service's system user: bus policy, unit `User=` and sysusers agree.
const SERVICE_USER: &str = "mptcp-policyd";

fn repo_file(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One member as `kind Name(arg:sig:dir, ...)`; properties as `property Name:sig`.
type Members = Vec<String>;

/// Hard-coded from `dbus/src/proxy.rs` (the live-service comparison is a
/// separate test): every method, property and signal with its arguments.
fn expected() -> BTreeMap<&'static str, Members> {
    let sub = SubflowInfo::SIGNATURE.to_string();
    let conn = "token:u,local:s,local_port:q,remote:s,remote_port:q";
    let manager = vec![
        "method GetPolicy(toml:s:out)".to_string(),
        "method ValidatePolicy(toml:s:in,errors:as:out)".into(),
        "method SetPolicy(toml:s:in)".into(),
        "method SetInterfaceRole(interface:s:in,role:s:in)".into(),
        "method SetMetered(interface:s:in,metered:b:in)".into(),
        "method SetBudget(interface:s:in,bytes:t:in,period:s:in)".into(),
        "method ResetUsage(interface:s:in)".into(),
        "method RevertInterface(interface:s:in,setting:s:in)".into(),
        "method ResetPolicy()".into(),
        "method Reload()".into(),
        "method EnableCgroup(path:s:in)".into(),
        "method DisableCgroup(path:s:in)".into(),
        "method NotifyNetworkManager(interface:s:in,action:s:in,hints:a{ss}:in,outcome:s:out)"
            .into(),
        "property PathManager:s".into(),
        "property Version:s".into(),
        "property PolicySummary:s".into(),
        "property Limits:(uu)".into(),
        "property ForeignEndpoints:a(ysss)".into(),
        "property BpfStatus:s".into(),
        "property EnabledCgroups:a(st)".into(),
        format!("signal ConnectionCreated({conn})"),
        format!("signal ConnectionEstablished({conn})"),
        "signal ConnectionClosed(token:u)".into(),
        format!("signal SubflowEstablished(token:u,subflow:{sub})"),
        format!("signal SubflowClosed(token:u,subflow:{sub})"),
        format!("signal SubflowPriority(token:u,subflow:{sub})"),
        "signal AddressAnnounced(token:u,id:y,address:s,port:q)".into(),
        "signal AddressRemoved(token:u,id:y)".into(),
        "signal PolicyChanged()".into(),
        "signal HealthChanged(interface:s,health:s,evidence:s)".into(),
        "signal BudgetWarning(interface:s,used:t,budget:t)".into(),
        "signal BudgetExhausted(interface:s,used:t,budget:t)".into(),
    ];
    let interface = [
        "Name:s",
        "Type:s",
        "TypeSource:s",
        "Role:s",
        "RoleReason:s",
        "Up:b",
        "Health:s",
        "Addresses:as",
        "Metered:b",
        "BytesUsed:t",
        "MptcpBytesUsed:t",
        "RxBytes:t",
        "TxBytes:t",
        "BudgetBytes:t",
        "BudgetPeriod:s",
        "BudgetState:s",
        "AllowanceBytes:t",
        "NextReset:s",
        "EndpointIds:ay",
        "Hints:a{s(ss)}",
    ];
    let connection = [
        "Token:u".to_string(),
        "LocalAddress:s".into(),
        "LocalPort:q".into(),
        "RemoteAddress:s".into(),
        "RemotePort:q".into(),
        "ServerSide:b".into(),
        "OpenedAt:t".into(),
        format!("Subflows:a{sub}"),
        "Mode:s".into(),
        "Rule:s".into(),
        "Promoted:as".into(),
        "Constraint:s".into(),
    ];
    BTreeMap::from([
        (MANAGER_INTERFACE, sorted(manager)),
        (
            INTERFACE_INTERFACE,
            sorted(interface.iter().map(|p| format!("property {p}")).collect()),
        ),
        (
            CONNECTION_INTERFACE,
            sorted(connection.iter().map(|p| format!("property {p}")).collect()),
        ),
    ])
}

fn sorted(mut v: Members) -> Members {
    v.sort();
    v
}

fn args(args: &[zbus_xml::Arg<'_>], with_direction: bool) -> String {
    args.iter()
        .map(|a| {
            let name = a.name().unwrap_or_else(|| panic!("unnamed argument {a:?}"));
            let dir = match a.direction() {
                Some(ArgDirection::Out) => ":out",
                _ if with_direction => ":in",
                _ => "",
            };
            format!("{name}:{}{dir}", a.ty())
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn parsed_members() -> BTreeMap<String, Members> {
    let (node, warnings) = Node::from_reader_with_warnings(introspection_xml().as_bytes())
        .expect("org.mptcp.Policy1.xml parses as introspection XML");
    assert!(warnings.is_empty(), "unexpected XML elements: {warnings:?}");
    node.interfaces()
        .iter()
        .map(|i| {
            let mut m: Members = Vec::new();
            for x in i.methods() {
                m.push(format!("method {}({})", x.name(), args(x.args(), true)));
            }
            for s in i.signals() {
                assert!(
                    s.args().iter().all(|a| a.direction().is_none()),
                    "signal {} has directed args",
                    s.name()
                );
                m.push(format!("signal {}({})", s.name(), args(s.args(), false)));
            }
            for p in i.properties() {
                let access = p.access();
                assert!(
                    access.read() && !access.write(),
                    "{} must be read-only",
                    p.name()
                );
                m.push(format!("property {}:{}", p.name(), p.ty()));
            }
            (i.name().to_string(), sorted(m))
        })
        .collect()
}

#[test]
fn xml_lists_exactly_the_proxy_members() {
    let parsed = parsed_members();
    let expected: BTreeMap<String, Members> = expected()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(
        parsed.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (iface, members) in &expected {
        assert_eq!(&parsed[iface], members, "members of {iface}");
    }
    assert!(
        introspection_xml().starts_with(
            "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\""
        ),
        "the XML starts with the introspection DOCTYPE"
    );
}

/// The comment right before `node` (whitespace skipped), if any.
fn doc_comment<'a>(node: roxmltree::Node<'a, 'a>) -> Option<&'a str> {
    let mut prev = node.prev_sibling();
    while let Some(p) = prev {
        if p.is_text() && p.text().is_some_and(|t| t.trim().is_empty()) {
            prev = p.prev_sibling();
            continue;
        }
        return p.is_comment().then(|| p.text().unwrap_or(""));
    }
    None
}

fn documented(xml: &str) -> Vec<(String, String)> {
    let doc = parse_xml(xml);
    let mut out = Vec::new();
    for n in doc.descendants().filter(|n| {
        matches!(
            n.tag_name().name(),
            "interface" | "method" | "property" | "signal"
        )
    }) {
        let name = n.attribute("name").expect("named").to_string();
        let doc = doc_comment(n).unwrap_or_else(|| panic!("{name} has no doc comment"));
        let doc = doc.trim().to_string();
        let header = format!("{name}:");
        assert!(
            doc.starts_with(&header),
            "the doc comment of {name} starts with {header:?}: {doc:?}"
        );
        // Some prose beyond the header and the @arg lines.
        let prose: usize = doc
            .lines()
            .skip(1)
            .filter(|l| !l.trim_start().starts_with('@'))
            .map(|l| l.trim().len())
            .sum();
        assert!(prose >= 20, "{name} is documented in more than a header");
        for arg in n.children().filter(|c| c.has_tag_name("arg")) {
            let a = arg.attribute("name").expect("arg named");
            assert!(
                doc.contains(&format!("@{a}:")),
                "{name}: argument {a} is documented with @{a}:"
            );
        }
        out.push((n.tag_name().name().to_string(), doc));
    }
    out
}

#[test]
fn every_member_and_argument_is_documented() {
    let docs = documented(introspection_xml());
    // 3 interfaces + 32 manager members + 20 + 12 properties.
    assert_eq!(docs.len(), 3 + 32 + 20 + 12);
}

#[test]
fn methods_document_authorization_and_errors() {
    let known = [
        "NotAuthorized",
        "InvalidPolicy",
        "UnknownInterface",
        "InvalidArgument",
        "Kernel",
    ];
    let xml = introspection_xml();
    for (_, doc) in documented(xml).iter().filter(|(k, _)| k == "method") {
        let name = doc.split(':').next().unwrap_or_default();
        let action = match name {
            "GetPolicy" | "ValidatePolicy" => None,
            "SetInterfaceRole" => Some(ACTION_SET_ROLE),
            "RevertInterface" => {
                assert!(
                    doc.contains(ACTION_SET_ROLE),
                    "{name}: set-role for \"role\""
                );
                Some(ACTION_CONFIGURE)
            }
            _ => Some(ACTION_CONFIGURE),
        };
        let flat = doc.split_whitespace().collect::<Vec<_>>().join(" ");
        match action {
            None => assert!(flat.contains("No authorization needed"), "{name}"),
            Some(a) => {
                assert!(
                    flat.contains(&format!("Authorization: polkit action \"{a}\"")),
                    "{name} names its polkit action {a}"
                );
                assert!(
                    flat.contains(&format!("{ERROR_PREFIX}.NotAuthorized")),
                    "{name} can be denied"
                );
            }
        }
        assert!(flat.contains("Errors:"), "{name} lists its errors");
    }
    // Every error the XML mentions exists.
    for (i, _) in xml.match_indices(&format!("{ERROR_PREFIX}.")) {
        let rest = &xml[i + ERROR_PREFIX.len() + 1..];
        let name: String = rest
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        assert!(known.contains(&name.as_str()), "unknown error {name}");
    }
    // The overview covers the object tree and the open enumerations.
    for needle in [
        MANAGER_PATH,
        "org.freedesktop.DBus.ObjectManager",
        "PropertiesChanged",
        "clients must handle unknown values",
        BUS_NAME,
    ] {
        assert!(xml.contains(needle), "the XML mentions {needle}");
    }
}

fn parse_xml(text: &str) -> roxmltree::Document<'_> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, opts).expect("XML parses")
}

#[test]
fn polkit_actions_have_the_fixed_defaults() {
    let text = repo_file("polkit/org.mptcp.policy.policy");
    let doc = parse_xml(&text);
    let actions: BTreeMap<&str, roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("action"))
        .map(|n| (n.attribute("id").expect("action id"), n))
        .collect();
    assert_eq!(
        actions.keys().copied().collect::<Vec<_>>(),
        vec![ACTION_CONFIGURE, ACTION_SET_ROLE]
    );
    let child_text = |n: roxmltree::Node, tag: &str| -> String {
        n.descendants()
            .find(|c| c.has_tag_name(tag))
            .and_then(|c| c.text())
            .unwrap_or_else(|| panic!("<{tag}> missing"))
            .trim()
            .to_string()
    };
    for (id, defaults) in [
        (ACTION_SET_ROLE, ["auth_admin", "auth_admin", "yes"]),
        (
            ACTION_CONFIGURE,
            ["auth_admin_keep", "auth_admin_keep", "auth_admin_keep"],
        ),
    ] {
        let a = actions[id];
        let got = ["allow_any", "allow_inactive", "allow_active"].map(|t| child_text(a, t));
        assert_eq!(got, defaults.map(String::from), "defaults of {id}");
        assert!(child_text(a, "description").len() > 10, "{id} description");
        assert!(child_text(a, "message").len() > 20, "{id} message");
    }
}

#[test]
fn rules_example_grants_both_actions_to_netdev() {
    let text = repo_file("polkit/50-mptcp-policy.rules.example");
    for needle in [
        "polkit.addRule(function(action, subject)",
        &format!("action.id == \"{ACTION_SET_ROLE}\""),
        &format!("action.id == \"{ACTION_CONFIGURE}\""),
        "subject.isInGroup(\"netdev\")",
        "polkit.Result.YES",
        "/etc/polkit-1/rules.d/",
    ] {
        assert!(text.contains(needle), "rules example contains {needle}");
    }
}

#[test]
fn bus_policy_lets_only_the_service_own_and_everyone_call() {
    let text = repo_file("dbus/org.mptcp.Policy1.conf");
    let doc = parse_xml(&text);
    let mut owners = Vec::new();
    let mut callable = Vec::new();
    for policy in doc.descendants().filter(|n| n.has_tag_name("policy")) {
        let who = match (policy.attribute("user"), policy.attribute("context")) {
            (Some(u), None) => u.to_string(),
            (None, Some("default")) => "*".to_string(),
            other => panic!("unexpected policy {other:?}"),
        };
        for rule in policy.children().filter(|n| n.is_element()) {
            let own = rule.attribute("own");
            match (rule.tag_name().name(), own) {
                ("allow", Some(name)) => {
                    assert_eq!(name, BUS_NAME);
                    owners.push(who.clone());
                }
                ("deny", Some(name)) => assert_eq!((who.as_str(), name), ("*", BUS_NAME)),
                ("allow", None) => {
                    assert_eq!(who, "*", "send rules are for everyone");
                    assert_eq!(rule.attribute("send_destination"), Some(BUS_NAME));
                    callable.push(rule.attribute("send_interface").expect("interface"));
                }
                other => panic!("unexpected rule {other:?}"),
            }
        }
    }
    owners.sort();
    assert_eq!(owners, ["mptcp-policyd", "root"]);
    callable.sort();
    assert_eq!(
        callable,
        [
            "org.freedesktop.DBus.Introspectable",
            "org.freedesktop.DBus.ObjectManager",
            "org.freedesktop.DBus.Peer",
            "org.freedesktop.DBus.Properties",
            MANAGER_INTERFACE,
            CONNECTION_INTERFACE,
            INTERFACE_INTERFACE,
        ]
    );
}

/// `Key=value` lines of an ini-style file (last one wins).
fn ini(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn activation_file_unit_and_user_agree() {
    let activation = ini(&repo_file("dbus/org.mptcp.Policy1.service"));
    assert_eq!(activation["Name"], BUS_NAME);
    assert_eq!(activation["Exec"], "/bin/false");
    assert_eq!(activation["User"], "root");
    assert_eq!(activation["SystemdService"], "mptcp-policyd.service");

    let unit_text = repo_file("systemd/mptcp-policyd.service");
    let unit = ini(&unit_text);
    for (k, v) in [
        ("Type", "dbus"),
        ("BusName", BUS_NAME),
        ("ExecStart", "/usr/bin/mptcp-policyd"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("StateDirectory", "mptcp-policyd"),
        ("CapabilityBoundingSet", "CAP_NET_ADMIN CAP_BPF CAP_PERFMON"),
        ("AmbientCapabilities", "CAP_NET_ADMIN CAP_BPF CAP_PERFMON"),
        ("User", SERVICE_USER),
    ] {
        assert_eq!(unit.get(k).map(String::as_str), Some(v), "unit {k}=");
    }
    let sysusers = repo_file("systemd/mptcp-policyd.sysusers");
    let user_line = sysusers
        .lines()
        .find(|l| l.starts_with("u "))
        .expect("a u line");
    assert_eq!(user_line.split_whitespace().nth(1), Some(SERVICE_USER));
}

/// The README's BPF paragraph says what the unit grants: every capability
/// of the unit's bounding set is named there, and it does not claim the
/// unit withholds them.
#[test]
fn readme_bpf_section_agrees_with_the_unit() {
    let unit = repo_file("systemd/mptcp-policyd.service");
    let caps: Vec<&str> = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit sets CapabilityBoundingSet=")
        .split_whitespace()
        .collect();
    let readme = repo_file("README.md");
    let start = readme
        .find("- **The BPF hook**")
        .expect("README has the BPF paragraph");
    let section = &readme[start..];
    let section = &section[..section.find("\n\n").unwrap_or(section.len())];
    let flat = section.split_whitespace().collect::<Vec<_>>().join(" ");
    for cap in &caps {
        if *cap == "CAP_NET_ADMIN" {
            continue;
        }
        assert!(
            flat.contains(cap),
            "{cap} granted by the unit, not named: {flat}"
        );
    }
    for claim in ["does not grant", "not granted", "doesn't grant"] {
        assert!(!flat.contains(claim), "README says {claim:?}: {flat}");
    }
    if caps.contains(&"CAP_BPF") {
        assert!(flat.contains("the hardened unit grants both"), "{flat}");
    }
}
