//! `plan`: tables of cases, then invariants over many generated states,
//! checked with a small simulator of the kernel's endpoint table.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use common::{fixed_now, iface, observed, policy, EXAMPLE};
use mptcp_policy::{
    evaluate, plan, Actual, Desired, DesiredEndpoint, EndpointFlags, InterfaceType as T,
    KernelEndpoint, Limits, Observed, Ownership, PmOp, MAX_ENDPOINTS,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn flags(s: &str) -> EndpointFlags {
    let has = |f: &str| s.split_whitespace().any(|w| w == f);
    EndpointFlags {
        signal: has("signal"),
        subflow: has("subflow"),
        backup: has("backup"),
        fullmesh: has("fullmesh"),
    }
}

fn kep(id: u8, a: &str, ifindex: u32, f: &str) -> KernelEndpoint {
    KernelEndpoint {
        id,
        addr: ip(a),
        port: None,
        ifindex: Some(ifindex),
        flags: flags(f),
    }
}

fn dep(a: &str, ifindex: u32, ifname: &str, f: &str) -> DesiredEndpoint {
    DesiredEndpoint {
        addr: ip(a),
        ifindex,
        ifname: ifname.to_owned(),
        flags: flags(f),
    }
}

fn desired(endpoints: Vec<DesiredEndpoint>) -> Desired {
    Desired {
        limits: Limits::default(),
        endpoints,
        interfaces: Vec::new(),
        left_out: Vec::new(),
    }
}

fn owned(pairs: &[(u8, &str)]) -> Ownership {
    Ownership {
        owned: pairs.iter().map(|(id, a)| (*id, ip(a))).collect(),
    }
}

fn texts(ops: &[PmOp]) -> Vec<String> {
    ops.iter().map(ToString::to_string).collect()
}

const LIMITS: Option<Limits> = Some(Limits {
    subflows: 4,
    add_addr_accepted: 4,
});

#[test]
fn plan_table() {
    struct Case {
        name: &'static str,
        actual: Vec<KernelEndpoint>,
        limits: Option<Limits>,
        owned: Ownership,
        want: Vec<DesiredEndpoint>,
        ops: &'static [&'static str],
        blocked: usize,
        foreign: usize,
    }
    let wlan = || dep("192.168.1.20", 2, "wlan0", "subflow");
    let wwan = || dep("100.64.1.2", 3, "wwan0", "subflow backup");
    let cases = vec![
        Case {
            name: "empty kernel: limits then adds in rank order",
            actual: vec![],
            limits: None,
            owned: owned(&[]),
            want: vec![wlan(), wwan()],
            ops: &[
                "ip mptcp limits set subflows 4 add_addr_accepted 4",
                "ip mptcp endpoint add 192.168.1.20 dev wlan0 subflow",
                "ip mptcp endpoint add 100.64.1.2 dev wwan0 subflow backup",
            ],
            blocked: 0,
            foreign: 0,
        },
        Case {
            name: "converged: nothing to do",
            actual: vec![
                kep(1, "192.168.1.20", 2, "subflow"),
                kep(2, "100.64.1.2", 3, "subflow backup"),
            ],
            limits: LIMITS,
            owned: owned(&[(1, "192.168.1.20"), (2, "100.64.1.2")]),
            want: vec![wlan(), wwan()],
            ops: &[],
            blocked: 0,
            foreign: 0,
        },
        Case {
            name: "link down: delete first",
            actual: vec![
                kep(1, "192.168.1.20", 2, "subflow"),
                kep(2, "100.64.1.2", 3, "subflow backup"),
            ],
            limits: LIMITS,
            owned: owned(&[(1, "192.168.1.20"), (2, "100.64.1.2")]),
            want: vec![wwan()],
            ops: &["ip mptcp endpoint delete id 1 (192.168.1.20)"],
            blocked: 0,
            foreign: 0,
        },
        Case {
            name: "backup flag flips in place",
            actual: vec![kep(4, "100.64.1.2", 3, "subflow")],
            limits: LIMITS,
            owned: owned(&[(4, "100.64.1.2")]),
            want: vec![wwan()],
            ops: &["ip mptcp endpoint change id 4 backup nofullmesh (100.64.1.2)"],
            blocked: 0,
            foreign: 0,
        },
        Case {
            name: "fullmesh flips in place",
            actual: vec![kep(4, "192.168.1.20", 2, "subflow")],
            limits: LIMITS,
            owned: owned(&[(4, "192.168.1.20")]),
            want: vec![dep("192.168.1.20", 2, "wlan0", "subflow fullmesh")],
            ops: &["ip mptcp endpoint change id 4 nobackup fullmesh (192.168.1.20)"],
            blocked: 0,
            foreign: 0,
        },
        Case {
            name: "signal cannot change in place: delete + add",
            actual: vec![kep(4, "192.168.1.20", 2, "subflow")],
            limits: LIMITS,
            owned: owned(&[(4, "192.168.1.20")]),
            want: vec![dep("192.168.1.20", 2, "wlan0", "signal subflow")],
            ops: &[
                "ip mptcp endpoint delete id 4 (192.168.1.20)",
                "ip mptcp endpoint add 192.168.1.20 dev wlan0 signal subflow",
            ],
            blocked: 0,
            foreign: 0,
        },
        Case {
            name: "address moved to another interface: delete + add",
            actual: vec![kep(4, "192.168.1.20", 2, "subflow")],
            limits: LIMITS,
            owned: owned(&[(4, "192.168.1.20")]),
            want: vec![dep("192.168.1.20", 6, "wlan1", "subflow")],
            ops: &[
                "ip mptcp endpoint delete id 4 (192.168.1.20)",
                "ip mptcp endpoint add 192.168.1.20 dev wlan1 subflow",
            ],
            blocked: 0,
            foreign: 0,
        },
        Case {
            name: "foreign endpoint on a desired address: blocked, untouched",
            actual: vec![kep(7, "192.168.1.20", 2, "signal")],
            limits: LIMITS,
            owned: owned(&[]),
            want: vec![wlan(), wwan()],
            ops: &["ip mptcp endpoint add 100.64.1.2 dev wwan0 subflow backup"],
            blocked: 1,
            foreign: 1,
        },
        Case {
            name: "id reused by someone else: foreign, not deleted",
            actual: vec![kep(1, "10.9.9.9", 8, "subflow")],
            limits: LIMITS,
            owned: owned(&[(1, "192.168.1.20")]),
            want: vec![wlan()],
            ops: &["ip mptcp endpoint add 192.168.1.20 dev wlan0 subflow"],
            blocked: 0,
            foreign: 1,
        },
        Case {
            name: "op order: delete, change, limits, add",
            actual: vec![
                kep(1, "10.0.0.2", 4, "subflow"),
                kep(2, "100.64.1.2", 3, "subflow"),
            ],
            limits: Some(Limits {
                subflows: 2,
                add_addr_accepted: 0,
            }),
            owned: owned(&[(1, "10.0.0.2"), (2, "100.64.1.2")]),
            want: vec![wlan(), wwan()],
            ops: &[
                "ip mptcp endpoint delete id 1 (10.0.0.2)",
                "ip mptcp endpoint change id 2 backup nofullmesh (100.64.1.2)",
                "ip mptcp limits set subflows 4 add_addr_accepted 4",
                "ip mptcp endpoint add 192.168.1.20 dev wlan0 subflow",
            ],
            blocked: 0,
            foreign: 0,
        },
        Case {
            name: "room: six foreign endpoints leave two slots",
            actual: (1..=6)
                .map(|i| kep(100 + i, &format!("198.51.100.{i}"), 9, "signal"))
                .collect(),
            limits: LIMITS,
            owned: owned(&[]),
            want: vec![wlan(), dep("10.0.0.2", 4, "eth0", "subflow"), wwan()],
            ops: &[
                "ip mptcp endpoint add 192.168.1.20 dev wlan0 subflow",
                "ip mptcp endpoint add 10.0.0.2 dev eth0 subflow",
            ],
            blocked: 1,
            foreign: 6,
        },
    ];
    for c in cases {
        let actual = Actual {
            endpoints: c.actual,
            limits: c.limits,
        };
        let p = plan(&actual, &desired(c.want), &c.owned);
        assert_eq!(texts(&p.ops), c.ops, "{}", c.name);
        assert_eq!(p.blocked.len(), c.blocked, "{}: {:?}", c.name, p.blocked);
        assert_eq!(p.foreign.len(), c.foreign, "{}", c.name);
    }
}

