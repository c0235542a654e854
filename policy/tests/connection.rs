//! `plan_connection`: table-driven — paths allowed, the connection's
//! subflows and mode → the subflows it should have and the commands.

use std::net::{IpAddr, SocketAddr};

use mptcp_policy::{
    plan_connection, ConnFacts, ConnOp, ConnSnapshot, ConnSubflow, Mode, PathChoice, Policy, Role,
};

const WLAN: &str = "10.1.0.2";
const WWAN: &str = "10.2.0.2";
const ETH: &str = "10.3.0.2";
const SERVER: &str = "10.9.0.1:5201";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// `name:role[:rtt_ms][:degraded]`, e.g. `wlan:p:10`, `wwan:b:40`. Roles:
/// `p` preferred, `b` backup by its entry (a rule may promote it), `s`
/// backup because its budget is spent (never promoted).
fn path(spec: &str) -> PathChoice {
    let parts: Vec<&str> = spec.split(':').collect();
    let (addr, ifindex) = match parts[0] {
        "wlan" => (WLAN, 2),
        "wwan" => (WWAN, 3),
        "eth" => (ETH, 4),
        other => panic!("unknown path {other}"),
    };
    PathChoice {
        addr: ip(addr),
        ifindex,
        ifname: parts[0].into(),
        role: if parts[1] == "p" {
            Role::Preferred
        } else {
            Role::Backup
        },
        promotable: parts[1] == "b",
        rtt_us: parts
            .get(2)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u32>().expect("rtt") * 1000),
        degraded: parts.get(3) == Some(&"degraded"),
    }
}

/// `name` (active) or `name!` (backup): a subflow from that path to SERVER.
fn subflow(spec: &str) -> ConnSubflow {
    let (name, backup) = match spec.strip_suffix('!') {
        Some(n) => (n, true),
        None => (spec, false),
    };
    let addr = match name {
        "wlan" => WLAN,
        "wwan" => WWAN,
        "eth" => ETH,
        other => panic!("unknown path {other}"),
    };
    ConnSubflow {
        local: SocketAddr::new(ip(addr), 40000),
        remote: sa(SERVER),
        backup,
    }
}

/// Ops as short strings: `destroy wlan`, `backup wwan`, `active wwan`,
/// `create wwan backup`, `create eth active`, `announce wwan`, `withdraw eth`.
fn describe(op: &ConnOp) -> String {
    let name = |a: IpAddr| match a.to_string().as_str() {
        WLAN => "wlan",
        WWAN => "wwan",
        ETH => "eth",
        _ => "?",
    };
    match op {
        ConnOp::Destroy { local, .. } => format!("destroy {}", name(local.ip())),
        ConnOp::SetBackup { local, backup, .. } => format!(
            "{} {}",
            if *backup { "backup" } else { "active" },
            name(local.ip())
        ),
        ConnOp::Create {
            local,
            backup,
            remote,
            ..
        } => format!(
            "create {} {}{}",
            name(*local),
            if *backup { "backup" } else { "active" },
            if remote.to_string() == SERVER {
                String::new()
            } else {
                format!(" to {remote}")
            }
        ),
        ConnOp::Announce { addr, .. } => format!("announce {}", name(*addr)),
        ConnOp::Withdraw { addr } => format!("withdraw {}", name(*addr)),
    }
}

struct Case {
    what: &'static str,
    mode: Mode,
    server_side: bool,
    paths: &'static [&'static str],
    subflows: &'static [&'static str],
    pending: &'static [&'static str],
    announced: &'static [&'static str],
    active: &'static [&'static str],
    ops: &'static [&'static str],
    /// The mode comes from a `[[rule]]`.
    by_rule: bool,
    /// Paths a rule made active although their role is backup.
    promoted: &'static [&'static str],
    /// The peer forbids joins to its initial address.
    deny_join_initial: bool,
    /// Addresses the peer announced (`ip:port`, port 0 = the initial one).
    peer_addrs: &'static [&'static str],
    /// Paths held back because the peer allows no join address.
    join_denied: &'static [&'static str],
}

