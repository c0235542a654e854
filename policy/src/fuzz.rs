//! Bodies of the fuzz targets of this crate, as plain functions: the
//! libFuzzer harness in `fuzz/` calls them with random bytes, and
//! `tests/fuzz_corpus.rs` runs them over every file of `fuzz/corpus/` in
//! `cargo test` (stable). Each panics on a broken invariant and only then.
//! No I/O here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use jiff::{tz::TimeZone, Timestamp};

use crate::{
    evaluate, infer_type, plan, plan_connection, type_from_nm_device_type, type_from_nm_name,
    Actual, ConnFacts, ConnSnapshot, ConnSubflow, Connectivity, EndpointFlags, InterfaceHints,
    InterfaceType, KernelEndpoint, NmMetered, Observed, ObservedAddress, ObservedInterface,
    Ownership, PathChoice, PmOp, Policy, Role, TypeHints,
};

/// Target `policy`: the bytes as a policy file. Parsing and validation
/// agree; an accepted policy evaluates and plans on a small observed state,
/// picks connection modes, and round-trips through [`Policy::to_toml`]
/// (what D-Bus `GetPolicy` returns) to an equal policy.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Policy::parse("fuzz.toml", text);
    let errors = crate::validate("fuzz.toml", text);
    assert_eq!(
        parsed.is_ok(),
        errors.is_empty(),
        "parse and validate disagree"
    );
    let Ok(p) = parsed else { return };
    let written = p.to_toml();
    match Policy::parse("written.toml", &written) {
        Ok(again) => assert_eq!(again, p, "round trip changed the policy:\n{written}"),
        Err(e) => panic!("to_toml wrote a policy the parser refuses: {e:?}\n{written}"),
    }
    let overrides = p.to_toml_overrides();
    if let Err(e) = Policy::parse("overrides.toml", &overrides) {
        panic!("to_toml_overrides wrote a refused policy: {e:?}\n{overrides}");
    }
    exercise(&p);
}

/// Evaluate, plan and per-connection planning on a fixed small world.
fn exercise(p: &Policy) {
    let now = Timestamp::from_second(1_767_225_600)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(TimeZone::UTC);
    let observed = observed(p);
    let desired = evaluate(p, &observed, &now);
    let v4 = |d| IpAddr::V4(Ipv4Addr::new(10, 0, d, 2));
    let foreign = KernelEndpoint {
        id: 7,
        addr: v4(9),
        port: None,
        ifindex: None,
        flags: EndpointFlags::default(),
    };
    let mine = KernelEndpoint {
        id: 1,
        addr: v4(1),
        ..foreign.clone()
    };
    let actual = Actual {
        endpoints: vec![foreign.clone(), mine],
        limits: None,
    };
    let mut owned = Ownership::default();
    owned.owned.insert(1, v4(1));
    let planned = plan(&actual, &desired, &owned);
    for op in &planned.ops {
        let id = match op {
            PmOp::DeleteEndpoint { id, .. } | PmOp::SetFlags { id, .. } => Some(*id),
            _ => None,
        };
        assert_ne!(
            id,
            Some(foreign.id),
            "plan touches a foreign endpoint: {op}"
        );
    }

    let facts = ConnFacts {
        remote: v4(200),
        remote_port: 443,
        local_port: 40000,
        uid: Some(1000),
        cgroup: Some("/user.slice/app.scope".into()),
    };
    let m = p.rule_for(&facts);
    let paths: Vec<PathChoice> = desired
        .endpoints
        .iter()
        .map(|e| PathChoice {
            addr: e.addr,
            ifindex: e.ifindex,
            ifname: String::new(),
            role: if e.flags.backup {
                Role::Backup
            } else {
                Role::Preferred
            },
            degraded: false,
            rtt_us: Some(20_000),
            promotable: e.flags.backup,
        })
        .collect();
    let subflows = [ConnSubflow {
        local: SocketAddr::new(v4(1), 40000),
        remote: SocketAddr::new(v4(200), 443),
        backup: false,
    }];
    let conn = ConnSnapshot {
        server_side: false,
        remote: SocketAddr::new(v4(200), 443),
        subflows: &subflows,
        pending: &[],
        announced: &[],
        by_rule: m.rule.is_some(),
        deny_join_initial: false,
        peer_addrs: &[],
    };
    let _ = plan_connection(m.mode, &conn, &paths);
}

