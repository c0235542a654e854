//! `nm-bench`: how fast mptcp-policyd follows NetworkManager, measured with
//! real NetworkManager (`NmTestbed`): eth1 and eth2 activated, the daemon on
//! the same private bus, the project's dispatcher hook installed. As root:
//!
//! - hook runtime: the installed hook run as NetworkManager runs it, with
//!   the daemon up (`connectivity-change`; `up`, which asks nmcli for the
//!   device type) and with the daemon stopped;
//! - hook → kernel: `mptcp-policyctl notify --device-type gsm|wifi eth1 up`
//!   (the hook's entry point) flipping eth1 between backup and preferred:
//!   the call's round trip (the kernel holds the new flag when it returns,
//!   checked each time);
//! - captive portal: the check server's body made wrong / right, then
//!   `nmcli networking connectivity check`: time until nmcli returns (NM
//!   knows) and until the kernel's endpoint shows the new backup flag
//!   (polled with `ip mptcp endpoint show`, ~2 ms per poll);
//! - NetworkManager event → daemon: the daemon's own `reaction_us` for the
//!   portal/full changes (signal read → last netlink ack).
//!
//! Prints metric, n, median (min–max) in ms.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Parser;
use mptcp_policy_tests::bins::find_bin;
use mptcp_policy_tests::nm::{NmOpts, NmTestbed, CHECK_OK};
use mptcp_policy_tests::process::run_output;
use mptcp_policy_tests::stats::Summary;

#[derive(Parser, Debug)]
#[command(about = "How fast mptcp-policyd follows NetworkManager (needs root)")]
struct Args {
    /// Rounds per metric.
    #[arg(long, short = 'n', default_value_t = 20)]
    iterations: usize,
    /// mptcp-policyd binary (default: env MPTCP_POLICYD, else next to this binary).
    #[arg(long, env = "MPTCP_POLICYD")]
    daemon: Option<PathBuf>,
}