const BASE: Case = Case {
    what: "",
    mode: Mode::Handover,
    server_side: false,
    paths: &[],
    subflows: &[],
    pending: &[],
    announced: &[],
    active: &[],
    ops: &[],
    by_rule: false,
    promoted: &[],
    deny_join_initial: false,
    peer_addrs: &[],
    join_denied: &[],
};

fn run(c: &Case) {
    let subflows: Vec<ConnSubflow> = c.subflows.iter().map(|s| subflow(s)).collect();
    let to_ip = |n: &&str| match *n {
        "wlan" => ip(WLAN),
        "wwan" => ip(WWAN),
        "eth" => ip(ETH),
        other => panic!("unknown {other}"),
    };
    let pending: Vec<IpAddr> = c.pending.iter().map(to_ip).collect();
    let announced: Vec<IpAddr> = c.announced.iter().map(to_ip).collect();
    let paths: Vec<PathChoice> = c.paths.iter().map(|p| path(p)).collect();
    let peer_addrs: Vec<SocketAddr> = c.peer_addrs.iter().map(|a| sa(a)).collect();
    let snap = ConnSnapshot {
        server_side: c.server_side,
        remote: sa(SERVER),
        subflows: &subflows,
        pending: &pending,
        announced: &announced,
        by_rule: c.by_rule,
        deny_join_initial: c.deny_join_initial,
        peer_addrs: &peer_addrs,
    };
    let plan = plan_connection(c.mode, &snap, &paths);
    let active: Vec<IpAddr> = c.active.iter().map(to_ip).collect();
    assert_eq!(plan.active, active, "{}: active paths", c.what);
    let promoted: Vec<IpAddr> = c.promoted.iter().map(to_ip).collect();
    assert_eq!(plan.promoted, promoted, "{}: promoted paths", c.what);
    let denied: Vec<IpAddr> = c.join_denied.iter().map(to_ip).collect();
    assert_eq!(plan.join_denied, denied, "{}: paths held back", c.what);
    let ops: Vec<String> = plan.ops.iter().map(describe).collect();
    assert_eq!(ops, c.ops, "{}: commands", c.what);
}

