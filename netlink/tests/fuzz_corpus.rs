//! The fuzz corpora as regression tests: every file of
//! `fuzz/corpus/<target>/` (real kernel messages, recorded by
//! `scripts/fuzz-capture.sh`, plus inputs that once failed) through the
//! same function the libFuzzer target calls (`mptcp_policy_netlink::fuzz`).
//! Fails on an empty or missing corpus. No kernel needed.

#[path = "../../fuzz/corpus_runner.rs"]
mod corpus_runner;

use mptcp_policy_netlink::fuzz;

#[test]
fn pm_event_corpus() {
    corpus_runner::run("pm_event", fuzz::pm_event);
}

#[test]
fn pm_reply_corpus() {
    corpus_runner::run("pm_reply", fuzz::pm_reply);
}

#[test]
fn rtnetlink_corpus() {
    corpus_runner::run("rtnetlink", fuzz::rtnetlink);
}

#[test]
fn inet_diag_corpus() {
    corpus_runner::run("inet_diag", fuzz::inet_diag);
}

/// The recorded seeds still decode to what they were recorded from: the
/// corpora exercise the real paths, not only the error branches.
#[test]
fn seeds_decode_to_real_objects() {
    use mptcp_policy_netlink::diag::decode_inet_msg;
    use mptcp_policy_netlink::link::{decode_route_datagram, LinkEvent};
    use mptcp_policy_netlink::pm::{decode_event_datagram, decode_reply_datagram, endpoint_of};
    let read = |t: &str, f: &str| corpus_runner::read(t, f);

    let events = decode_event_datagram(0, &[]);
    assert!(events.is_empty());
    let ev = read("pm_event", "event-0");
    let family = u16::from_ne_bytes([ev[4], ev[5]]);
    let ev = decode_event_datagram(family, &ev);
    assert!(matches!(&ev[..], [Ok(e)] if e.token.is_some()), "{ev:?}");

    let dump = decode_reply_datagram(&read("pm_reply", "endpoint-dump-0")).expect("dump");
    let ep = endpoint_of(&dump[0]).expect("endpoint").expect("decodes");
    assert_eq!(ep.addr.to_string(), "10.0.2.1");
    let limits = decode_reply_datagram(&read("pm_reply", "limits-0")).expect("limits");
    assert_eq!(
        mptcp_policy_netlink::pm::limits_of(&limits)
            .expect("limits")
            .subflows,
        2
    );
    assert!(decode_reply_datagram(&read("pm_reply", "get-missing-0")).is_err());

    let now = std::time::Instant::now();
    let links = decode_route_datagram(&read("rtnetlink", "link-dump-0"), now).expect("links");
    assert!(links
        .iter()
        .any(|e| matches!(e, LinkEvent::Link { link, .. } if link.name == "lo")));
    let addrs = decode_route_datagram(&read("rtnetlink", "addr-dump-0"), now).expect("addrs");
    assert!(
        addrs
            .iter()
            .filter(|e| matches!(e, LinkEvent::Addr { .. }))
            .count()
            >= 3
    );

    let diag = read("inet_diag", "subflow-dump-0");
    let payload = diag.get(16..).expect("message");
    let sub = decode_inet_msg(payload).expect("decodes").expect("subflow");
    assert!(sub.token.is_some() && sub.tcp_info_len > 0, "{sub:?}");
}
