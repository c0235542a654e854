//! The userspace path manager's decisions without a kernel: which events
//! start, change and end the tracking of a connection, when it is planned
//! again, what the plan asks for, and what a resync takes over or forgets.
//! Events and dumps are built here; that the commands work on the real
//! kernel is shown by `tests/e2e_userspace*.rs`.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mptcp_policy::{ConnOp, Mode, PathChoice, Policy, Role};
use mptcp_policy_netlink::diag::{flags, SubflowDiag};
use mptcp_policy_netlink::pm::{PmEvent, PmEventKind};

use super::UserspacePm;

const TOKEN: u32 = 0x1234;
const WIFI: &str = "10.1.0.2";
const LTE: &str = "10.2.0.2";
const SERVER: &str = "10.9.0.1:5201";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn event(kind: PmEventKind, local: &str, remote: &str) -> PmEvent {
    let (l, r) = (sa(local), sa(remote));
    let starts = matches!(kind, PmEventKind::Created | PmEventKind::Established);
    let mut e = PmEvent::new(kind);
    e.token = Some(TOKEN);
    e.saddr = Some(l.ip());
    e.sport = Some(l.port());
    e.daddr = Some(r.ip());
    e.dport = Some(r.port());
    if starts {
        e.server_side = Some(false);
        e.deny_join_id0 = Some(false);
    }
    e
}

fn policy(text: &str) -> Policy {
    Policy::parse("test.toml", text).expect("policy")
}

/// WiFi preferred, LTE backup by its role alone.
fn paths() -> Vec<PathChoice> {
    let path = |addr: &str, ifindex, name: &str, role| PathChoice {
        addr: ip(addr),
        ifindex,
        ifname: name.into(),
        role,
        degraded: false,
        rtt_us: None,
        promotable: true,
    };
    vec![
        path(WIFI, 2, "wlan0", Role::Preferred),
        path(LTE, 3, "wwan0", Role::Backup),
    ]
}

/// A tracked, established client connection over WiFi.
fn established(pm: &mut UserspacePm, p: &Policy) {
    let created = event(PmEventKind::Created, "10.1.0.2:40000", SERVER);
    assert_eq!(
        pm.on_event(&created, p),
        None,
        "not planned before established"
    );
    assert!(pm.plan(TOKEN, &paths()).is_none());
    let est = event(PmEventKind::Established, "10.1.0.2:40000", SERVER);
    assert_eq!(
        pm.on_event(&est, p),
        Some(TOKEN),
        "planned once established"
    );
}

