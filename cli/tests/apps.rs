//! `mptcp-policyctl run`, `enable`/`disable UNIT` and `apps` without a
//! daemon: the preload library in real programs (threads, fork, exec,
//! MPTCP switched off) inside a throwaway network namespace, and systemd
//! drop-ins checked by `systemd-analyze verify` in a temporary root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mptcp_policy_tests::preload::{tools, PYTHON};
use mptcp_policy_tests::{Netns, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_mptcp-policyctl");

fn lib() -> PathBuf {
    tools().expect("libmptcp_preload.so built").1
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `mptcp-policyctl ARGS` with no usable bus and no inherited preload.
fn ctl(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
        .env("RUST_BACKTRACE", "0")
        .env_remove("LD_PRELOAD")
        .env_remove("MPTCP_POLICYCTL_ROOT")
        .env_remove("MPTCP_PRELOAD_LIBRARY")
        .output()
        .expect("run mptcp-policyctl")
}

/// `python3 -c CODE`, in namespace `ns`, wrapped by `run` when `run_args`
/// is `Some` (the arguments between `run` and `--`).
fn python(ns: &str, run_args: Option<&[&str]>, code: &str) -> Output {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]);
    let lib = lib();
    if let Some(extra) = run_args {
        cmd.arg(BIN)
            .arg("run")
            .arg("--library")
            .arg(&lib)
            .args(extra)
            .arg("--");
    }
    cmd.args([PYTHON, "-c", code])
        .env_remove("LD_PRELOAD")
        .env_remove("MPTCP_PRELOAD_NO_INHERIT")
        .output()
        .expect("run python")
}

/// 16 threads released together, 200 sockets each of several kinds; prints
/// `kind=protocols` for each kind (the set of SO_PROTOCOL values seen).
const THREADS_PY: &str = r#"
import socket, threading
kinds = {
    "tcp4": (socket.AF_INET, socket.SOCK_STREAM, 0),
    "tcp6": (socket.AF_INET6, socket.SOCK_STREAM, 0),
    "tcp4_nonblock_cloexec": (socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, 0),
    "tcp4_explicit": (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP),
    "udp4": (socket.AF_INET, socket.SOCK_DGRAM, 0),
    "unix": (socket.AF_UNIX, socket.SOCK_STREAM, 0),
}
seen = {k: set() for k in kinds}
lock = threading.Lock()
start = threading.Barrier(16)
def work():
    start.wait()
    for _ in range(200):
        for k, (f, t, p) in kinds.items():
            s = socket.socket(f, t, p)
            proto = s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
            s.close()
            with lock:
                seen[k].add(proto)