#[test]
fn blocked_reasons_are_explained() {
    let actual = Actual {
        endpoints: vec![kep(7, "192.168.1.20", 2, "signal")],
        limits: LIMITS,
    };
    let p = plan(
        &actual,
        &desired(vec![dep("192.168.1.20", 2, "wlan0", "subflow")]),
        &owned(&[]),
    );
    assert_eq!(
        p.blocked[0].1,
        "address 192.168.1.20 is held by endpoint id 7, which is not ours"
    );
}

// ---- simulator and generated states ----

/// Applies ops like the kernel would, panicking on anything it would refuse
/// or that breaks our rules (touching a foreign id).
fn apply(actual: &mut Actual, own: &mut Ownership, ops: &[PmOp]) {
    for op in ops {
        match op {
            PmOp::SetLimits(l) => actual.limits = Some(*l),
            PmOp::DeleteEndpoint { id, addr } => {
                assert_eq!(
                    own.owned.get(id),
                    Some(addr),
                    "deleting id {id} we do not own"
                );
                let before = actual.endpoints.len();
                actual.endpoints.retain(|e| e.id != *id);
                assert_eq!(actual.endpoints.len() + 1, before, "ENOENT for id {id}");
                own.owned.remove(id);
            }
            PmOp::SetFlags { id, addr, flags } => {
                assert_eq!(
                    own.owned.get(id),
                    Some(addr),
                    "changing id {id} we do not own"
                );
                let e = actual
                    .endpoints
                    .iter_mut()
                    .find(|e| e.id == *id)
                    .expect("ENOENT");
                assert_eq!(
                    (e.flags.signal, e.flags.subflow),
                    (flags.signal, flags.subflow),
                    "kernel can't change these"
                );
                e.flags = *flags;
            }
            PmOp::AddEndpoint(d) => {
                assert!(
                    actual.endpoints.iter().all(|e| e.addr != d.addr),
                    "EEXIST {}",
                    d.addr
                );
                assert!(actual.endpoints.len() < MAX_ENDPOINTS, "ERANGE");
                let id = (1..=u8::MAX)
                    .find(|i| actual.endpoints.iter().all(|e| e.id != *i))
                    .expect("id");
                actual.endpoints.push(KernelEndpoint {
                    id,
                    addr: d.addr,
                    port: None,
                    ifindex: Some(d.ifindex),
                    flags: d.flags,
                });
                own.owned.insert(id, d.addr);
            }
        }
    }
}

