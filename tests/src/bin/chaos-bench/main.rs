//! Chaos run (a script, not CI): the daemon on its private bus with the
//! real polkitd in the WiFi/LTE testbed, and for `--minutes` a random mix
//! of link flaps, address changes, D-Bus role changes, SIGHUP reloads with
//! good and bad files, SIGKILL + restart, and batches of 500 concurrent
//! MPTCP connections (traffic only between the test namespaces).
//!
//! Before the daemon starts an endpoint of "someone else" is added by hand
//! (`10.1.0.99 id 42 signal`, on `wlan0`). Afterwards the test puts the
//! world back (links up, extra addresses gone, D-Bus changes reset, the
//! good file) and checks: the kernel's endpoints are exactly what the
//! policy says plus the foreign one, untouched; every file in the state
//! directory parses; no daemon run died on its own or panicked; RSS of the
//! last daemon run is flat (first/last sample). Prints a summary table;
//! exits 1 when a check fails. Kills happen only in the first 60 % of the
//! run so the last run is long enough to judge its RSS.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod checks;

use anyhow::Result;
use checks::{all_logs, keep_logs, report, settle_and_check};
use clap::Parser;
use mptcp_policy_tests::bins::{default_daemon_bin, find_bin};
use mptcp_policy_tests::daemon_env::DaemonEnv;
use mptcp_policy_tests::{ns_exec, wait_for, BgProcess};

#[derive(Parser)]
#[command(about = "Chaos run of mptcp-policyd in the testbed")]
struct Args {
    /// How long the chaos lasts.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Random seed (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Concurrent MPTCP connections per batch.
    #[arg(long, default_value_t = 500)]
    connections: usize,
    /// The daemon binary.
    #[arg(long)]
    daemon: Option<PathBuf>,
}

const GOOD: &str = mptcp_policy_tests::handover::DAEMON_POLICY;
const GOOD_SWAPPED: &str = "[limits]\nsubflows = 4\nadd_addr_accepted = 4\n[[interface]]\ntype = \"wifi\"\nrole = \"backup\"\n[[interface]]\ntype = \"cellular\"\nrole = \"preferred\"\n";
const BAD: &[&str] = &[
    "[[interface]]\ntype = \"wifi\"\nrole = \"sometimes\"\n",
    "[limits\nsubflows = 4\n",
    "[limits]\nsubflows = 99999999999\n",
];
const IFACES: [&str; 2] = ["wlan0", "wwan0"];
const FOREIGN: &str = "10.1.0.99";
const SERVER: &str = "10.9.0.1:7101";
/// A new batch of connections at most this often.
const BATCH_EVERY: Duration = Duration::from_secs(10);

/// xorshift64*: enough randomness for a chaos run, reproducible by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Default)]
struct Tally {
    actions: BTreeMap<&'static str, u64>,
    refused: BTreeMap<&'static str, u64>,
    connections_made: u64,
    connections_failed: u64,
    rss: Vec<(f64, u32, u64)>,
    unexpected_exits: u64,
    last_batch: Option<Instant>,
}

