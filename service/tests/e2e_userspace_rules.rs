//! End-to-end with the userspace path manager, on the real kernel:
//! - a `[[rule]]`'s `aggregate` mode makes a `backup` interface carry data
//!   for its own connections, while a `handover` connection beside it keeps
//!   LTE as backup (issue 13 item 7);
//! - a server that forbids joins to its initial address (RFC 8684
//!   MP_CAPABLE "C" flag, `net.mptcp.allow_join_initial_addr_port = 0`)
//!   gets no MP_JOIN there, only towards an address it announces, and the
//!   connection object says why it cannot move (item 8).

mod common;

use std::time::Duration;

use anyhow::{Context, Result};
use common::mptcp_ss::*;
use common::*;
use mptcp_policy_tests::stream::{Direction, StreamRun, StreamSpec};
use mptcp_policy_tests::testbed::{SERVER_V4, WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{ip, ns_exec, Testbed, TestbedOpts};

/// WiFi preferred, LTE backup; port 5201 aggregate and 5202 handover by rule.
const BACKUP_LTE_RULES: &str = r#"
[general]
path_manager = "userspace"

[[interface]]
name = "wlan0"
role = "preferred"

[[interface]]
name = "wwan0"
role = "backup"

[[rule]]
remote_port = [5201]
mode = "aggregate"

[[rule]]
remote_port = [5202]
mode = "handover"
"#;

/// WiFi preferred, LTE backup, every connection handover (the default).
const WIFI_FIRST_USERSPACE: &str = r#"
[general]
path_manager = "userspace"

[[interface]]
name = "wlan0"
role = "preferred"

[[interface]]
name = "wwan0"
role = "backup"
"#;

/// A property of a connection object, as busctl prints it.
fn conn_prop(env: &bus_env::BusEnv, token: u32, name: &str) -> Result<String> {
    let path = format!("/org/mptcp/Policy1/connection/{token}");
    env.bus.busctl(&[
        "get-property",
        "org.mptcp.Policy1",
        &path,
        "org.mptcp.Policy1.Connection",
        name,
    ])
}

fn to_port(sf: &Sf, port: u16) -> bool {
    sf.remote.ends_with(&format!(":{port}"))
}

#[test]
fn a_rule_makes_the_backup_path_carry_data_for_its_connections_only() {
    let env = bus_env::start_with(
        BACKUP_LTE_RULES,
        TestbedOpts {
            ipv6: false,
            // WiFi capped below what the streams want: LTE has room to add.
            wifi_rate_kbit: Some(8_000),
            lte_rate_kbit: Some(8_000),
            ..TestbedOpts::default()
        },
    )
    .expect("daemon on a private bus");
    let tb = &env.tb;
    // aggregate ~16 Mbit/s, more than WiFi's 8; handover ~3 Mbit/s
    let spec = |port, interval_us| StreamSpec {
        direction: Direction::Upload,
        duration_ms: 6000,
        chunk: 4096,
        interval_us,
        port,
        ..StreamSpec::default()
    };
    let aggregate = StreamRun::start(tb, &stream_bin(), &spec(5201, 2000)).expect("stream 5201");
    let handover = StreamRun::start(tb, &stream_bin(), &spec(5202, 10_000)).expect("stream 5202");

    // Outcome to wait for: the aggregate connection's LTE subflow carried
    // half a megabyte (it could not while flagged backup with WiFi up).
    let fail = |e: anyhow::Error| -> ! {
        panic!(
            "{e}\nsubflows: {:#?}\ndaemon log:\n{}",
            ss_subflows(tb),
            env.log()
        )
    };
    let sfs = wait_until(
        "the aggregate connection's LTE subflow to carry 500 kB",
        Duration::from_secs(10),
        || {
            let sfs = ss_subflows(tb)?;
            let lte = sfs
                .iter()
                .find(|s| to_port(s, 5201) && on(s, WWAN_V4))
                .map_or(0, |s| s.bytes_acked);
            let handover_lte = sfs.iter().any(|s| to_port(s, 5202) && on(s, WWAN_V4));
            Ok((lte > 500_000 && handover_lte).then_some(sfs))
        },
    )
    .unwrap_or_else(|e| fail(e));
    let find = |port, addr| {
        sfs.iter()
            .find(|s| to_port(s, port) && on(s, addr))
            .unwrap_or_else(|| panic!("subflow {addr} -> :{port} in {sfs:#?}"))
    };
    let (agg_wlan, agg_wwan) = (find(5201, WLAN_V4), find(5201, WWAN_V4));
    let (ho_wlan, ho_wwan) = (find(5202, WLAN_V4), find(5202, WWAN_V4));
    println!(
        "bytes acked: aggregate wlan0 {} wwan0 {}; handover wlan0 {} wwan0 {}",
        agg_wlan.bytes_acked, agg_wwan.bytes_acked, ho_wlan.bytes_acked, ho_wwan.bytes_acked
    );
    assert!(
        !agg_wlan.backup_local && !agg_wwan.backup_local,
        "aggregate by rule: both subflows active in the kernel: {sfs:#?}"
    );
    assert!(
        agg_wlan.bytes_acked > 100_000,
        "aggregate: bytes over WiFi too: {sfs:#?}"
    );
    assert!(
        !ho_wlan.backup_local && ho_wwan.backup_local,
        "handover beside it: WiFi active, LTE kept as backup: {sfs:#?}"
    );
    assert!(
        ho_wwan.bytes_acked < ho_wlan.bytes_acked / 10,
        "handover: the backup subflow carries (almost) nothing: {sfs:#?}"
    );

    // The connection objects and the log say which path a rule promoted.
    let promoted = conn_prop(&env, agg_wwan.token, "Promoted").expect("Promoted");
    assert_eq!(promoted.trim(), r#"as 1 "wwan0""#, "aggregate connection");
    let promoted = conn_prop(&env, ho_wwan.token, "Promoted").expect("Promoted");
    assert_eq!(promoted.trim(), "as 0", "handover connection");
    let log = env.log();
    let line = "(aggregate): wwan0 carries data although its role is backup: promoted by [[rule]] #1 (remote_port = [5201])";
    assert_eq!(log.matches(line).count(), 1, "{log}");
    assert!(
        !log.contains("(handover): wwan0 carries data"),
        "no promotion for the handover connection: {log}"
    );

    for run in [aggregate, handover] {
        run.wait(Duration::from_secs(30))
            .expect("stream finished")
            .check()
            .expect("no error, nothing lost");
    }
}

/// `MPTcpExt` counter `name` of `ns` (`/proc/net/netstat`, as `nstat` reads it).
fn mptcp_counter(ns: &str, name: &str) -> Result<u64> {
    let text = ns_exec(ns, "cat", &["/proc/net/netstat"])?;
    let rows: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("MPTcpExt:"))
        .collect();
    let (names, values) = match rows.as_slice() {
        [n, v] => (n.split_whitespace(), v.split_whitespace()),
        _ => anyhow::bail!("no MPTcpExt rows in /proc/net/netstat of {ns}"),
    };
    names
        .zip(values)
        .find(|(n, _)| *n == name)
        .with_context(|| format!("{name} not in MPTcpExt"))?
        .1
        .parse()
        .context("counter value")
}

/// Counts MP_JOIN SYNs that reach the server's initial address (nftables
/// in the server namespace; the table goes with it).
fn count_joins_to_initial_address(tb: &Testbed) -> Result<()> {
    let ns = tb.server_ns();
    ns_exec(ns, "nft", &["add", "table", "inet", "joins"])?;
    ns_exec(
        ns,
        "nft",
        &["add chain inet joins input { type filter hook input priority 0 ; }"],
    )?;
    let rule = format!(
        "add rule inet joins input ip daddr {SERVER_V4} tcp flags & (syn | ack) == syn \
         tcp option mptcp subtype 1 counter"
    );
    ns_exec(ns, "nft", &[&rule])?;
    Ok(())
}

fn joins_to_initial_address(tb: &Testbed) -> Result<u64> {
    let out = ns_exec(tb.server_ns(), "nft", &["list", "table", "inet", "joins"])?;
    out.split_whitespace()
        .skip_while(|w| *w != "packets")
        .nth(1)
        .context("nft counter")?
        .parse()
        .context("nft packets")
}

#[test]
fn no_join_goes_to_the_initial_address_of_a_peer_that_forbids_it() {
    let env = bus_env::start_with(
        WIFI_FIRST_USERSPACE,
        TestbedOpts {
            ipv6: false,
            ..TestbedOpts::default()
        },
    )
    .expect("daemon on a private bus");
    let tb = &env.tb;
    let server = tb.server_ns();
    ns_exec(
        server,
        "sysctl",
        &["-q", "-w", "net.mptcp.allow_join_initial_addr_port=0"],
    )
    .expect("sysctl");
    count_joins_to_initial_address(tb).expect("nft counter");
    assert_eq!(mptcp_counter(server, "MPJoinSynRx").expect("nstat"), 0);

    let spec = StreamSpec {
        direction: Direction::Upload,
        duration_ms: 8000,
        ..StreamSpec::default()
    };
    let run = StreamRun::start(tb, &stream_bin(), &spec).expect("stream");
    let fail = |e: anyhow::Error| -> ! {
        panic!(
            "{e}\nsubflows: {:#?}\njoin SYNs: {:?}\ndaemon log:\n{}",
            ss_subflows(tb),
            mptcp_counter(server, "MPJoinSynRx"),
            env.log()
        )
    };
    // The daemon planned the connection (WiFi active, LTE wanted as
    // backup) and says why LTE cannot join.
    let token = wait_until("the connection on WiFi", Duration::from_secs(5), || {
        Ok(ss_subflows(tb)?.first().map(|s| s.token))
    })
    .unwrap_or_else(|e| fail(e));
    let constraint = wait_until(
        "the connection object to say why it cannot move",
        Duration::from_secs(5),
        || {
            let c = conn_prop(&env, token, "Constraint").unwrap_or_default();
            Ok(c.contains("forbids joins").then_some(c))
        },
    )
    .unwrap_or_else(|e| fail(e));
    println!("Constraint: {constraint}");
    assert!(
        constraint.contains("10.9.0.1:5201") && constraint.contains("wwan0"),
        "{constraint}"
    );

    // The server announces its LTE-side address (with a port: the kernel
    // listens there for joins; the stream server listens on 10.9.0.1 only):
    // the join goes there.
    ip(&[
        "-n", server, "mptcp", "endpoint", "add", "10.2.0.1", "port", "5210", "id", "5", "signal",
    ])
    .expect("server signal endpoint");
    let sfs = wait_until(
        "an LTE subflow to the announced address",
        Duration::from_secs(10),
        || {
            let sfs = ss_subflows(tb)?;
            let joined = sfs
                .iter()
                .any(|s| on(s, WWAN_V4) && s.remote.starts_with("10.2.0.1:") && s.backup_local);
            Ok(joined.then_some(sfs))
        },
    )
    .unwrap_or_else(|e| fail(e));
    let to_initial = joins_to_initial_address(tb).expect("nft counter");
    let join_syns = mptcp_counter(server, "MPJoinSynRx").expect("nstat");
    println!("subflows: {sfs:#?}\nMP_JOIN SYNs at the server: {join_syns}, to its initial address: {to_initial}");
    assert_eq!(to_initial, 0, "no MP_JOIN to the forbidden initial address");
    assert!(join_syns >= 1, "the join to the announced address arrived");
    assert!(
        sfs.iter()
            .filter(|s| s.remote.starts_with(&format!("{SERVER_V4}:")))
            .all(|s| on(s, WLAN_V4)),
        "only the initial subflow goes to the initial address: {sfs:#?}"
    );
    wait_until(
        "the constraint to clear once an address is announced",
        Duration::from_secs(5),
        || {
            let c = conn_prop(&env, token, "Constraint")?;
            Ok((c.trim() == r#"s """#).then_some(()))
        },
    )
    .unwrap_or_else(|e| fail(e));
    let log = env.log();
    assert_eq!(
        log.matches("the peer forbids joins to its initial address")
            .count(),
        1,
        "named once in the log: {log}"
    );

    run.wait(Duration::from_secs(30))
        .expect("stream finished")
        .check()
        .expect("no error, nothing lost");
}
