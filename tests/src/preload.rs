//! The preload library and `mptcp-policyctl` for the tests of unmodified
//! apps on MPTCP, built fresh by cargo (the library is a cdylib: no crate
//! can depend on it, so tests build it themselves), and a small unmodified
//! client and server in Python (plain `socket.socket()`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

use crate::daemon_env::repo;

/// `(mptcp-policyctl, libmptcp_preload.so)` of this workspace (debug
/// build), built once per test process. `MPTCP_POLICYCTL` and
/// `MPTCP_PRELOAD_LIBRARY` name prebuilt ones instead.
pub fn tools() -> Result<(PathBuf, PathBuf)> {
    static BUILT: OnceLock<Result<(PathBuf, PathBuf), String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build() -> Result<(PathBuf, PathBuf)> {
    if let (Some(ctl), Some(lib)) = (
        std::env::var_os("MPTCP_POLICYCTL"),
        std::env::var_os("MPTCP_PRELOAD_LIBRARY"),
    ) {
        return Ok((ctl.into(), lib.into()));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(repo())
        .args([
            "build",
            "-q",
            "-p",
            "mptcp-preload",
            "-p",
            "mptcp-policyctl",
        ])
        .status()
        .with_context(|| format!("running {cargo} build"))?;
    if !status.success() {
        bail!("cargo build -p mptcp-preload -p mptcp-policyctl failed: {status}");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("debug");
    let ctl = target.join("mptcp-policyctl");
    let lib = target.join("libmptcp_preload.so");
    for p in [&ctl, &lib] {
        if !p.is_file() {
            bail!("{} missing after cargo build", p.display());
        }
    }
    // Canonical, as mptcp-policyctl writes them (no "tests/.." inside).
    Ok((ctl.canonicalize()?, lib.canonicalize()?))
}

/// Python 3 of the system (not a pyenv shim: a shell script in front of
/// the interpreter would be the program the preload sees first).
pub const PYTHON: &str = "/usr/bin/python3";

/// An unmodified client: `socket.socket(family)` (plain TCP as far as it
/// knows), connect to HOST PORT, print `protocol=<SO_PROTOCOL>`, send
/// "ping", print `mptcp_info=ok` or `mptcp_info=errnoN` (whether the
/// connection is MPTCP or fell back), then what came back; keep the
/// connection for HOLD seconds.
pub const CLIENT_PY: &str = r#"
import socket, sys, time
host, port, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
print("protocol=%d" % s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL), flush=True)
s.settimeout(10)
s.connect((host, port))
s.sendall(b"ping")
reply = s.recv(100).decode()
try:  # SOL_MPTCP, MPTCP_INFO: refused (EOPNOTSUPP) once a connection fell back to TCP
    s.getsockopt(284, 1, 256)
    print("mptcp_info=ok", flush=True)
except OSError as e:
    print("mptcp_info=errno%d" % e.errno, flush=True)
print("reply=%s" % reply, flush=True)
time.sleep(hold)
s.close()
"#;

/// A server on ADDR PORT: protocol "mptcp" (asks for IPPROTO_MPTCP itself)
/// or "tcp"; answers each connection's first bytes with "pong:<bytes>".
pub const SERVER_PY: &str = r#"
import socket, sys, threading
addr, port, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
ls = socket.socket(family, socket.SOCK_STREAM, 262 if proto == "mptcp" else 0)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(16)
print("listening protocol=%d" % ls.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL), flush=True)
def serve(c):
    with c:
        data = c.recv(100)
        c.sendall(b"pong:" + data)
        while c.recv(100):
            pass
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;