fn observed(p: &Policy) -> Observed {
    let iface = |index, name: &str, up, hints, addresses| {
        let (kind, _) = infer_type(p, name, &TypeHints::default());
        ObservedInterface {
            index,
            name: name.into(),
            kind,
            up,
            addresses,
            usage: None,
            hints,
            stalled: None,
            degraded: None,
        }
    };
    let a4 = |d| ObservedAddress::new(IpAddr::V4(Ipv4Addr::new(10, 0, d, 2)), 24);
    let a6 = ObservedAddress::new(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 2)), 64);
    let metered = InterfaceHints {
        metered: Some(NmMetered::GuessYes),
        connectivity: Some(Connectivity::Limited),
    };
    Observed {
        interfaces: vec![
            iface(2, "eth0", true, InterfaceHints::default(), vec![a4(1), a6]),
            iface(3, "wlan0", true, InterfaceHints::default(), vec![a4(2)]),
            iface(4, "wwan0", true, metered, vec![a4(3)]),
            iface(5, "tun0", false, InterfaceHints::default(), vec![a4(4)]),
        ],
    }
}

/// Target `nm_hints`: NetworkManager's values (D-Bus numbers and the
/// dispatcher hook's strings) mapped to policy inputs. Known values map
/// back to what they came from.
pub fn nm_hints(data: &[u8]) {
    for chunk in data.chunks(4) {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from_le_bytes(w);
        if let Some(m) = NmMetered::from_nm(n) {
            assert_eq!(m.as_str().parse::<NmMetered>(), Ok(m));
        }
        let c = Connectivity::from_nm(n);
        if let Some(c) = c {
            assert_eq!(c.as_str().parse::<Connectivity>(), Ok(c));
        }
        let best = Connectivity::best(c, Connectivity::from_nm(n.rotate_left(8)));
        assert!(c.is_none() || best.is_some());
        let _ = type_from_nm_device_type(n);
    }
    let text = String::from_utf8_lossy(data);
    for word in text.split(|c: char| c.is_whitespace() || c == '=') {
        let _ = type_from_nm_name(word);
        let _ = word.parse::<Connectivity>();
        let _ = word.parse::<NmMetered>();
        if let Ok(t) = word.parse::<InterfaceType>() {
            assert_eq!(t.to_string().parse::<InterfaceType>(), Ok(t));
        }
    }
}

/// Target `nm_notify`: the dispatcher hook's input as `mptcp-policyctl
/// notify` sends it (`NotifyNetworkManager`): line 1 the interface, line 2
/// the action, then `name=value` hints; lines `dev IFACE METERED
/// CONNECTIVITY DEVICETYPE ACTIVATED` (numbers) are NetworkManager's
/// devices, applied to the table first. An accepted event names a valid
/// interface and a known action, its texts have no control characters,
/// and applying it twice changes nothing the second time.
pub fn nm_notify(data: &[u8]) {
    use crate::networkmanager::{parse_notify, source, HintTable, NmDevice, ACTIONS};
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let interface = lines.next().unwrap_or_default();
    let action = lines.next().unwrap_or_default();
    let mut hints = std::collections::HashMap::new();
    let mut devices = Vec::new();
    for line in lines {
        if let Some(dev) = line.strip_prefix("dev ") {
            let w: Vec<&str> = dev.split(' ').collect();
            let num = |i: usize| w.get(i).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
            devices.push(NmDevice {
                iface: w.first().copied().unwrap_or_default().to_owned(),
                metered: NmMetered::from_nm(num(1)),
                connectivity: Connectivity::from_nm(num(2)),
                device_type: type_from_nm_device_type(num(3)),
                managed: true,
                activated: num(4) != 0,
            });
        } else if let Some((k, v)) = line.split_once('=') {
            hints.insert(k.to_owned(), v.to_owned());
        }
    }
    let mut table = HintTable::default();
    let _ = table.apply_devices(&devices);
    let n = match parse_notify(interface, action, &hints) {
        Ok(n) => n,
        Err(e) => {
            assert!(!e.0.is_empty(), "a refusal without a reason");
            return;
        }
    };
    assert!(ACTIONS.contains(&n.action.as_str()));
    assert_eq!(n.interface, interface);
    assert!(interface.len() <= 15 && !interface.contains(['/', ':', ' ']));
    assert!(!n.connection.chars().any(char::is_control), "{n:?}");
    let up: Vec<String> = devices.iter().map(|d| d.iface.clone()).collect();
    let _ = table.apply_notify(&n, &up);
    let again = table.apply_notify(&n, &up);
    assert!(again.is_empty(), "the same event changed {again:?}");
    for name in up.iter().map(String::as_str).chain([interface]) {
        let _ = table.policy_hints(name);
        for (value, src) in table.published(name).values() {
            assert!(!value.is_empty());
            assert!(src == source::HOOK || src == source::NETWORKMANAGER);
        }
    }
}