threads = [threading.Thread(target=work) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
for k in kinds:
    print("%s=%s" % (k, ",".join(str(p) for p in sorted(seen[k]))))
"#;

fn kinds(o: &Output) -> Vec<String> {
    assert!(o.status.success(), "{}", text(o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn run_converts_tcp_sockets_of_many_threads_at_once_and_nothing_else() {
    let ns = Netns::new(&format!("mptpl{}t", std::process::id())).expect("netns");
    let converted = [
        "tcp4=262",
        "tcp6=262",
        "tcp4_nonblock_cloexec=262",
        "tcp4_explicit=262",
        "udp4=17",
        "unix=0",
    ];
    let plain = [
        "tcp4=6",
        "tcp6=6",
        "tcp4_nonblock_cloexec=6",
        "tcp4_explicit=6",
        "udp4=17",
        "unix=0",
    ];
    assert_eq!(kinds(&python(ns.name(), Some(&[]), THREADS_PY)), converted);
    assert_eq!(kinds(&python(ns.name(), None, THREADS_PY)), plain);
    // MPTCP off in the namespace: every thread falls back to TCP.
    let off = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            "sysctl",
            "-qw",
            "net.mptcp.enabled=0",
        ])
        .status()
        .expect("sysctl");
    assert!(off.success());
    assert_eq!(kinds(&python(ns.name(), Some(&[]), THREADS_PY)), plain);
}

/// Prints this process's protocol, a forked child's, and an executed
/// child's, and whether the executed child still sees LD_PRELOAD.
const CHILDREN_PY: &str = r#"
import os, socket, subprocess, sys
def proto():
    s = socket.socket()
    p = s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
    s.close()
    return p
print("self=%d" % proto(), flush=True)
pid = os.fork()
if pid == 0:
    print("fork=%d" % proto(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
child = subprocess.run([sys.executable, "-c",
    "import os, socket; s = socket.socket(); "
    "print('exec=%d preload=%s' % (s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL), "
    "'LD_PRELOAD' in os.environ))"], capture_output=True, text=True)
print(child.stdout.strip(), flush=True)
"#;

#[test]
fn children_keep_the_library_unless_no_inherit_is_asked() {
    let ns = Netns::new(&format!("mptpl{}c", std::process::id())).expect("netns");
    let inherit = kinds(&python(ns.name(), Some(&[]), CHILDREN_PY));
    assert_eq!(inherit, ["self=262", "fork=262", "exec=262 preload=True"]);
    let no_inherit = kinds(&python(ns.name(), Some(&["--no-inherit"]), CHILDREN_PY));
    assert_eq!(
        no_inherit,
        ["self=262", "fork=262", "exec=6 preload=False"],
        "a forked copy is the same program; an executed one runs without the library"
    );
}

#[test]
fn run_names_a_missing_library_or_program() {
    let o = ctl(&[
        "run",
        "--library",
        "/nonexistent/libmptcp_preload.so",
        "--",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("/nonexistent/libmptcp_preload.so does not exist"),
        "{}",
        text(&o)
    );
    let o = Command::new(BIN)
        .args(["run", "true"])
        .env("MPTCP_PRELOAD_LIBRARY", "/nonexistent/x.so")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let l = lib();
    let o = ctl(&[
        "run",
        "--library",
        l.to_str().expect("utf-8"),
        "--",
        "/nonexistent/program",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot run /nonexistent/program"),
        "{}",
        text(&o)
    );
    // The command's own exit status comes through (exec).
    let o = ctl(&[
        "run",
        "--library",
        l.to_str().expect("utf-8"),
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let o = ctl(&["run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// A root with `demo.service` and the template `worker@.service`, both
/// runnable by `systemd-analyze verify` without the rest of a system.
fn unit_root() -> TempDir {
    let root = TempDir::new("mptcp-units").expect("tempdir");
    let units = root.path().join("etc/systemd/system");
    std::fs::create_dir_all(&units).expect("mkdir");
    std::fs::create_dir_all(root.path().join("usr/bin")).expect("mkdir");
    std::fs::copy("/bin/true", root.path().join("usr/bin/true")).expect("copy true");
    for name in ["demo.service", "worker@.service"] {
        std::fs::write(
            units.join(name),
            "[Unit]\nDescription=test\nDefaultDependencies=no\n[Service]\nExecStart=/usr/bin/true\n",
        )
        .expect("unit");
    }
    root
}

/// `systemd-analyze verify` of `unit` in `root` (debug log: it prints the
/// loaded unit with its drop-ins and environment).
fn verify(root: &Path, unit: &str) -> String {
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg(unit)
        .env("SYSTEMD_LOG_LEVEL", "debug")
        .output()
        .expect("systemd-analyze");
    assert!(o.status.success(), "verify {unit}: {}", text(&o));
    text(&o)
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_below(&p));
        }
        out.push(p);
    }
    out.sort();
    out
}

#[test]
fn enable_and_disable_write_and_remove_a_valid_dropin() {
    let root = unit_root();
    let r = root.path().to_str().expect("utf-8").to_string();
    let l = lib();
    let lib_s = l.to_str().expect("utf-8");

    let o = ctl(&["enable", "demo", "--root", &r, "--library", lib_s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("systemctl daemon-reload && systemctl restart demo.service"),
        "{}",
        text(&o)
    );
    let dropin = root
        .path()
        .join("etc/systemd/system/demo.service.d/50-mptcp.conf");
    let log = verify(root.path(), "demo.service");
    assert!(
        log.contains(&format!("DropIn Path: {}", dropin.display())),
        "{log}"
    );
    assert!(
        log.contains(&format!("Environment: LD_PRELOAD={lib_s}")),
        "{log}"
    );
    assert!(log.contains("Environment: GODEBUG=multipathtcp=1"), "{log}");
    assert!(!log.contains("50-mptcp.conf:"), "systemd complained: {log}");

    // A template covers its instances.
    let o = ctl(&[
        "enable",
        "worker@.service",
        "--root",
        &r,
        "--library",
        lib_s,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let log = verify(root.path(), "worker@eth0.service");
    assert!(
        log.contains(&format!("Environment: LD_PRELOAD={lib_s}")),
        "{log}"
    );

    // Listed without a daemon (cgroups unknown then).
    let o = ctl(&["apps", "--root", &r]);
    assert!(o.status.success(), "{}", text(&o));
    for s in ["demo.service", "worker@.service", "Cgroups: unknown"] {
        assert!(text(&o).contains(s), "{s}: {}", text(&o));
    }
    let o = ctl(&["--json", "apps", "--root", &r]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["units"][0]["unit"], "demo.service");
    assert_eq!(v["units"][0]["library"], lib_s);

    // Bad names and foreign files: exit 5, nothing written or removed.
    let before = files_below(root.path());
    for bad in ["../../etc/passwd", "demo.socket", "a b", "x/y.service", ""] {
        let o = ctl(&["enable", bad, "--root", &r, "--library", lib_s]);
        assert_eq!(o.status.code(), Some(5), "{bad:?}: {}", text(&o));
        assert!(
            text(&o).contains("invalid unit name"),
            "{bad:?}: {}",
            text(&o)
        );
    }
    let foreign = root.path().join("etc/systemd/system/other.service.d");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("50-mptcp.conf"), "[Service]\nNice=5\n").expect("write");
    let before_foreign = files_below(root.path());
    for args in [
        &["enable", "other", "--root", &r, "--library", lib_s][..],
        &["disable", "other", "--root", &r][..],
    ] {
        let o = ctl(args);
        assert_eq!(o.status.code(), Some(5), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("not written by mptcp-policyctl"),
            "{}",
            text(&o)
        );
    }
    assert_eq!(
        std::fs::read_to_string(foreign.join("50-mptcp.conf")).expect("read"),
        "[Service]\nNice=5\n"
    );
    assert_eq!(files_below(root.path()), before_foreign);
    std::fs::remove_dir_all(&foreign).expect("cleanup");
    assert_eq!(files_below(root.path()), before);

    // Disable removes the drop-in and its directory; the unit loads plain.
    let o = ctl(&["disable", "demo.service", "--root", &r]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!dropin.exists());
    assert!(!dropin.parent().expect("dir").exists());
    let log = verify(root.path(), "demo.service");
    assert!(!log.contains("LD_PRELOAD"), "{log}");
    let o = ctl(&["disable", "demo", "--root", &r]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("demo.service is not enabled"),
        "{}",
        text(&o)
    );
}
