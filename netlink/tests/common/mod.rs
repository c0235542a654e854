//! Test helpers: throwaway network namespaces and MPTCP sockets.
//!
//! Every kernel test runs in its own namespace `mpnl-<pid>-<n>`, deleted by a
//! Drop guard (also on panic). The async body runs in a fresh thread that
//! joined the namespace with `setns` before building its tokio runtime, so all
//! sockets it opens live there. The host namespace is never touched.
#![allow(dead_code)]

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mptcp_policy_netlink::{PmError, PmEvent, PmEventStream};
use mptcp_policy_tests::sock;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace that exists as long as this value does.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `mpnl-<pid>-<n>` with `lo` up.
    pub fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("mpnl-{}-{}", std::process::id(), n);
        run("ip", &["netns", "add", &name]);
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Adds a veth pair `va`/`vb` (up) with the given `addr/prefix` on each side.
    pub fn veth(&self, va: &[&str], vb: &[&str]) {
        self.ip(&[
            "link", "add", "name", "va", "type", "veth", "peer", "name", "vb",
        ]);
        for (dev, addrs) in [("va", va), ("vb", vb)] {
            for a in addrs {
                self.ip(&["addr", "add", a, "dev", dev, "nodad"]);
            }
            self.ip(&["link", "set", dev, "up"]);
        }
    }

    /// `ip -n NS ARGS`; panics with stderr on failure, returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// `ip netns exec NS sysctl -w KEY=VALUE`.
    pub fn sysctl(&self, kv: &str) -> String {
        run("ip", &["netns", "exec", &self.name, "sysctl", "-w", kv])
    }

    /// Index of `dev` inside the namespace.
    pub fn ifindex(&self, dev: &str) -> u32 {
        let out = self.ip(&["-o", "link", "show", "dev", dev]);
        out.split(':')
            .next()
            .and_then(|s| s.trim().parse().ok())
            .expect("ifindex")
    }

    /// Runs `body` to completion on a current-thread runtime in a thread that
    /// joined this namespace first.
    pub fn run<F, Fut>(&self, body: F) -> Fut::Output
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future,
        Fut::Output: Send + 'static,
    {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("open netns");
            // SAFETY: a valid namespace fd; only this thread changes namespace.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(body())
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs a command, panics on failure, returns stdout.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An MPTCP listener on `addr` (port 0 = any); the socket code is the
/// testbed's (`mptcp_policy_tests::sock`).
pub fn mptcp_listen(addr: SocketAddr) -> TcpListener {
    sock::listen(&addr).unwrap_or_else(|e| panic!("MPTCP listen on {addr}: {e:#}"))
}

/// An MPTCP client bound to `local`'s address, connected to `remote`.
pub fn mptcp_connect(local: SocketAddr, remote: SocketAddr) -> TcpStream {
    sock::connect(&remote, Some(local.ip()))
        .unwrap_or_else(|e| panic!("MPTCP connect {local} -> {remote}: {e:#}"))
}

/// Reads events until `pred` matches one, or fails after `secs` seconds
/// listing everything seen.
pub async fn wait_event(
    events: &mut PmEventStream,
    secs: u64,
    what: &str,
    pred: impl Fn(&PmEvent) -> bool,
) -> PmEvent {
    let mut seen: Vec<PmEvent> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Ok(ev))) => {
                if pred(&ev) {
                    return ev;
                }
                seen.push(ev);
            }
            Ok(Some(Err(PmError::Overflow))) => panic!("event overflow while waiting for {what}"),
            Ok(Some(Err(e))) => panic!("event error while waiting for {what}: {e}"),
            Ok(None) => panic!("event stream ended while waiting for {what}"),
            Err(_) => panic!("timeout waiting for {what}; seen: {seen:#?}"),
        }
    }
}

/// Polls `cond` every 20 ms until it holds or `secs` pass.
pub async fn wait_until<F, Fut>(secs: u64, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timeout waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
