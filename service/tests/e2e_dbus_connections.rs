//! End-to-end: a real MPTCP connection in the testbed shows up on the bus
//! as an object and as signals — right token, addresses, the LTE subflow
//! flagged backup — within 100 ms, and disappears when it closes.

mod common;

use std::time::Duration;

use common::bus_env;
use common::*;
use futures::StreamExt;
use mptcp_policy_dbus::names::connection_path;
use mptcp_policy_dbus::names::BUS_NAME;
use mptcp_policy_dbus::records::ConnectionRecord;
use mptcp_policy_dbus::{
    introspection_xml, members, ConnectionProxy, DaemonSignal, ManagerProxy, Signal, SubflowInfo,
};
use mptcp_policy_tests::monotonic_us;
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{SERVER_V4, WLAN_V4, WWAN_V4};

#[derive(Debug, Default)]
struct Seen {
    token: Option<u32>,
    created_at: Option<u64>,
    object_ok: bool,
    lte_backup_subflow: Option<SubflowInfo>,
    closed: bool,
}

/// A live connection object: its introspection is the XML's
/// `org.mptcp.Policy1.Connection`, and `GetAll` gives every property of the
/// contract's record with the record's types.
async fn live_connection_is_the_record(conn: &zbus::Connection, token: u32) {
    let path = connection_path(token);
    let xml = zbus::fdo::IntrospectableProxy::builder(conn)
        .destination(BUS_NAME)
        .path(path.as_str())
        .build()
        .await
        .expect("proxy")
        .introspect()
        .await
        .expect("Introspect");
    let live = members(&xml).expect("live XML");
    let shipped = members(introspection_xml()).expect("shipped XML");
    assert_eq!(
        live.get(ConnectionRecord::INTERFACE),
        shipped.get(ConnectionRecord::INTERFACE)
    );
    let props = zbus::fdo::PropertiesProxy::builder(conn)
        .destination(BUS_NAME)
        .path(path.as_str())
        .build()
        .await
        .expect("proxy")
        .get_all(zbus::names::InterfaceName::try_from(ConnectionRecord::INTERFACE).expect("name"))
        .await
        .expect("GetAll");
    assert_eq!(ConnectionRecord::missing(&props), Vec::<&str>::new());
    let record = ConnectionRecord::from_props(&path, &props).expect("the record decodes");
    assert_eq!(record.token, token);
    assert_eq!(record.remote_address, SERVER_V4);
    assert!(record.opened_at_ms > 0, "{record:?}");
}

#[test]
fn a_connection_appears_as_object_and_signals_and_disappears() {
    let env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 1500,
        ..StreamSpec::default()
    };
    let (seen, run) = rt.block_on(async {
        let conn = env.bus.connect().await.expect("bus");
        let m = ManagerProxy::new(&conn).await.expect("proxy");
        let mut signals = m.inner().receive_all_signals().await.expect("subscribe");
        let run = StreamRun::start(&env.tb, &stream_bin(), &spec).expect("stream");
        let mut seen = Seen::default();
        let deadline = tokio::time::sleep(Duration::from_secs(15));
        tokio::pin!(deadline);
        while !seen.closed {
            let msg = tokio::select! {
                m = signals.next() => m.expect("signal stream"),
                _ = &mut deadline => panic!("timed out; seen {seen:?}\n{}", env.log()),
            };
            // The contract's decoder knows every live signal and its body.
            match DaemonSignal::decode(&msg) {
                Ok(Some(DaemonSignal::Manager(Signal::Unknown { member, signature }))) => {
                    panic!("signal {member} ({signature}) is not in the contract's enum")
                }
                Ok(_) => {}
                Err(e) => panic!("the contract cannot decode a live signal: {e}"),
            }
            let header = msg.header();
            let member = header.member().map(|m| m.to_string()).unwrap_or_default();
            match member.as_str() {
                "ConnectionCreated" => {
                    let (token, local, _lport, remote, rport): (u32, String, u16, String, u16) =
                        msg.body().deserialize().expect("body");
                    assert_eq!(
                        (local.as_str(), remote.as_str(), rport),
                        (WLAN_V4, SERVER_V4, spec.port)
                    );
                    seen.token = Some(token);
                    seen.created_at = Some(monotonic_us());
                    // The object is there when the signal is.
                    let c = ConnectionProxy::builder(&conn)
                        .path(connection_path(token))
                        .build()
                        .await
                        .expect("connection proxy");
                    assert_eq!(c.token().await.expect("Token"), token);
                    assert_eq!(c.remote_address().await.expect("RemoteAddress"), SERVER_V4);
                    assert_eq!(c.remote_port().await.expect("RemotePort"), spec.port);
                    assert!(!c.server_side().await.expect("ServerSide"));
                    seen.object_ok = true;
                }
                "SubflowEstablished" => {
                    let (token, sf): (u32, SubflowInfo) = msg.body().deserialize().expect("body");
                    if Some(token) == seen.token && sf.local_address == WWAN_V4 {
                        let c = ConnectionProxy::builder(&conn)
                            .path(connection_path(token))
                            .build()
                            .await
                            .expect("proxy");
                        let subflows = c.subflows().await.expect("Subflows");
                        assert!(
                            subflows
                                .iter()
                                .any(|s| s.local_address == WWAN_V4 && s.backup),
                            "{subflows:?}"
                        );
                        seen.lte_backup_subflow = Some(sf);
                        live_connection_is_the_record(&conn, token).await;
                    }
                }
                "ConnectionClosed" => {
                    let (token,): (u32,) = msg.body().deserialize().expect("body");
                    seen.closed = Some(token) == seen.token;
                }
                _ => {}
            }
        }
        let token = seen.token.expect("token");
        let gone = ConnectionProxy::builder(&conn)
            .path(connection_path(token))
            .build()
            .await
            .expect("proxy")
            .token()
            .await;
        assert!(gone.is_err(), "connection object still there after close");
        (seen, run)
    });
    let result = run.wait(Duration::from_secs(20)).expect("stream");
    result.check().expect("stream intact");
    let sf = seen.lte_backup_subflow.expect("LTE subflow signal");
    assert!(sf.backup && sf.interface == "wwan0", "{sf:?}");
    assert!(seen.object_ok);
    let first_read = result.receiver.reads.first().expect("data").0;
    let created = seen.created_at.expect("created");
    println!(
        "ConnectionCreated seen {:.1} ms before the first byte reached the server",
        (first_read as f64 - created as f64) / 1000.0
    );
    assert!(
        created <= first_read + 100_000,
        "the signal came more than 100 ms after the connection carried data"
    );
}