/// Tiny deterministic PRNG (xorshift64*), so no test dependency is needed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const POLICIES: &[&str] = &[
    EXAMPLE,
    "[general]\nannounce = true\n[[interface]]\ntype = \"wifi\"\nrole = \"backup\"\n[[interface]]\ntype = \"cellular\"\nrole = \"preferred\"\n[[interface]]\nname = \"eth*\"\nrole = \"preferred\"\n",
    "[general]\nfullmesh = true\n[limits]\nsubflows = 8\n[[interface]]\nname = \"*\"\nrole = \"preferred\"\n",
    "[[interface]]\nname = \"eth0\"\nrole = \"off\"\n[[interface]]\nname = \"eth*\"\nrole = \"backup\"\n[[interface]]\ntype = \"wifi\"\nrole = \"preferred\"\n",
];

/// Interfaces (index, name, type) and the addresses each may have.
const POOL: &[(u32, &str, T, &[&str])] = &[
    (
        2,
        "wlan0",
        T::Wifi,
        &[
            "192.168.1.20",
            "192.168.1.21",
            "2001:db8:a::2/64",
            "fe80::2/64",
        ],
    ),
    (3, "wwan0", T::Cellular, &["100.64.1.2", "2001:db8:c::2/64"]),
    (
        4,
        "eth0",
        T::Ethernet,
        &["10.0.0.2", "10.0.0.3", "2001:db8:e::2/64"],
    ),
    (5, "eth1", T::Ethernet, &["10.1.0.2", "2001:db8:e1::2/64"]),
    (6, "wlan1", T::Wifi, &["192.168.2.20", "2001:db8:b::2/64"]),
];

fn gen_observed(rng: &mut Rng) -> Observed {
    let mut ifaces = Vec::new();
    for (index, name, kind, addrs) in POOL {
        if rng.chance(20) {
            continue; // not present
        }
        let chosen: Vec<&str> = addrs.iter().copied().filter(|_| rng.chance(70)).collect();
        ifaces.push(iface(*index, name, *kind, rng.chance(80), &chosen));
    }
    observed(ifaces)
}

/// Foreign endpoints: some on pool addresses, some elsewhere, ids 200+.
fn gen_foreign(rng: &mut Rng) -> Vec<KernelEndpoint> {
    let mut out: Vec<KernelEndpoint> = Vec::new();
    for i in 0..rng.below(4) {
        let addr = if rng.chance(50) {
            let (index, _, _, addrs) = POOL[rng.below(POOL.len() as u64) as usize];
            (
                addrs[rng.below(addrs.len() as u64) as usize]
                    .split('/')
                    .next()
                    .unwrap_or_default(),
                index,
            )
        } else {
            (
                ["198.51.100.1", "198.51.100.2", "2001:db8:f::1"][i as usize % 3],
                9,
            )
        };
        if out.iter().all(|e| e.addr != ip(addr.0)) {
            out.push(kep(200 + i as u8, addr.0, addr.1, "signal"));
        }
    }
    out
}

fn state_of(actual: &Actual) -> BTreeMap<IpAddr, (u8, Option<u32>, EndpointFlags)> {
    actual
        .endpoints
        .iter()
        .map(|e| (e.addr, (e.id, e.ifindex, e.flags)))
        .collect()
}