const POLICY: &str = r#"
[[interface]]
type = "wifi"
role = "preferred"
[[interface]]
type = "cellular"
role = "backup"
[[interface]]
name = "eth*"
role = "preferred"
"#;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<()> {
    let args = Args::parse();
    let daemon = match args.daemon {
        Some(d) => d,
        None => find_bin("mptcp-policyd", "MPTCP_POLICYD")?,
    };
    let mut tb = NmTestbed::start(NmOpts {
        dropin: true,
        hook: true,
        ..NmOpts::default()
    })?;
    tb.start_daemon(&daemon, POLICY)?;
    tb.add_profile("wifi1", "eth1", &[])?;
    tb.add_profile("lte1", "eth2", &[])?;
    tb.up("wifi1")?;
    tb.up("lte1")?;
    let eth1 = tb.wait_addr("eth1")?.to_string();
    tb.wait_addr("eth2")?;
    let backup_of = |tb: &NmTestbed| -> Result<Option<bool>> {
        Ok(tb
            .endpoints()?
            .into_iter()
            .find(|e| e.addr == eth1)
            .map(|e| e.has("backup")))
    };
    tb.wait_endpoints("eth1 preferred", Duration::from_secs(30), |e| {
        e.iter().any(|x| x.addr == eth1 && !x.has("backup"))
    })?;

    let mut rows: Vec<(&str, Vec<f64>)> = Vec::new();
    let n = args.iterations;

    // Hook runtime, daemon up.
    let hook = |tb: &NmTestbed, a: &[&str], env: &[(&str, &str)]| -> Result<f64> {
        let mut cmd = tb.command(tb.hook_path());
        cmd.args(a).env_clear().env("PATH", "/usr/bin:/bin");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let t0 = Instant::now();
        let out = run_output(&mut cmd, Duration::from_secs(10))?;
        if !out.status.success() {
            bail!("hook failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(ms(t0.elapsed()))
    };
    let cc = [
        ("NM_DISPATCHER_ACTION", "connectivity-change"),
        ("CONNECTIVITY_STATE", "FULL"),
    ];
    let up = [("NM_DISPATCHER_ACTION", "up"), ("DEVICE_IFACE", "eth2")];
    let v: Result<Vec<f64>> = (0..n)
        .map(|_| hook(&tb, &["", "connectivity-change"], &cc))
        .collect();
    rows.push(("hook connectivity-change, daemon up", v?));
    let v: Result<Vec<f64>> = (0..n).map(|_| hook(&tb, &["eth2", "up"], &up)).collect();
    rows.push(("hook up (with nmcli), daemon up", v?));

    // Hook entry point → kernel: the type flips eth1 between the roles.
    let ctl = find_bin("mptcp-policyctl", "MPTCP_POLICYCTL")?;
    let mut v = Vec::new();
    for i in 0..n {
        let (kind, want_backup) = if i % 2 == 0 {
            ("gsm", true)
        } else {
            ("wifi", false)
        };
        let mut cmd = tb.command(&ctl);
        cmd.args(["notify", "--device-type", kind, "eth1", "up"]);
        let t0 = Instant::now();
        let out = run_output(&mut cmd, Duration::from_secs(10))?;
        let t = ms(t0.elapsed());
        if !out.status.success() {
            bail!("notify: {}", String::from_utf8_lossy(&out.stderr));
        }
        if backup_of(&tb)? != Some(want_backup) {
            bail!("the kernel did not follow the type {kind} when the call returned");
        }
        v.push(t);
    }
    rows.push(("notify (hook entry point) → kernel, call returned", v));
    // Leave eth1 as wifi (preferred).
    let mut cmd = tb.command(&ctl);
    cmd.args(["notify", "--device-type", "wifi", "eth1", "up"]);
    run_output(&mut cmd, Duration::from_secs(10))?;

    // Captive portal through NetworkManager.
    let (mut knows, mut kernel, mut knows_full, mut kernel_full) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        for (body, want_backup, k, kk) in [
            ("portal login page\n", true, &mut knows, &mut kernel),
            (CHECK_OK, false, &mut knows_full, &mut kernel_full),
        ] {
            tb.set_check_body(None, body)?;
            let t0 = Instant::now();
            let state = tb.check_connectivity()?;
            k.push(ms(t0.elapsed()));
            let deadline = t0 + Duration::from_secs(5);
            loop {
                if backup_of(&tb)? == Some(want_backup) {
                    kk.push(ms(t0.elapsed()));
                    break;
                }
                if Instant::now() > deadline {
                    bail!("eth1 did not follow connectivity {state}");
                }
            }
            // Let NetworkManager settle (it rechecks a portal).
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    rows.push(("portal: check started → NM knows (nmcli returns)", knows));
    rows.push(("portal: check started → kernel backup", kernel));
    rows.push(("full: check started → NM knows", knows_full));
    rows.push(("full: check started → kernel preferred", kernel_full));
    let reactions: Vec<f64> = tb
        .daemon_log()
        .lines()
        .filter(|l| l.contains("reacted to: NetworkManager") && l.contains("connectivity"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("reaction_us="))
                .and_then(|v| v.parse::<f64>().ok())
                .map(|us| us / 1000.0)
        })
        .collect();
    rows.push(("NM signal → daemon done (reaction_us)", reactions));

    // Hook runtime, daemon stopped.
    tb.stop_daemon()?;
    let v: Result<Vec<f64>> = (0..n)
        .map(|_| hook(&tb, &["", "connectivity-change"], &cc))
        .collect();
    rows.push(("hook connectivity-change, daemon absent", v?));

    let width = rows
        .iter()
        .map(|(m, _)| m.chars().count())
        .max()
        .unwrap_or(10);
    println!("{:width$}  {:>4}  median (min–max) ms", "metric", "n");
    for (metric, v) in &rows {
        let cell = Summary::of(v).map_or("-".to_string(), |s| {
            format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max)
        });
        println!("{metric:width$}  {:>4}  {cell}", v.len());
    }
    drop(tb);
    Ok(())
}
