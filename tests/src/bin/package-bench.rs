//! `package-bench`: the installed packages on a booted Debian 12 (systemd
//! as PID 1 in a container inside the WiFi/LTE testbed), beside Debian's
//! mptcpd on the same container: installed size, service start under
//! systemd (activation request → both endpoints in the kernel) and RSS a
//! moment after start. As root, with the packages from scripts/package.sh.
//!
//! mptcpd is configured the way it adds endpoints at all (`addr_adv`,
//! flags `subflow`, `notify-flags=existing,...`): its default does nothing.
//! Without `check_route`: the testbed routes each radio by its own table
//! (`ip rule from ADDR`), and mptcpd only looks for a default route in main.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use mptcp_policy_tests::booted::packages::{deb, endpoint_line, UNIT};
use mptcp_policy_tests::booted::System;
use mptcp_policy_tests::stats::Summary;
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};

#[derive(Parser, Debug)]
#[command(about = "Packages under systemd beside Debian's mptcpd (needs root)")]
struct Args {
    /// Starts measured per daemon.
    #[arg(long, short = 'n', default_value_t = 5)]
    iterations: usize,
}

const MPTCPD_UNIT: &str = "mptcp.service";
const MPTCPD_CONF: &str = "[core]\nlog=journal\nplugin-dir=/usr/lib/x86_64-linux-gnu/mptcpd\n\
path-manager=addr_adv\naddr-flags=subflow\n\
notify-flags=existing,skip_link_local,skip_loopback\n";

fn main() -> Result<()> {
    let args = Args::parse();
    let sys = System::boot("mptcp-bench")?;
    sys.install(&["mptcp-policyd", "mptcp-policy-panel"])?;
    let c = &sys.container;

    println!("| package | .deb | installed |");
    println!("|---|---|---|");
    for name in ["mptcp-policyd", "mptcp-policy-panel"] {
        let file = deb(name)?;
        let kib = c.ok(&["dpkg-query", "-W", "-f=${Installed-Size}", name])?;
        println!(
            "| {name} | {} KiB | {} KiB |",
            std::fs::metadata(&file)?.len() / 1024,
            kib.trim()
        );
    }
    let mut mptcpd_kib = 0u64;
    for name in ["mptcpd", "mptcpd-plugins", "libmptcpd3"] {
        mptcpd_kib += c
            .ok(&["dpkg-query", "-W", "-f=${Installed-Size}", name])?
            .trim()
            .parse::<u64>()?;
    }
    println!("| mptcpd + mptcpd-plugins + libmptcpd3 (Debian) | - | {mptcpd_kib} KiB |");

    let ours = measure(&sys, args.iterations, Daemon::Ours)?;
    let ours_systemctl = measure(&sys, args.iterations, Daemon::OursSystemctl)?;
    std::fs::write(c.root().join("etc/mptcpd/mptcpd.conf"), MPTCPD_CONF)?;
    let theirs = measure(&sys, args.iterations, Daemon::Mptcpd)?;
    println!();
    println!(
        "| under systemd, n = {} | start → both endpoints (ms) | RSS after 2 s (MB) |",
        args.iterations
    );
    println!("|---|---|---|");
    for (name, (start, rss)) in [
        ("mptcp-policyd (D-Bus activation)", ours),
        ("mptcp-policyd (systemctl start)", ours_systemctl),
        ("mptcpd 0.12 (systemctl start)", theirs),
    ] {
        let rss = rss.map_or("-".into(), |r| {
            format!("{:.1} ({:.1}–{:.1})", r.median, r.min, r.max)
        });
        let start = start.map_or("-".into(), |s| {
            format!("{:.1} ({:.1}–{:.1})", s.median, s.min, s.max)
        });
        println!("| {name} | {start} | {rss} |");
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Daemon {
    /// Started by the bus (StartServiceByName), as a first client does.
    Ours,
    /// Started the way mptcpd is, for the same path.
    OursSystemctl,
    Mptcpd,
}

/// Per start: ms to both endpoints; RSS in MB.
fn measure(sys: &System, n: usize, which: Daemon) -> Result<(Option<Summary>, Option<Summary>)> {
    let c = &sys.container;
    let (unit, request): (&str, Vec<&str>) = match which {
        Daemon::Ours => (
            UNIT,
            vec![
                "busctl",
                "call",
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "StartServiceByName",
                "su",
                "org.mptcp.Policy1",
                "0",
            ],
        ),
        Daemon::OursSystemctl => (UNIT, vec!["systemctl", "start", UNIT]),
        Daemon::Mptcpd => (MPTCPD_UNIT, vec!["systemctl", "start", MPTCPD_UNIT]),
    };
    let mut starts = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..n {
        stop(sys, which)?;
        let t0 = Instant::now();
        let mut req = std::process::Command::new("nsenter");
        req.args(["-t", &sys.container.pid1().to_string(), "-a", "--"])
            .args(&request)
            .stdout(std::process::Stdio::null());
        let mut child = req.spawn()?;
        loop {
            let eps = sys.endpoints()?;
            if endpoint_line(&eps, WLAN_V4).is_some() && endpoint_line(&eps, WWAN_V4).is_some() {
                break;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                bail!(
                    "{unit}: no endpoints after 10 s:\n{eps}\n{}",
                    c.journal(Some(unit))
                );
            }
        }
        starts.push(t0.elapsed().as_secs_f64() * 1000.0);
        let _ = child.wait();
        std::thread::sleep(Duration::from_secs(2));
        let pid = c.ok(&["systemctl", "show", "-p", "MainPID", "--value", unit])?;
        let status = c.ok(&["cat", &format!("/proc/{}/status", pid.trim())])?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("VmRSS")?;
        rss.push(kb / 1024.0);
    }
    stop(sys, which)?;
    Ok((Summary::of(&starts), Summary::of(&rss)))
}

/// Stops the daemon and takes its endpoints out, so the next start adds
/// them again.
fn stop(sys: &System, which: Daemon) -> Result<()> {
    let c = &sys.container;
    match which {
        Daemon::Ours | Daemon::OursSystemctl => {
            c.ok(&["systemctl", "stop", UNIT])?;
            c.ok(&["mptcp-policyd", "--clean-up"])?;
        }
        Daemon::Mptcpd => {
            c.ok(&["systemctl", "stop", MPTCPD_UNIT])?;
            // mptcpd leaves its endpoints behind; this namespace is the
            // test's own.
            c.ok(&["ip", "mptcp", "endpoint", "flush"])?;
        }
    }
    Ok(())
}
