//! Black-box tests of the `mptcp-policyctl` binary.
//!
//! * without any bus (exit 3, clear message), generated man page and
//!   completions, local validation and usage errors;
//! * on a private `dbus-daemon` (pointed at through DBUS_SYSTEM_BUS_ADDRESS):
//!   with no daemon (ServiceUnknown -> 3), and against a small stand-in of
//!   the daemon written here from the contract (`mptcp-policy-dbus`), which
//!   answers with each of the daemon's errors so every exit code is seen
//!   end to end. The real service's own tests belong to the service.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mptcp_policy_dbus::names::{self, BUS_NAME, MANAGER_PATH};
use mptcp_policy_dbus::{Error, SubflowInfo};

const BIN: &str = env!("CARGO_BIN_EXE_mptcp-policyctl");

fn ctl(bus: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run mptcp-policyctl")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

// ---------------------------------------------------------------- no bus

#[test]
fn no_bus_exits_3_with_a_clear_message() {
    let bus = "unix:path=/nonexistent";
    for args in [
        vec!["status"],
        vec!["connections"],
        vec!["set-role", "wlan0", "backup"],
        vec!["policy", "get"],
        vec!["monitor"],
    ] {
        let o = ctl(bus, &args);
        assert_eq!(code(&o), 3, "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.starts_with("mptcp-policyctl: daemon not available: "),
            "{err}"
        );
        assert!(err.contains("/nonexistent"), "{err}");
        assert!(err.contains("systemctl start mptcp-policyd"), "{err}");
        assert!(stdout(&o).is_empty());
    }
    let o = ctl(bus, &["--json", "status"]);
    assert_eq!(code(&o), 3);
    let j: serde_json::Value = serde_json::from_str(stderr(&o).trim()).expect("json error");
    assert_eq!(j["error"], "DaemonAbsent");
    assert!(j["message"]
        .as_str()
        .is_some_and(|m| m.contains("mptcp-policyd")));
}

#[test]
fn man_page_and_completions_are_generated() {
    let o = ctl("unix:path=/nonexistent", &["man"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let man = stdout(&o);
    assert!(man.contains("\n.TH mptcp-policyctl 1 "));
    assert!(man.contains(".SH \"EXIT STATUS\""));
    assert!(man.contains("mptcp-policyctl set-role"));

    for (shell, needle) in [
        ("bash", "complete -F _mptcp__policyctl"),
        ("zsh", "#compdef mptcp-policyctl"),
        ("fish", "complete -c mptcp-policyctl"),
    ] {
        let o = ctl("unix:path=/nonexistent", &["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}: {}", stderr(&o));
        let s = stdout(&o);
        assert!(s.contains(needle), "{shell}");
        assert!(s.contains("set-role"), "{shell}");
    }
}

#[test]
fn usage_and_local_validation_errors() {
    let bus = "unix:path=/nonexistent";
    // Usage errors are clap's: exit 2.
    for args in [vec!["frobnicate"], vec!["set-role", "wlan0"], vec![]] {
        let o = ctl(bus, &args);
        assert_eq!(code(&o), 2, "{args:?}");
    }
    let o = ctl(bus, &["--json", "set-role"]);
    assert_eq!(code(&o), 2);
    let j: serde_json::Value = serde_json::from_str(stderr(&o).trim()).expect("json");
    assert_eq!(j["error"], "Usage");

    // Values are checked before connecting: exit 5 even without a bus.
    for args in [
        vec!["set-role", "wlan0", "primary"],
        vec!["metered", "wwan0", "maybe"],
        vec!["budget", "wwan0", "2 lots", "monthly"],
        vec!["budget", "wwan0", "2GiB", "yearly"],
        vec!["reset-usage", "has space"],
    ] {
        let o = ctl(bus, &args);
        assert_eq!(code(&o), 5, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("mptcp-policyctl: invalid argument: "));
    }

    let o = ctl(bus, &["--help"]);
    assert_eq!(code(&o), 0);
    let help = stdout(&o);
    for c in [
        "0  success",
        "3  daemon not available",
        "4  not authorized",
        "6  the kernel",
    ] {
        assert!(help.contains(c), "{c}");
    }
}

// ---------------------------------------------------------------- private bus

/// A private dbus-daemon; killed on drop.
struct Bus {
    child: Child,
    dir: PathBuf,
    address: String,
}

impl Bus {
    /// Fails (with the reason) when dbus-daemon is missing: the test
    /// command installs it (scripts/install-test-deps.sh).
    fn start() -> Bus {
        assert!(
            Path::new("/usr/bin/dbus-daemon").exists(),
            "dbus-daemon not installed (apt-get install dbus; scripts/test.sh does)"
        );
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("policyctl-bus-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let socket = dir.join("bus");
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("bus config");
        let mut child = Command::new("/usr/bin/dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        let deadline = Instant::now() + Duration::from_secs(10);
        // The socket file appears at bind(), before listen(): wait until a
        // connection is accepted.
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "dbus-daemon did not start");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("dbus-daemon exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Bus {
            child,
            address: format!("unix:path={}", socket.display()),
            dir,
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn private_bus_without_the_daemon_exits_3() {
    let bus = Bus::start();
    let o = ctl(&bus.address, &["status"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("org.mptcp.Policy1 is not running"), "{err}");
    assert!(err.contains("ServiceUnknown"), "{err}");
    assert!(err.contains("systemctl start mptcp-policyd"), "{err}");
    let o = ctl(&bus.address, &["--no-ask", "set-role", "wlan0", "off"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
}

/// A daemon that owns its name but never answers (stuck): the command
/// gives up after `--call-timeout` with exit 1 and says what to look at,
/// instead of hanging for ever (it had no time-out at all).
#[test]
fn a_daemon_that_never_answers_times_out_with_a_clear_message() {
    let bus = Bus::start();
    // Owns the name and serves no object: calls to it stay unanswered.
    let _stuck = zbus::block_on(
        zbus::connection::Builder::address(bus.address.as_str())
            .name(BUS_NAME)
            .build(),
    )
    .expect("own the daemon's name");
    for args in [
        &["--call-timeout", "1", "status"][..],
        &[
            "--call-timeout",
            "1",
            "--no-ask",
            "set-role",
            "wlan0",
            "off",
        ][..],
    ] {
        let t0 = Instant::now();
        let o = ctl(&bus.address, args);
        let took = t0.elapsed();
        assert_eq!(code(&o), 1, "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("did not answer within 1 s"), "{err}");
        assert!(err.contains("journalctl -u mptcp-policyd"), "{err}");
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
    }
    let o = ctl(&bus.address, &["--call-timeout", "0", "status"]);
    assert_eq!(
        code(&o),
        2,
        "--call-timeout 0 is a usage error: {}",
        stderr(&o)
    );
}

/// What the stand-in daemon saw.
type Calls = Arc<Mutex<Vec<String>>>;

/// A stand-in for the daemon's manager object, written from the contract.
struct FakeManager {
    calls: Calls,
}

fn interactive(hdr: &zbus::message::Header<'_>) -> bool {
    hdr.primary()
        .flags()
        .contains(zbus::message::Flags::ALLOW_INTERACTIVE_AUTH)
}

#[zbus::interface(name = "org.mptcp.Policy1")]
impl FakeManager {
    async fn get_policy(&self) -> String {
        "[general]\npath_manager = \"kernel\"\n".into()
    }

    async fn validate_policy(&self, toml: String) -> Vec<String> {
        if toml.contains("bad") {
            vec![
                "2:1: unknown field `bad`".into(),
                "3:9: expected a string".into(),
            ]
        } else {
            vec![]
        }
    }

    async fn set_policy(&self, toml: String) -> Result<(), Error> {
        if toml.contains("bad") {
            return Err(Error::InvalidPolicy("2:1: unknown field `bad`".into()));
        }
        self.calls.lock().expect("lock").push("SetPolicy".into());
        Ok(())
    }

    async fn set_interface_role(
        &self,
        interface: String,
        role: String,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
    ) -> Result<(), Error> {
        self.calls.lock().expect("lock").push(format!(
            "SetInterfaceRole {interface} {role} interactive={}",
            interactive(&hdr)
        ));
        match interface.as_str() {
            "wlan0" | "cellular" => Ok(()),
            "denied0" => Err(Error::NotAuthorized(
                "org.mptcp.policy.set-role: not authorized (challenge)".into(),
            )),
            "broken0" => Err(Error::Kernel(
                "MPTCP_PM_CMD_SET_FLAGS: Invalid argument".into(),
            )),
            other => Err(Error::UnknownInterface(format!("no interface '{other}'"))),
        }
    }

    async fn set_metered(&self, interface: String, metered: bool) -> Result<(), Error> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("SetMetered {interface} {metered}"));
        Ok(())
    }

    async fn set_budget(&self, interface: String, bytes: u64, period: String) -> Result<(), Error> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("SetBudget {interface} {bytes} {period}"));
        Ok(())
    }

    async fn reset_usage(&self, interface: String) -> Result<(), Error> {
        self.calls
            .lock()
            .expect("lock")
            .push(format!("ResetUsage {interface}"));
        Ok(())
    }

    async fn reload(&self) -> Result<(), Error> {
        self.calls.lock().expect("lock").push("Reload".into());
        Ok(())
    }

    #[zbus(property)]
    fn path_manager(&self) -> String {
        "kernel".into()
    }
    #[zbus(property)]
    fn version(&self) -> String {
        "9.9.9-fake".into()
    }
    #[zbus(property)]
    fn limits(&self) -> (u32, u32) {
        (4, 2)
    }
    #[zbus(property)]
    fn foreign_endpoints(&self) -> Vec<(u8, String, String, String)> {
        vec![(7, "192.0.2.7".into(), "signal".into(), String::new())]
    }
}

struct FakeInterface {
    name: &'static str,
    kind: &'static str,
    role: &'static str,
}

#[zbus::interface(name = "org.mptcp.Policy1.Interface")]
impl FakeInterface {
    #[zbus(property)]
    fn name(&self) -> String {
        self.name.into()
    }
    #[zbus(property, name = "Type")]
    fn kind(&self) -> String {
        self.kind.into()
    }
    #[zbus(property)]
    fn type_source(&self) -> String {
        "config".into()
    }
    #[zbus(property)]
    fn role(&self) -> String {
        self.role.into()
    }
    #[zbus(property)]
    fn role_reason(&self) -> String {
        "policy entry 1".into()
    }
    #[zbus(property)]
    fn up(&self) -> bool {
        true
    }
    #[zbus(property)]
    fn addresses(&self) -> Vec<String> {
        vec!["10.1.0.2".into()]
    }
    #[zbus(property)]
    fn metered(&self) -> bool {
        self.kind == "cellular"
    }
    #[zbus(property)]
    fn bytes_used(&self) -> u64 {
        1 << 30
    }
    #[zbus(property)]
    fn budget_bytes(&self) -> u64 {
        if self.kind == "cellular" {
            2 << 30
        } else {
            0
        }
    }
    #[zbus(property)]
    fn endpoint_ids(&self) -> Vec<u8> {
        vec![1]
    }
}

struct FakeConnection;

#[zbus::interface(name = "org.mptcp.Policy1.Connection")]
impl FakeConnection {
    #[zbus(property)]
    fn token(&self) -> u32 {
        3_735_928_559
    }
    #[zbus(property)]
    fn local_address(&self) -> String {
        "10.1.0.2".into()
    }
    #[zbus(property)]
    fn local_port(&self) -> u16 {
        40000
    }
    #[zbus(property)]
    fn remote_address(&self) -> String {
        "10.9.0.1".into()
    }
    #[zbus(property)]
    fn remote_port(&self) -> u16 {
        5201
    }
    #[zbus(property)]
    fn server_side(&self) -> bool {
        false
    }
    #[zbus(property)]
    fn subflows(&self) -> Vec<SubflowInfo> {
        vec![
            SubflowInfo {
                local_address: "10.1.0.2".into(),
                local_port: 40000,
                remote_address: "10.9.0.1".into(),
                remote_port: 5201,
                backup: false,
                interface: "wlan0".into(),
            },
            SubflowInfo {
                local_address: "10.2.0.2".into(),
                local_port: 40001,
                remote_address: "10.9.0.1".into(),
                remote_port: 5201,
                backup: true,
                interface: "wwan0".into(),
            },
        ]
    }
}

async fn serve(address: &str, calls: Calls) -> zbus::Result<zbus::Connection> {
    let conn = zbus::connection::Builder::address(address)
        .serve_at(MANAGER_PATH, FakeManager { calls })
        .serve_at(MANAGER_PATH, zbus::fdo::ObjectManager)
        .serve_at(
            names::interface_path("wlan0"),
            FakeInterface {
                name: "wlan0",
                kind: "wifi",
                role: "preferred",
            },
        )
        .serve_at(
            names::interface_path("wwan0"),
            FakeInterface {
                name: "wwan0",
                kind: "cellular",
                role: "backup",
            },
        )
        .serve_at(names::connection_path(3_735_928_559), FakeConnection)
        .name(BUS_NAME)
        .build()
        .await?;
    Ok(conn)
}

#[test]
fn against_a_stand_in_daemon() {
    let bus = Bus::start();
    let calls: Calls = Arc::default();
    let conn = zbus::block_on(serve(&bus.address, calls.clone())).expect("serve fake daemon");
    let a = bus.address.as_str();

    // status: table and JSON
    let o = ctl(a, &["status"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("Path manager:       kernel"), "{s}");
    assert!(s.contains("Version:            9.9.9-fake"), "{s}");
    assert!(
        s.contains("Foreign endpoints:  id 7 192.0.2.7 (signal)"),
        "{s}"
    );
    let wwan = s
        .lines()
        .find(|l| l.starts_with("wwan0"))
        .expect("wwan0 row");
    for cell in [
        "cellular (config)",
        "backup",
        "yes",
        "1.0 GiB / 2.0 GiB (50%)",
    ] {
        assert!(wwan.contains(cell), "{cell} in {wwan}");
    }
    let o = ctl(a, &["--json", "status"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["limits"]["subflows"], 4);
    assert_eq!(j["interfaces"][0]["name"], "wlan0");
    assert_eq!(j["interfaces"][1]["budget_bytes"], 2u64 << 30);

    // connections
    let o = ctl(a, &["connections"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s = stdout(&o);
    assert!(
        s.contains(
            "connection 3735928559  10.1.0.2:40000 -> 10.9.0.1:5201  (client side, 2 subflows)"
        ),
        "{s}"
    );
    assert!(
        s.contains("10.2.0.2:40001  ->  10.9.0.1:5201  wwan0  backup"),
        "{s}"
    );
    let o = ctl(a, &["--json", "connections"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j[0]["subflows"][1]["backup"], true);

    // changes and the daemon's errors -> exit codes
    for (args, want, stderr_has) in [
        (vec!["set-role", "wlan0", "backup"], 0, ""),
        (vec!["--no-ask", "set-role", "cellular", "off"], 0, ""),
        (
            vec!["set-role", "denied0", "off"],
            4,
            "mptcp-policyctl: not authorized: org.mptcp.policy.set-role: not authorized",
        ),
        (
            vec!["set-role", "broken0", "off"],
            6,
            "kernel refused: MPTCP_PM_CMD_SET_FLAGS: Invalid argument",
        ),
        (
            vec!["set-role", "nosuch0", "off"],
            5,
            "unknown interface: no interface 'nosuch0'",
        ),
        (vec!["metered", "wwan0", "on"], 0, ""),
        (vec!["budget", "wwan0", "1.5GiB", "weekly"], 0, ""),
        (vec!["reset-usage", "wwan0"], 0, ""),
        (vec!["reload"], 0, ""),
    ] {
        let o = ctl(a, &args);
        assert_eq!(code(&o), want, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(stderr_has), "{args:?}: {}", stderr(&o));
    }
    let o = ctl(a, &["--json", "set-role", "denied0", "off"]);
    assert_eq!(code(&o), 4);
    let j: serde_json::Value = serde_json::from_str(stderr(&o).trim()).expect("json");
    assert_eq!(j["error"], "NotAuthorized");
    assert_eq!(j["dbus_error"], "org.mptcp.Policy1.Error.NotAuthorized");

    let seen = calls.lock().expect("lock").clone();
    assert!(
        seen.contains(&"SetInterfaceRole wlan0 backup interactive=true".to_string()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"SetInterfaceRole cellular off interactive=false".to_string()),
        "{seen:?}"
    );
    assert!(seen.contains(&"SetMetered wwan0 true".to_string()));
    assert!(seen.contains(&format!("SetBudget wwan0 {} weekly", 3u64 << 29)));
    assert!(seen.contains(&"ResetUsage wwan0".to_string()));
    assert!(seen.contains(&"Reload".to_string()));

    // policy
    let o = ctl(a, &["policy", "get"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("path_manager = \"kernel\""));
    let good = bus.dir.join("good.toml");
    let bad = bus.dir.join("bad.toml");
    std::fs::write(&good, "[general]\n").expect("write");
    std::fs::write(&bad, "[general]\nbad = 1\n").expect("write");
    let (good, bad) = (good.to_str().expect("utf8"), bad.to_str().expect("utf8"));
    let o = ctl(a, &["policy", "validate", good]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = ctl(a, &["policy", "validate", bad]);
    assert_eq!(code(&o), 5);
    assert_eq!(
        stdout(&o),
        format!("{bad}:2:1: unknown field `bad`\n{bad}:3:9: expected a string\n")
    );
    let o = ctl(a, &["--json", "policy", "validate", bad]);
    assert_eq!(code(&o), 5);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["valid"], false);
    assert_eq!(j["errors"][1]["column"], 9);
    let o = ctl(a, &["policy", "set", bad]);
    assert_eq!(code(&o), 5);
    assert!(
        stderr(&o).contains(&format!("{bad}:2:1: unknown field `bad`")),
        "{}",
        stderr(&o)
    );
    let o = ctl(a, &["policy", "set", good]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // monitor: a line per signal, then gone when killed
    for json in [false, true] {
        let mut args = vec!["monitor"];
        if json {
            args.insert(0, "--json");
        }
        let mut child = Command::new(BIN)
            .args(&args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", a)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("monitor");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // The monitor subscribes before reading Version; emit until it sees one.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Some(Ok(l)) = lines.next() {
                let _ = tx.send(l);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let line = loop {
            zbus::block_on(conn.emit_signal(
                None::<&str>,
                MANAGER_PATH,
                "org.mptcp.Policy1",
                "ConnectionCreated",
                &(7u32, "10.1.0.2", 40000u16, "10.9.0.1", 5201u16),
            ))
            .expect("emit");
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                break l;
            }
            assert!(Instant::now() < deadline, "monitor printed nothing");
        };
        let _ = child.kill();
        let _ = child.wait();
        if json {
            let j: serde_json::Value = serde_json::from_str(&line).expect("json line");
            assert_eq!(j["event"], "connection-created");
            assert_eq!(j["token"], 7);
            assert_eq!(j["remote_port"], 5201);
        } else {
            assert!(
                line.ends_with(" connection-created token=7 10.1.0.2:40000 -> 10.9.0.1:5201"),
                "{line}"
            );
        }
    }
    drop(conn);
}
