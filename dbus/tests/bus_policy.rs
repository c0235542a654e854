//! The bus policy `org.mptcp.Policy1.conf` on a real `dbus-daemon`: a
//! private system-like bus whose default policy mirrors Debian's
//! `system.conf` and which includes our file. Root may own the name, an
//! unprivileged user may not, and that user may call every interface of the
//! name's owner. Needs root (to run `busctl` as `nobody`) and `dbus-daemon`
//! (`scripts/install-test-deps.sh`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mptcp_policy_dbus::names::{BUS_NAME, MANAGER_INTERFACE, MANAGER_PATH};

struct Bus {
    dir: PathBuf,
    daemon: Child,
}

impl Bus {
    fn address(&self) -> String {
        format!("unix:path={}", self.dir.join("bus").display())
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_bus(conf: &Path) -> Bus {
    let dir = std::env::temp_dir().join(format!("mptcp-dbus-policy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    // `nobody` must reach the socket.
    let status = Command::new("chmod")
        .arg("755")
        .arg(&dir)
        .status()
        .expect("chmod");
    assert!(status.success());
    let socket = dir.join("bus");
    let config = format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>{conf}</include>
</busconfig>
"#,
        socket = socket.display(),
        conf = conf.display()
    );
    let config_path = dir.join("bus.conf");
    std::fs::write(&config_path, config).expect("write bus.conf");
    let daemon = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config_path.display()))
        .arg("--nofork")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon runs (apt-get install dbus)");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "dbus-daemon did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Bus { dir, daemon }
}

/// `busctl --address=… ARGS` as `nobody`.
fn busctl_as_nobody(bus: &Bus, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "busctl",
        ])
        .arg(format!("--address={}", bus.address()))
        .args(args)
        .output()
        .expect("setpriv busctl")
}

/// A stand-in owner of the name with one method of the manager interface.
struct Stub;

#[zbus::interface(name = "org.mptcp.Policy1")]
impl Stub {
    fn get_policy(&self) -> String {
        "[general]\n".into()
    }
}

#[tokio::test]
async fn only_root_owns_the_name_and_everyone_may_call() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "this test runs busctl as nobody and needs root");
    let conf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("org.mptcp.Policy1.conf");
    let bus = start_bus(&conf);

    // nobody may not own the name.
    let denied = busctl_as_nobody(
        &bus,
        &[
            "call",
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "RequestName",
            "su",
            BUS_NAME,
            "0",
        ],
    );
    assert!(!denied.status.success(), "nobody could own {BUS_NAME}");
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(stderr.contains("Access denied"), "{stderr}");

    // root may.
    let service = zbus::connection::Builder::address(bus.address().as_str())
        .name(BUS_NAME)
        .serve_at(MANAGER_PATH, Stub)
        .build()
        .await
        .expect("root owns org.mptcp.Policy1");

    // nobody may call the manager interface and the standard interfaces.
    for call in [
        vec![
            "call",
            BUS_NAME,
            MANAGER_PATH,
            MANAGER_INTERFACE,
            "GetPolicy",
        ],
        vec![
            "call",
            BUS_NAME,
            MANAGER_PATH,
            "org.freedesktop.DBus.Peer",
            "Ping",
        ],
        vec![
            "call",
            BUS_NAME,
            MANAGER_PATH,
            "org.freedesktop.DBus.Introspectable",
            "Introspect",
        ],
        vec![
            "call",
            BUS_NAME,
            MANAGER_PATH,
            "org.freedesktop.DBus.Properties",
            "GetAll",
            "s",
            MANAGER_INTERFACE,
        ],
    ] {
        let out = busctl_as_nobody(&bus, &call);
        assert!(
            out.status.success(),
            "{call:?} as nobody: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A name the policy does not open stays closed (the default deny works).
    let closed = busctl_as_nobody(
        &bus,
        &[
            "call",
            BUS_NAME,
            MANAGER_PATH,
            "org.example.NotOurs",
            "Anything",
        ],
    );
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert!(stderr.contains("Access denied"), "{stderr}");
    drop(service);
}