impl Tally {
    fn did(&mut self, what: &'static str, ok: bool) {
        *self.actions.entry(what).or_default() += 1;
        if !ok {
            *self.refused.entry(what).or_default() += 1;
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1
    });
    println!("chaos run: {} min, seed {seed}", args.minutes);
    let daemon = args.daemon.clone().unwrap_or_else(default_daemon_bin);
    let loader = find_bin("event-bench", "EVENT_BENCH")?;
    let mut env = DaemonEnv::start(&daemon, GOOD)?;
    let client = env.tb.client_ns().to_string();
    // Someone else's endpoint (added while the daemon runs: it must be
    // reported and left alone through everything that follows).
    ns_exec(
        &client,
        "ip",
        &["mptcp", "endpoint", "add", FOREIGN, "id", "42", "signal"],
    )?;
    // Its address appears after it (else the daemon would take the address first).
    ns_exec(
        &client,
        "ip",
        &["addr", "add", &format!("{FOREIGN}/24"), "dev", "wlan0"],
    )?;
    let server = serve(&env, &loader)?;
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let started = Instant::now();
    let total = Duration::from_secs(args.minutes * 60);
    let mut load: Option<(BgProcess, Instant)> = None;
    let mut next_rss = Duration::ZERO;
    while started.elapsed() < total {
        let t = started.elapsed();
        if !env.daemon_alive() {
            tally.unexpected_exits += 1;
            env.start_daemon()?;
        }
        if t >= next_rss {
            sample_rss(&mut env, &mut tally, t);
            next_rss = t + Duration::from_secs(15);
        }
        load = drive_load(&env, &loader, load, args.connections, &mut tally)?;
        let late = t > total.mul_f64(0.6);
        one_action(&mut env, &mut rng, &mut tally, late)?;
        // Pacing of the chaos (not a synchronisation): 20-300 ms between actions.
        std::thread::sleep(Duration::from_millis(20 + rng.below(280)));
    }
    if let Some((p, _)) = load {
        finish_load(p, &mut tally)?;
    }
    drop(server);
    sample_rss(&mut env, &mut tally, started.elapsed());
    let checks = settle_and_check(&mut env)?;
    // What the daemon tracks at the end (its SIGUSR1 stats line).
    let stats_before = all_logs(env.tb.tmp_dir()).matches("stats: ").count();
    signal(&env, libc::SIGUSR1);
    let _ = wait_for("stats line", Duration::from_secs(5), || {
        Ok(all_logs(env.tb.tmp_dir()).matches("stats: ").count() > stats_before)
    });
    report(&tally, &checks, &env);
    keep_logs(env.tb.tmp_dir())?;
    if checks.iter().any(|c| !c.1) || tally.unexpected_exits > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn serve(env: &DaemonEnv, loader: &Path) -> Result<BgProcess> {
    let ready = env.tb.tmp_dir().join("serve.ready");
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", env.tb.server_ns()])
        .arg(loader)
        .args(["serve", "--addr", SERVER, "--ready"])
        .arg(&ready);
    let p = BgProcess::spawn("chaos-serve", &mut cmd, env.tb.tmp_dir())?;
    wait_for("server ready", Duration::from_secs(10), || {
        Ok(ready.exists())
    })?;
    Ok(p)
}

/// Keeps one batch of concurrent connections going at a time (bounded:
/// each batch opens `n` at once, closes them, ends; 60 s at most).
fn drive_load(
    env: &DaemonEnv,
    loader: &Path,
    load: Option<(BgProcess, Instant)>,
    n: usize,
    tally: &mut Tally,
) -> Result<Option<(BgProcess, Instant)>> {
    if let Some((mut p, since)) = load {
        match p.try_status()? {
            Some(_) => finish_load(p, tally)?,
            None if since.elapsed() > Duration::from_secs(60) => {
                p.stop();
                tally.connections_failed += n as u64;
            }
            None => return Ok(Some((p, since))),
        }
    }
    if tally.last_batch.is_some_and(|t| t.elapsed() < BATCH_EVERY) {
        return Ok(None);
    }
    tally.last_batch = Some(Instant::now());
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", env.tb.client_ns()])
        .arg(loader)
        .args(["load", "--addr", SERVER, "--connections"])
        .arg(n.to_string())
        .arg("--batch")
        .arg(n.to_string());
    let name = format!("chaos-load-{}", tally.actions.values().sum::<u64>());
    Ok(Some((
        BgProcess::spawn(&name, &mut cmd, env.tb.tmp_dir())?,
        Instant::now(),
    )))
}

fn finish_load(mut p: BgProcess, tally: &mut Tally) -> Result<()> {
    p.wait(Duration::from_secs(60))?;
    let out = p.stdout();
    let num = |key: &str| {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    tally.connections_made += num("made=");
    tally.connections_failed += num("failed=");
    Ok(())
}

fn one_action(env: &mut DaemonEnv, rng: &mut Rng, tally: &mut Tally, late: bool) -> Result<()> {
    let client = env.tb.client_ns().to_string();
    let iface = *rng.pick(&IFACES);
    match rng.below(100) {
        0..=29 => {
            let ok = ns_exec(&client, "ip", &["link", "set", iface, "down"]).is_ok();
            std::thread::sleep(Duration::from_millis(rng.below(400)));
            let ok = ok && ns_exec(&client, "ip", &["link", "set", iface, "up"]).is_ok();
            let ok = ok && restore_routes(&client, iface).is_ok();
            tally.did("link flap", ok);
        }
        30..=49 => {
            let net = if iface == "wlan0" { 1 } else { 2 };
            let addr = format!("10.{net}.0.{}/24", 50 + rng.below(6));
            let verb = if rng.below(2) == 0 { "add" } else { "del" };
            // add of a present / del of an absent address fails: fine
            let ok = ns_exec(&client, "ip", &["addr", verb, &addr, "dev", iface]).is_ok();
            tally.did("address change", ok);
        }
        50..=69 => {
            let role = *rng.pick(&["preferred", "backup", "off", "default"]);
            let ok = env
                .bus
                .busctl(&[
                    "call",
                    "org.mptcp.Policy1",
                    "/org/mptcp/Policy1",
                    "org.mptcp.Policy1",
                    "SetInterfaceRole",
                    "ss",
                    iface,
                    role,
                ])
                .is_ok();
            tally.did("D-Bus role change", ok);
        }
        70..=84 => {
            let text = if rng.below(2) == 0 {
                GOOD
            } else {
                GOOD_SWAPPED
            };
            std::fs::write(&env.config, text)?;
            tally.did("SIGHUP good file", signal(env, libc::SIGHUP));
        }
        85..=94 => {
            std::fs::write(&env.config, rng.pick(BAD))?;
            tally.did("SIGHUP bad file", signal(env, libc::SIGHUP));
        }
        _ if late => tally.did("SIGHUP good file", {
            std::fs::write(&env.config, GOOD)?;
            signal(env, libc::SIGHUP)
        }),
        _ => {
            // A bad file must not be what the restart starts with.
            std::fs::write(&env.config, GOOD)?;
            env.kill_daemon()?;
            env.start_daemon()?;
            tally.did("SIGKILL + restart", true);
        }
    }
    Ok(())
}

/// A link that went down lost its routes (the testbed's route to the
/// server and the radio's own table): put them back, as its DHCP client
/// would.
fn restore_routes(ns: &str, iface: &str) -> Result<()> {
    let (net, n) = if iface == "wlan0" {
        (1, "10")
    } else {
        (2, "20")
    };
    let gw = format!("10.{net}.0.1");
    let server = mptcp_policy_tests::testbed::SERVER_V4;
    ns_exec(
        ns,
        "ip",
        &[
            "route", "replace", server, "via", &gw, "dev", iface, "metric", n,
        ],
    )?;
    ns_exec(
        ns,
        "ip",
        &[
            "route", "replace", "default", "via", &gw, "dev", iface, "table", n,
        ],
    )?;
    Ok(())
}

fn daemon_pid(env: &DaemonEnv) -> Option<u32> {
    pidof_in(env.tb.client_ns())
}

/// The daemon's pid: the process running our binary in the client namespace.
fn pidof_in(ns: &str) -> Option<u32> {
    let out = Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "mptcp-policyd")
        })
}

fn signal(env: &DaemonEnv, sig: libc::c_int) -> bool {
    // SAFETY: kill(2) on the daemon we started.
    daemon_pid(env).is_some_and(|pid| unsafe { libc::kill(pid as libc::pid_t, sig) } == 0)
}

fn sample_rss(env: &mut DaemonEnv, tally: &mut Tally, t: Duration) {
    if let Some(pid) = daemon_pid(env) {
        let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            });
        if let Some(kib) = rss {
            tally.rss.push((t.as_secs_f64(), pid, kib));
        }
    }
}