#[test]
fn handover_keeps_one_active_path_and_backups_ready() {
    for c in [
        Case {
            what: "new client connection on WiFi: LTE joins as backup ahead of need",
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            active: &["wlan"],
            ops: &["create wwan backup"],
            ..BASE
        },
        Case {
            what: "two preferred paths: only the first carries data",
            paths: &["eth:p", "wlan:p", "wwan:b"],
            subflows: &["wlan"],
            active: &["eth"],
            ops: &["backup wlan", "create eth active", "create wwan backup"],
            ..BASE
        },
        Case {
            what: "WiFi went away: its subflow closes first, LTE turns active",
            paths: &["wwan:b"],
            subflows: &["wlan", "wwan!"],
            active: &["wwan"],
            ops: &["destroy wlan", "active wwan"],
            ..BASE
        },
        Case {
            what: "WiFi back: LTE returns to backup, a WiFi subflow is made",
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wwan"],
            active: &["wlan"],
            ops: &["backup wwan", "create wlan active"],
            ..BASE
        },
        Case {
            what: "steady state: nothing to send",
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan", "wwan!"],
            active: &["wlan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "a create already asked for is not repeated",
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            pending: &["wwan"],
            active: &["wlan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "the only subflow is on a dead path: make before break",
            paths: &["wwan:b"],
            subflows: &["wlan"],
            active: &["wwan"],
            ops: &["create wwan active"],
            ..BASE
        },
        Case {
            what: "no path allowed at all: the connection is left as it is",
            paths: &[],
            subflows: &["wlan", "wwan!"],
            active: &[],
            ops: &[],
            ..BASE
        },
        Case {
            what: "LTE turned off by policy (budget spent): its subflow goes",
            paths: &["wlan:p"],
            subflows: &["wlan", "wwan!"],
            active: &["wlan"],
            ops: &["destroy wwan"],
            ..BASE
        },
    ] {
        run(&c);
    }
}

#[test]
fn aggregate_uses_every_allowed_path_within_roles() {
    for c in [
        Case {
            what: "two preferred paths both carry data",
            mode: Mode::Aggregate,
            paths: &["wlan:p", "wwan:p"],
            subflows: &["wlan"],
            active: &["wlan", "wwan"],
            ops: &["create wwan active"],
            ..BASE
        },
        Case {
            what: "default_mode aggregate: a backup interface stays backup (its role decides)",
            mode: Mode::Aggregate,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            active: &["wlan"],
            ops: &["create wwan backup"],
            ..BASE
        },
        Case {
            what: "a backup subflow turns active when its interface is preferred",
            mode: Mode::Aggregate,
            paths: &["wlan:p", "wwan:p"],
            subflows: &["wlan", "wwan!"],
            active: &["wlan", "wwan"],
            ops: &["active wwan"],
            ..BASE
        },
    ] {
        run(&c);
    }
}

#[test]
fn a_rule_mode_may_promote_backup_paths_within_off_and_budgets() {
    for c in [
        Case {
            what: "[[rule]] aggregate: the backup interface joins active",
            mode: Mode::Aggregate,
            by_rule: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            active: &["wlan", "wwan"],
            promoted: &["wwan"],
            ops: &["create wwan active"],
            ..BASE
        },
        Case {
            what: "[[rule]] aggregate: an existing backup subflow turns active",
            mode: Mode::Aggregate,
            by_rule: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan", "wwan!"],
            active: &["wlan", "wwan"],
            promoted: &["wwan"],
            ops: &["active wwan"],
            ..BASE
        },
        Case {
            what: "[[rule]] aggregate: a path backup by its spent budget stays backup",
            mode: Mode::Aggregate,
            by_rule: true,
            paths: &["wlan:p", "wwan:s"],
            subflows: &["wlan", "wwan"],
            active: &["wlan"],
            ops: &["backup wwan"],
            ..BASE
        },
        Case {
            what: "[[rule]] aggregate: an off (or exhausted to off) path is not used",
            mode: Mode::Aggregate,
            by_rule: true,
            paths: &["wlan:p"],
            subflows: &["wlan", "wwan"],
            active: &["wlan"],
            ops: &["destroy wwan"],
            ..BASE
        },
        Case {
            what: "[[rule]] aggregate with only backup paths: they stand in, none 'promoted'",
            mode: Mode::Aggregate,
            by_rule: true,
            paths: &["wwan:b", "eth:s"],
            subflows: &["wwan"],
            active: &["wwan", "eth"],
            ops: &["create eth active"],
            ..BASE
        },
        Case {
            what: "[[rule]] handover: one active path, the backup interface stays backup",
            mode: Mode::Handover,
            by_rule: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            active: &["wlan"],
            ops: &["create wwan backup"],
            ..BASE
        },
        Case {
            what: "[[rule]] interactive: a faster backup path carries data, WiFi backup",
            mode: Mode::Interactive,
            by_rule: true,
            paths: &["wlan:p:60", "wwan:b:20"],
            subflows: &["wlan", "wwan!"],
            active: &["wwan"],
            promoted: &["wwan"],
            ops: &["backup wlan", "active wwan"],
            ..BASE
        },
        Case {
            what: "[[rule]] interactive: a slower backup path stays backup",
            mode: Mode::Interactive,
            by_rule: true,
            paths: &["wlan:p:10", "wwan:b:40"],
            subflows: &["wlan", "wwan!"],
            active: &["wlan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "[[rule]] interactive: a spent budget bounds it even when faster",
            mode: Mode::Interactive,
            by_rule: true,
            paths: &["wlan:p:60", "wwan:s:20"],
            subflows: &["wlan", "wwan!"],
            active: &["wlan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "default_mode interactive: the role decides, the faster backup stays backup",
            mode: Mode::Interactive,
            paths: &["wlan:p:60", "wwan:b:20"],
            subflows: &["wlan", "wwan!"],
            active: &["wlan"],
            ops: &[],
            ..BASE
        },
    ] {
        run(&c);
    }
}

#[test]
fn a_peer_forbidding_joins_to_its_initial_address_gets_none() {
    for c in [
        Case {
            what: "C flag, nothing announced: no join is sent, LTE is held back",
            deny_join_initial: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            active: &["wlan"],
            join_denied: &["wwan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "C flag, an address announced: the join goes there (initial port)",
            deny_join_initial: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            peer_addrs: &["10.2.0.1:0"],
            active: &["wlan"],
            ops: &["create wwan backup to 10.2.0.1:5201"],
            ..BASE
        },
        Case {
            what: "C flag, announced with a port: that port",
            deny_join_initial: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            peer_addrs: &["10.2.0.1:6000"],
            active: &["wlan"],
            ops: &["create wwan backup to 10.2.0.1:6000"],
            ..BASE
        },
        Case {
            what: "C flag, only an address of the other family announced: held back",
            deny_join_initial: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            peer_addrs: &["[fd00:2::1]:0"],
            active: &["wlan"],
            join_denied: &["wwan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "no C flag: joins go to the initial address as before",
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            peer_addrs: &["10.2.0.1:0"],
            active: &["wlan"],
            ops: &["create wwan backup"],
            ..BASE
        },
        Case {
            what: "C flag, WiFi gone: make-before-break is impossible, the subflow stays",
            deny_join_initial: true,
            paths: &["wwan:b"],
            subflows: &["wlan"],
            active: &["wwan"],
            join_denied: &["wwan"],
            ops: &[],
            ..BASE
        },
    ] {
        run(&c);
    }
}

#[test]
fn interactive_takes_the_lowest_delay_and_leaves_a_degrading_path() {
    for c in [
        Case {
            what: "the faster preferred path carries data",
            mode: Mode::Interactive,
            paths: &["wlan:p:30", "eth:p:5", "wwan:b:40"],
            subflows: &["wlan", "eth!", "wwan!"],
            active: &["eth"],
            ops: &["backup wlan", "active eth"],
            ..BASE
        },
        Case {
            what: "a path only a little faster does not steal it (no flapping)",
            mode: Mode::Interactive,
            paths: &["wlan:p:10", "eth:p:9", "wwan:b:40"],
            subflows: &["wlan", "eth!", "wwan!"],
            active: &["wlan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "the active path degrades: the other preferred path takes over",
            mode: Mode::Interactive,
            paths: &["wlan:p:10:degraded", "eth:p:30", "wwan:b:40"],
            subflows: &["wlan", "eth!", "wwan!"],
            active: &["eth"],
            ops: &["backup wlan", "active eth"],
            ..BASE
        },
        Case {
            what: "the only preferred path degrades: it stays (backups are for when it fails)",
            mode: Mode::Interactive,
            paths: &["wlan:p:10:degraded", "wwan:b:40"],
            subflows: &["wlan", "wwan!"],
            active: &["wlan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "no RTT known yet: rank order decides",
            mode: Mode::Interactive,
            paths: &["wlan:p", "eth:p", "wwan:b"],
            subflows: &["wlan"],
            active: &["wlan"],
            ops: &["create eth backup", "create wwan backup"],
            ..BASE
        },
    ] {
        run(&c);
    }
}

#[test]
fn server_side_announces_instead_of_connecting() {
    for c in [
        Case {
            what: "accepted on WiFi: LTE is announced, no subflow is opened",
            server_side: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            active: &["wlan"],
            ops: &["announce wwan"],
            ..BASE
        },
        Case {
            what: "announced once only",
            server_side: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan"],
            announced: &["wwan"],
            active: &["wlan"],
            ops: &[],
            ..BASE
        },
        Case {
            what: "the peer's join on LTE is flagged backup",
            server_side: true,
            paths: &["wlan:p", "wwan:b"],
            subflows: &["wlan", "wwan"],
            announced: &["wwan"],
            active: &["wlan"],
            ops: &["backup wwan"],
            ..BASE
        },
        Case {
            what: "an announced path going away is withdrawn",
            server_side: true,
            paths: &["wlan:p"],
            subflows: &["wlan"],
            announced: &["wwan"],
            active: &["wlan"],
            ops: &["withdraw wwan"],
            ..BASE
        },
    ] {
        run(&c);
    }
}

#[test]
fn paths_of_the_other_address_family_are_not_used() {
    let paths = vec![PathChoice {
        addr: ip("fd00:1::2"),
        ifindex: 2,
        ifname: "wlan".into(),
        role: Role::Preferred,
        degraded: false,
        rtt_us: None,
        promotable: false,
    }];
    let subflows = [subflow("wlan")];
    let snap = ConnSnapshot {
        server_side: false,
        remote: sa(SERVER),
        subflows: &subflows,
        pending: &[],
        announced: &[],
        by_rule: true,
        deny_join_initial: false,
        peer_addrs: &[],
    };
    let plan = plan_connection(Mode::Aggregate, &snap, &paths);
    assert!(plan.ops.is_empty() && plan.active.is_empty(), "{plan:?}");
}

#[test]
fn rules_pick_the_mode_first_match_wins_default_covers_the_rest() {
    let p = Policy::parse(
        "rules.toml",
        r#"
        [general]
        path_manager = "userspace"
        default_mode = "interactive"

        [[rule]]
        remote_port = [443]
        uid = [1000]
        mode = "aggregate"

        [[rule]]
        remote_port = [443]
        mode = "handover"

        [[rule]]
        cgroup = ["/system.slice/backup.service"]
        mode = "aggregate"

        [[rule]]
        remote_prefix = ["10.9.0.0/16"]
        local_port = [8080]
        mode = "handover"
        "#,
    )
    .expect("parses");
    let facts = |port: u16, local: u16, uid: Option<u32>, cg: Option<&str>| ConnFacts {
        remote: ip("10.9.0.1"),
        remote_port: port,
        local_port: local,
        uid,
        cgroup: cg.map(String::from),
    };
    let table: &[(ConnFacts, Mode, Option<usize>)] = &[
        (facts(443, 4000, Some(1000), None), Mode::Aggregate, Some(0)),
        (facts(443, 4000, Some(1001), None), Mode::Handover, Some(1)),
        (facts(443, 4000, None, None), Mode::Handover, Some(1)),
        (
            facts(80, 4000, None, Some("/system.slice/backup.service")),
            Mode::Aggregate,
            Some(2),
        ),
        (
            facts(80, 4000, None, Some("/system.slice/backup.service/worker")),
            Mode::Aggregate,
            Some(2),
        ),
        (
            facts(80, 4000, None, Some("/system.slice/backup.service2")),
            Mode::Interactive,
            None,
        ),
        (facts(80, 8080, None, None), Mode::Handover, Some(3)),
        (facts(80, 4000, Some(0), None), Mode::Interactive, None),
    ];
    for (f, mode, rule) in table {
        let m = p.rule_for(f);
        assert_eq!((m.mode, m.rule), (*mode, *rule), "{f:?}");
    }
    assert!(p.rules_need_owner());
    assert_eq!(
        p.describe_rule_match(&p.rule_for(&table[0].0)),
        "[[rule]] #1 (remote_port = [443], uid = [1000])"
    );
    let written = p.to_toml();
    assert_eq!(Policy::parse("again.toml", &written), Ok(p), "{written}");
}

#[test]
fn bad_cgroups_and_modes_are_named() {
    for (text, needle) in [
        (
            "[[rule]]\ncgroup = [\"system.slice\"]\nmode = \"handover\"\n",
            "must be an absolute cgroup v2 path",
        ),
        (
            "[[rule]]\ncgroup = [\"/a/../b\"]\nmode = \"handover\"\n",
            "must not contain . or ..",
        ),
        ("[general]\ndefault_mode = \"fast\"\n", "default"),
    ] {
        let errs = Policy::parse("bad.toml", text).expect_err(text);
        let msg = errs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            msg.contains(needle) || msg.contains("mode"),
            "{text}: {msg}"
        );
        assert!(msg.contains("bad.toml:"), "{msg}");
    }
}
