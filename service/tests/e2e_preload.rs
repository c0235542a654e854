//! Unmodified programs on MPTCP, on the real kernel in the namespace
//! testbed: a Python client that opens a plain `socket.socket()` is run with
//! `mptcp-policyctl run` (the preload library) in the client namespace
//! while the real daemon manages the endpoints.
//!
//! * wrapped: SO_PROTOCOL 262 and a second subflow over the other radio;
//!   unwrapped: plain TCP, no subflow;
//! * against a plain-TCP server the wrapped client still works (fallback);
//! * with net.mptcp.enabled=0 in the namespace the wrapped client gets a
//!   TCP socket and still connects;
//! * the daemon reports its BPF probe and keeps running meanwhile.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use common::{subflows, wait_endpoints, Daemon, WIFI_FIRST};
use mptcp_policy_tests::preload::{tools, CLIENT_PY, PYTHON, SERVER_PY};
use mptcp_policy_tests::testbed::{SERVER_V4, SERVER_V6, WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{ns_exec, wait_for, BgProcess, Testbed, TestbedOpts};

fn testbed() -> Result<Testbed> {
    Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
}

fn script(tb: &Testbed, name: &str, text: &str) -> Result<PathBuf> {
    let p = tb.tmp_dir().join(name);
    std::fs::write(&p, text)?;
    Ok(p)
}

/// A Python server in the server namespace ("mptcp" or "tcp"), ready.
fn server(tb: &Testbed, port: u16, proto: &str) -> Result<BgProcess> {
    server_on(tb, SERVER_V4, port, proto)
}

fn server_on(tb: &Testbed, addr: &str, port: u16, proto: &str) -> Result<BgProcess> {
    let py = script(tb, "server.py", SERVER_PY)?;
    let mut s = BgProcess::spawn_in_ns(
        tb.server_ns(),
        &format!("server-{proto}-{port}"),
        Path::new(PYTHON),
        &[
            py.display().to_string(),
            addr.into(),
            port.to_string(),
            proto.into(),
        ],
        tb.tmp_dir(),
    )?;
    let want = if proto == "mptcp" {
        "protocol=262"
    } else {
        "protocol=6"
    };
    wait_for("server listening", Duration::from_secs(10), || {
        if let Some(st) = s.try_status()? {
            anyhow::bail!("server exited {st}: {}", s.stderr());
        }
        Ok(s.stdout().contains(want))
    })?;
    Ok(s)
}

/// The client in the client namespace, through `mptcp-policyctl run` when
/// `wrapped`; holds its connection `hold` seconds after the reply.
fn client(tb: &Testbed, name: &str, port: u16, hold: f64, wrapped: bool) -> Result<BgProcess> {
    client_to(tb, name, SERVER_V4, port, hold, wrapped)
}

fn client_to(
    tb: &Testbed,
    name: &str,
    addr: &str,
    port: u16,
    hold: f64,
    wrapped: bool,
) -> Result<BgProcess> {
    let py = script(tb, "client.py", CLIENT_PY)?;
    let (ctl, lib) = tools()?;
    let mut args: Vec<String> = Vec::new();
    let program = if wrapped {
        args.extend([
            "run".into(),
            "--library".into(),
            lib.display().to_string(),
            "--".into(),
        ]);
        args.push(PYTHON.into());
        ctl
    } else {
        PathBuf::from(PYTHON)
    };
    args.extend([
        py.display().to_string(),
        addr.into(),
        port.to_string(),
        hold.to_string(),
    ]);
    BgProcess::spawn_in_ns(tb.client_ns(), name, &program, &args, tb.tmp_dir())
}

/// Waits for the client's reply line; returns its SO_PROTOCOL.
fn await_reply(c: &mut BgProcess) -> Result<u32> {
    wait_for("the server's reply", Duration::from_secs(10), || {
        if let Some(st) = c.try_status()? {
            if !c.stdout().contains("reply=") {
                anyhow::bail!("client exited {st} without reply: {}", c.stderr());
            }
        }
        Ok(c.stdout().contains("reply=pong:ping"))
    })
    .with_context(|| format!("client stderr: {}", c.stderr()))?;
    let out = c.stdout();
    let proto = out
        .lines()
        .find_map(|l| l.strip_prefix("protocol="))
        .context("protocol line")?;
    Ok(proto.trim().parse()?)
}

/// Whether `local` (`ss`'s "10.2.0.2%wwan0:48207" or "10.1.0.2:58048") is
/// on address `addr`.
fn from(local: &str, addr: &str) -> bool {
    local
        .strip_prefix(addr)
        .is_some_and(|rest| rest.starts_with([':', '%']))
}

#[test]
fn wrapped_client_gets_mptcp_and_a_second_subflow_over_the_other_radio() -> Result<()> {
    let tb = testbed()?;
    let mut daemon = Daemon::start(&tb, WIFI_FIRST)?;
    wait_endpoints(&tb, "wlan and wwan endpoints", |eps| eps.len() == 2)?;
    let _server = server(&tb, 7001, "mptcp")?;

    // Wrapped: MPTCP, subflows over WiFi and LTE.
    let mut c = client(&tb, "client-wrapped", 7001, 6.0, true)?;
    assert_eq!(
        await_reply(&mut c)?,
        262,
        "SO_PROTOCOL of the wrapped client"
    );

    wait_for("a subflow over each radio", Duration::from_secs(5), || {
        let subs = subflows(&tb)?;
        Ok(
            subs.iter().any(|(l, _)| from(l, WLAN_V4))
                && subs.iter().any(|(l, _)| from(l, WWAN_V4)),
        )
    })
    .with_context(|| {
        format!(
            "subflows: {:?}\nss -Mni: {:?}\nendpoints: {:?}\ndaemon: {}",
            subflows(&tb),
            ns_exec(tb.client_ns(), "ss", &["-Mni"]),
            tb.client_endpoints(),
            daemon.log()
        )
    })?;
    assert!(c.stdout().contains("mptcp_info=ok"), "{}", c.stdout());
    // `ss -M` lists the MPTCP connection itself.
    let msk = ns_exec(tb.client_ns(), "ss", &["-MniH", "state", "established"])?;
    assert!(msk.contains(&format!("{SERVER_V4}:7001")), "ss -Mi: {msk}");
    c.wait_success(Duration::from_secs(15))?;

    // Unwrapped: the same program stays TCP.
    let mut c = client(&tb, "client-plain", 7001, 2.0, false)?;
    assert_eq!(await_reply(&mut c)?, 6, "SO_PROTOCOL without the library");
    assert_eq!(subflows(&tb)?, vec![], "no MPTCP subflow for a TCP socket");
    let msk = ns_exec(tb.client_ns(), "ss", &["-MniH", "state", "established"])?;
    assert!(!msk.contains(&format!("{SERVER_V4}:7001")), "ss -Mi: {msk}");
    c.wait_success(Duration::from_secs(10))?;

    // The daemon said it left the BPF program unloaded (no app enabled:
    // the library alone did the work), and is still running: it exits
    // cleanly on SIGTERM (a dead daemon fails wait_log and stop).
    daemon.wait_log("bpf: ", Duration::from_secs(1))?;
    let log = daemon.log();
    assert!(log.contains("bpf: not loaded ("), "{log}");
    daemon.stop()?;
    Ok(())
}

#[test]
fn wrapped_client_falls_back_to_tcp_against_a_plain_tcp_server() -> Result<()> {
    let tb = testbed()?;
    let _server = server(&tb, 7002, "tcp")?;
    let mut c = client(&tb, "client-fallback", 7002, 0.0, true)?;
    // The socket is MPTCP; the handshake falls back, the exchange works.
    assert_eq!(await_reply(&mut c)?, 262);
    assert!(
        c.stdout()
            .contains(&format!("mptcp_info=errno{}", libc::EOPNOTSUPP)),
        "the connection fell back to TCP: {}",
        c.stdout()
    );
    c.wait_success(Duration::from_secs(10))?;
    Ok(())
}

#[test]
fn with_mptcp_disabled_in_the_namespace_the_wrapped_client_connects_as_tcp() -> Result<()> {
    let tb = testbed()?;
    ns_exec(tb.client_ns(), "sysctl", &["-qw", "net.mptcp.enabled=0"])?;
    let _server = server(&tb, 7003, "mptcp")?;
    let mut c = client(&tb, "client-disabled", 7003, 0.0, true)?;
    assert_eq!(await_reply(&mut c)?, 6, "the library fell back to TCP");
    c.wait_success(Duration::from_secs(10))?;
    Ok(())
}

#[test]
fn wrapped_ipv6_client_gets_mptcp_too() -> Result<()> {
    let tb = Testbed::new(TestbedOpts::default())?;
    let _server = server_on(&tb, SERVER_V6, 7004, "mptcp")?;
    let mut c = client_to(&tb, "client-v6", SERVER_V6, 7004, 2.0, true)?;
    assert_eq!(
        await_reply(&mut c)?,
        262,
        "SO_PROTOCOL of an AF_INET6 socket"
    );
    let msk = ns_exec(tb.client_ns(), "ss", &["-MniH", "state", "established"])?;
    assert!(
        msk.contains(&format!("[{SERVER_V6}]:7004")),
        "ss -Mi: {msk}"
    );
    c.wait_success(Duration::from_secs(10))?;
    Ok(())
}