#[test]
fn budget_warning_and_exhaustion_are_signalled_once() {
    let env = bus_env::start(WIFI_FIRST).expect("env");
    wait_endpoints(&env.tb, "both endpoints", |eps| eps.len() == 2).expect("endpoints");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let signals: Vec<(String, String, u64, u64)> = rt.block_on(async {
        let conn = env.bus.connect().await.expect("bus");
        let m = ManagerProxy::new(&conn).await.expect("proxy");
        let mut signals = m.inner().receive_all_signals().await.expect("subscribe");
        // Preferred: spending the budget demotes it, so its counters are
        // read while traffic could reach that (mptcp_policy::schedule).
        m.set_interface_role("wwan0", "preferred")
            .await
            .expect("SetInterfaceRole");
        // 200 kB; SetBudget warns at 80 % by default.
        m.set_budget("wwan0", 200_000, "monthly")
            .await
            .expect("SetBudget");
        let ns = env.tb.client_ns().to_string();
        // ~300 kB each way over wwan0.
        tokio::task::spawn_blocking(move || {
            mptcp_policy_tests::ns_exec(
                &ns,
                "ping",
                &[
                    "-q", "-c", "150", "-i", "0.002", "-s", "1000", "-I", WWAN_V4, SERVER_V4,
                ],
            )
        })
        .await
        .expect("join")
        .expect("ping");
        let mut got = Vec::new();
        let deadline = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(deadline);
        loop {
            let msg = tokio::select! {
                m = signals.next() => m.expect("signal stream"),
                _ = &mut deadline => break,
            };
            let header = msg.header();
            let member = header.member().map(|m| m.to_string()).unwrap_or_default();
            if member.starts_with("Budget") {
                let (iface, used, budget): (String, u64, u64) =
                    msg.body().deserialize().expect("body");
                got.push((member, iface, used, budget));
            }
        }
        got
    });
    let names: Vec<&str> = signals.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["BudgetWarning", "BudgetExhausted"],
        "{signals:?}\n{}",
        env.log()
    );
    assert!(
        signals.iter().all(|s| s.1 == "wwan0" && s.3 == 200_000),
        "{signals:?}"
    );
    assert!(
        signals[0].2 >= 160_000 && signals[1].2 >= 200_000,
        "{signals:?}"
    );
    assert!(
        env.log()
            .contains("wwan0: budget of 200000 bytes exhausted"),
        "{}",
        env.log()
    );
}

#[test]
fn usage_changes_are_published_at_most_once_a_second() {
    let env = bus_env::start(WIFI_FIRST).expect("env");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (changes, secs) = rt.block_on(async {
        let conn = env.bus.connect().await.expect("bus");
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.DBus.Properties")
            .member("PropertiesChanged")
            .path(mptcp_policy_dbus::names::interface_path("wwan0"))
            .build()
            .expect("match rule");
        // Counters are read only while something needs them: a budget
        // whose spending would demote the (preferred) link.
        let m = ManagerProxy::new(&conn).await.expect("proxy");
        m.set_interface_role("wwan0", "preferred").await.expect("SetInterfaceRole");
        m.set_budget("wwan0", 1 << 30, "monthly").await.expect("SetBudget");
        let mut stream = zbus::MessageStream::for_match_rule(rule, &conn, None).await.expect("match");
        let ns = env.tb.client_ns().to_string();
        let start = std::time::Instant::now();
        // ~3.5 s of steady traffic over wwan0.
        let ping = tokio::task::spawn_blocking(move || {
            mptcp_policy_tests::ns_exec(&ns, "ping", &["-q", "-c", "700", "-i", "0.005", "-s", "500", "-I", WWAN_V4, SERVER_V4])
        });
        let mut changes = 0u32;
        let deadline = tokio::time::sleep(Duration::from_millis(3500));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                m = stream.next() => {
                    let msg = m.expect("stream").expect("message");
                    let (_, changed, _): (String, std::collections::HashMap<String, zbus::OwnedVariant>, Vec<String>) =
                        msg.body().deserialize().expect("body");
                    if changed.contains_key("BytesUsed") {
                        changes += 1;
                    }
                }
                _ = &mut deadline => break,
            }
        }
        // The window counted, not the ping's total run time.
        let window = start.elapsed().as_secs_f64();
        ping.await.expect("join").expect("ping");
        (changes, window)
    });
    println!("{changes} BytesUsed changes in a {secs:.1} s window of traffic");
    assert!(changes >= 2, "usage not published while data flows");
    assert!(
        f64::from(changes) <= secs.ceil() + 1.0,
        "{changes} changes in {secs:.1} s"
    );
}