fn creates(pm: &UserspacePm) -> Vec<(IpAddr, SocketAddr, bool)> {
    let plan = pm.plan(TOKEN, &paths()).expect("plan");
    plan.ops
        .iter()
        .filter_map(|op| match op {
            ConnOp::Create {
                local,
                remote,
                backup,
                ..
            } => Some((*local, *remote, *backup)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_established_connection_gets_its_backup_subflow() {
    let mut pm = UserspacePm::detached();
    let p = Policy::default();
    established(&mut pm, &p);
    let c = pm.get(TOKEN).expect("tracked");
    assert_eq!(c.mode, Mode::Handover, "the default mode");
    assert!(!c.by_rule);
    assert_eq!(creates(&pm), vec![(ip(LTE), sa(SERVER), true)]);
}

#[test]
fn a_rule_decides_the_mode_and_may_promote_the_backup_path() {
    let mut pm = UserspacePm::detached();
    let p = policy("[[rule]]\nremote_port = [5201]\nmode = \"aggregate\"\n");
    established(&mut pm, &p);
    let c = pm.get(TOKEN).expect("tracked");
    assert_eq!(c.mode, Mode::Aggregate);
    assert!(c.by_rule);
    let plan = pm.plan(TOKEN, &paths()).expect("plan");
    assert_eq!(plan.promoted, vec![ip(LTE)]);
    assert_eq!(creates(&pm), vec![(ip(LTE), sa(SERVER), false)]);
}

#[test]
fn a_lost_subflow_is_reopened_only_after_a_delay() {
    let mut pm = UserspacePm::detached();
    let p = Policy::default();
    established(&mut pm, &p);
    let joined = event(PmEventKind::SubEstablished, "10.2.0.2:40001", SERVER);
    assert_eq!(pm.on_event(&joined, &p), Some(TOKEN));
    assert!(creates(&pm).is_empty(), "LTE has its subflow");
    // The kernel closed it (we did not): no new one at once.
    let closed = event(PmEventKind::SubClosed, "10.2.0.2:40001", SERVER);
    assert_eq!(pm.on_event(&closed, &p), Some(TOKEN));
    assert!(creates(&pm).is_empty(), "reopened without a pause");
    assert!(pm.expire_pending(Instant::now()).is_empty());
    let later = Instant::now() + Duration::from_secs(2);
    assert_eq!(pm.expire_pending(later), vec![TOKEN]);
    assert_eq!(creates(&pm), vec![(ip(LTE), sa(SERVER), true)]);
}

#[test]
fn a_peer_forbidding_its_initial_address_gets_joins_only_where_it_announced() {
    let mut pm = UserspacePm::detached();
    let p = Policy::default();
    let mut est = event(PmEventKind::Established, "10.1.0.2:40000", SERVER);
    est.deny_join_id0 = Some(true);
    assert_eq!(pm.on_event(&est, &p), Some(TOKEN));
    let plan = pm.plan(TOKEN, &paths()).expect("plan");
    assert!(creates(&pm).is_empty(), "no join to the initial address");
    assert_eq!(plan.join_denied, vec![ip(LTE)]);
    // The peer announces another address: planned again, the join goes there.
    let mut ann = PmEvent::new(PmEventKind::Announced);
    ann.token = Some(TOKEN);
    ann.rem_id = Some(5);
    ann.daddr = Some(ip("10.2.0.1"));
    ann.dport = Some(5210);
    assert_eq!(pm.on_event(&ann, &p), Some(TOKEN));
    assert_eq!(creates(&pm), vec![(ip(LTE), sa("10.2.0.1:5210"), true)]);
    // Removed again: nowhere to go.
    let mut rm = PmEvent::new(PmEventKind::Removed);
    rm.token = Some(TOKEN);
    rm.rem_id = Some(5);
    pm.on_event(&rm, &p);
    assert!(creates(&pm).is_empty());
}

#[test]
fn closed_connections_are_forgotten() {
    let mut pm = UserspacePm::detached();
    let p = Policy::default();
    established(&mut pm, &p);
    let mut closed = PmEvent::new(PmEventKind::Closed);
    closed.token = Some(TOKEN);
    assert_eq!(pm.on_event(&closed, &p), None);
    assert!(pm.get(TOKEN).is_none());
    assert_eq!((pm.stats.connections, pm.stats.closed), (1, 1));
    // Events of a connection never seen created change nothing.
    let stray = event(PmEventKind::SubEstablished, "10.2.0.2:1", SERVER);
    assert_eq!(pm.on_event(&stray, &p), None);
    assert_eq!(pm.len(), 0);
}

#[test]
fn a_resync_takes_over_unknown_connections_and_forgets_gone_ones() {
    let mut pm = UserspacePm::detached();
    let p = Policy::default();
    established(&mut pm, &p);
    let other = 0x77;
    let dump = [SubflowDiag {
        token: Some(other),
        local: sa("10.1.0.2:41000"),
        remote: sa(SERVER),
        flags: flags::MCAP_LOC,
        state: 1,
        ..SubflowDiag::default()
    }];
    let live = BTreeSet::from([other]);
    let (taken, gone) = pm.resync(&dump, &live, &p, true);
    assert_eq!((taken, gone), (vec![other], vec![TOKEN]));
    assert!(pm.get(other).is_some_and(|c| !c.server_side));
    assert_eq!(pm.stats.resyncs, 1);
    assert_eq!(pm.stats.resync_found, 1);
    // A second resync with the same picture changes nothing.
    assert_eq!(pm.resync(&dump, &live, &p, false), (vec![], vec![]));
}

#[test]
fn address_ids_are_stable_and_the_lowest_free_one_is_used() {
    let mut pm = UserspacePm::detached();
    assert_eq!(pm.id_for(ip(WIFI)), 1);
    assert_eq!(pm.id_for(ip(LTE)), 2);
    assert_eq!(pm.id_for(ip(WIFI)), 1, "stable");
    pm.ids.remove(&ip(WIFI));
    assert_eq!(pm.id_for(ip("10.3.0.2")), 1, "the lowest free id");
}