#[test]
fn generated_states_converge_and_respect_ownership() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let policy = policy(POLICIES[rng.below(POLICIES.len() as u64) as usize]);
        let foreign = gen_foreign(&mut rng);
        let mut actual = Actual {
            endpoints: foreign.clone(),
            limits: if rng.chance(50) { None } else { LIMITS },
        };
        let mut own = Ownership::default();
        // Reach a realistic owned state from some earlier observation.
        let before = evaluate(&policy, &gen_observed(&mut rng), &fixed_now());
        let first = plan(&actual, &before, &own);
        apply(&mut actual, &mut own, &first.ops);
        assert!(
            plan(&actual, &before, &own).is_empty(),
            "round {round}: not converged after first apply"
        );

        // Something changes; plan, check invariants, apply, plan again.
        let now = evaluate(&policy, &gen_observed(&mut rng), &fixed_now());
        let old = state_of(&actual);
        let p = plan(&actual, &now, &own);
        for op in &p.ops {
            if let PmOp::DeleteEndpoint { id, .. } | PmOp::SetFlags { id, .. } = op {
                assert!(
                    own.owned.contains_key(id),
                    "round {round}: touches foreign id {id}"
                );
                assert!(
                    foreign.iter().all(|f| f.id != *id),
                    "round {round}: touches foreign id {id}"
                );
            }
        }
        let kinds: Vec<u8> = p
            .ops
            .iter()
            .map(|op| match op {
                PmOp::DeleteEndpoint { .. } => 0,
                PmOp::SetFlags { .. } => 1,
                PmOp::SetLimits(_) => 2,
                PmOp::AddEndpoint(_) => 3,
            })
            .collect();
        assert!(
            kinds.windows(2).all(|w| w[0] <= w[1]),
            "round {round}: op order {kinds:?}"
        );
        assert_eq!(p.foreign, {
            let mut f = foreign.clone();
            f.sort();
            f
        });

        apply(&mut actual, &mut own, &p.ops);
        let again = plan(&actual, &now, &own);
        assert!(
            again.is_empty(),
            "round {round}: second plan not empty: {:?}",
            texts(&again.ops)
        );
        assert!(actual.endpoints.len() <= MAX_ENDPOINTS);
        for f in &foreign {
            assert!(
                actual.endpoints.contains(f),
                "round {round}: foreign endpoint changed"
            );
        }
        // Every desired endpoint is present or blocked with a reason.
        for d in &now.endpoints {
            let present = actual
                .endpoints
                .iter()
                .any(|e| e.addr == d.addr && e.flags == d.flags && e.ifindex == Some(d.ifindex));
            let blocked = p.blocked.iter().any(|(b, _)| b == d);
            assert!(
                present != blocked,
                "round {round}: {} present={present} blocked={blocked}",
                d.addr
            );
        }
        // Endpoints still wanted on the same interface keep their id.
        let new = state_of(&actual);
        for (addr, (id, ifindex, flags)) in &old {
            if let Some((new_id, new_ifindex, new_flags)) = new.get(addr) {
                if ifindex == new_ifindex
                    && (flags.signal, flags.subflow) == (new_flags.signal, new_flags.subflow)
                {
                    assert_eq!(id, new_id, "round {round}: id of {addr} changed");
                }
            }
        }
    }
}

#[test]
fn after_link_down_the_first_op_deletes_the_dead_endpoint() {
    let mut rng = Rng(42);
    let p = policy(EXAMPLE);
    for round in 0..500 {
        let mut obs = gen_observed(&mut rng);
        let mut actual = Actual::default();
        let mut own = Ownership::default();
        let d = evaluate(&p, &obs, &fixed_now());
        let first = plan(&actual, &d, &own);
        apply(&mut actual, &mut own, &first.ops);
        // Take down an interface that has an endpoint.
        let Some(victim) = d.endpoints.first().map(|e| e.ifindex) else {
            continue;
        };
        let dead: Vec<IpAddr> = d
            .endpoints
            .iter()
            .filter(|e| e.ifindex == victim)
            .map(|e| e.addr)
            .collect();
        for i in &mut obs.interfaces {
            if i.index == victim {
                i.up = false;
            }
        }
        let after = plan(&actual, &evaluate(&p, &obs, &fixed_now()), &own);
        match after.ops.first() {
            Some(PmOp::DeleteEndpoint { addr, .. }) => {
                assert!(dead.contains(addr), "round {round}")
            }
            other => panic!("round {round}: first op {other:?}"),
        }
        let deleted = after
            .ops
            .iter()
            .filter(|op| matches!(op, PmOp::DeleteEndpoint { .. }))
            .count();
        assert_eq!(deleted, dead.len(), "round {round}");
    }
}
