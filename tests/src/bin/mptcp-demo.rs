//! `mptcp-demo`: the live demo. Builds the namespace testbed, starts
//! mptcp-policyd in the phone's namespace, streams over MPTCP (phone → server by default) and
//! takes WiFi down and up again while drawing per-path throughput bars, the
//! kernel's endpoints and the daemon's log. Everything is removed on exit,
//! also on Ctrl-C (the handler only sets a flag; every guard's Drop runs).

use anyhow::{bail, Context, Result};
use clap::Parser;
use mptcp_policy_tests::bins::find_bin;
use mptcp_policy_tests::demo::{self, Paint, Screen};
use mptcp_policy_tests::handover::{parse_reaction_us, DAEMON_POLICY};
use mptcp_policy_tests::process::wait_for;
use mptcp_policy_tests::stream::StreamSpec;
use mptcp_policy_tests::testbed::{WLAN_V4, WWAN_V4};
use mptcp_policy_tests::{link_bytes, monotonic_us, BgProcess, Direction, StreamRun};
use mptcp_policy_tests::{Testbed, TestbedOpts};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(about = "Live demo: mptcp-policyd moves an MPTCP stream from WiFi to LTE and back")]
struct Args {
    /// The daemon binary (default: mptcp-policyd next to this program).
    #[arg(long, env = "MPTCP_POLICYD")]
    daemon: Option<PathBuf>,
    /// No colours.
    #[arg(long)]
    no_color: bool,
    /// Seconds per phase (WiFi, LTE only; the WiFi-back phase gets one more).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=120))]
    phase_secs: u64,
    /// Bytes the sender writes every millisecond (default 4096; 1024 with --download).
    #[arg(long)]
    chunk: Option<usize>,
    /// Stream server → phone instead of phone → server (in this testbed the
    /// server's delayed packets count against TCP small queues: ~1 MB/s).
    #[arg(long)]
    download: bool,
}

const PATHS: [(&str, &str); 2] = [("wlan0", "WiFi"), ("wwan0", "LTE ")];
const PHASES: [(&str, &str); 3] = [
    (
        "WiFi + LTE",
        "normal: data on WiFi, LTE subflow ready as backup",
    ),
    (
        "WiFi lost",
        "ip link set wlan0 down — daemon deletes the WiFi endpoint",
    ),
    (
        "WiFi back",
        "ip link set wlan0 up — daemon re-adds it, same connection",
    ),
];
const FRAME_MS: u64 = 200;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Err(e) = demo::install_stop_handler() {
        eprintln!("mptcp-demo: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let res = run(&args);
    match res {
        Ok(Some(s)) => {
            let dir = if args.download {
                "received by"
            } else {
                "sent from"
            };
            s.print(&PHASES.map(|p| p.0), dir, &Paint(!args.no_color));
            std::process::ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("\ninterrupted: namespaces and processes removed");
            std::process::ExitCode::from(130)
        }
        Err(e) if demo::stop_requested() => {
            println!("\ninterrupted ({e:#}): namespaces and processes removed");
            std::process::ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("\nmptcp-demo: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<Option<demo::Summary>> {
    let daemon_bin = match &args.daemon {
        Some(p) if p.is_file() => p.clone(),
        Some(p) => bail!("daemon binary {} not found", p.display()),
        None => find_bin("mptcp-policyd", "MPTCP_POLICYD")?,
    };
    let stream_bin = find_bin("mptcp-stream", "MPTCP_STREAM")?;
    println!("building the testbed: phone namespace (wlan0 10 ms RTT, wwan0 40 ms RTT) + server …");
    let tb = Testbed::new(TestbedOpts {
        ipv6: false,
        ..TestbedOpts::default()
    })
    .context("building the testbed (run as root)")?;
    let cns = tb.client_ns().to_string();
    let conf = tb.tmp_dir().join("policy.toml");
    std::fs::write(&conf, DAEMON_POLICY).context("writing the policy file")?;
    let state = tb.tmp_dir().join("state");
    std::fs::create_dir_all(&state).context("creating the state directory")?;
    let dargs: Vec<String> = ["--config", &conf.display().to_string(), "--no-dbus"]
        .into_iter()
        .chain(["--state-dir", &state.display().to_string()])
        .map(String::from)
        .collect();
    println!("starting {} in {cns} …", daemon_bin.display());
    let mut daemon = BgProcess::spawn_in_ns(&cns, "daemon", &daemon_bin, &dargs, tb.tmp_dir())?;
    wait_for(
        "the daemon to add both endpoints",
        Duration::from_secs(10),
        || {
            if demo::stop_requested() {
                bail!("interrupted");
            }
            if let Some(st) = daemon.try_status()? {
                bail!("daemon exited ({st}): {}", daemon.stderr().trim());
            }
            let eps = tb.client_endpoints()?;
            Ok(eps.contains(WLAN_V4) && eps.contains(WWAN_V4))
        },
    )?;
    let chunk = args
        .chunk
        .unwrap_or(if args.download { 1024 } else { 4096 });
    let secs = [args.phase_secs, args.phase_secs, args.phase_secs + 1];
    let total_ms: u64 = secs.iter().sum::<u64>() * 1000;
    let spec = StreamSpec {
        direction: if args.download {
            Direction::Download
        } else {
            Direction::Upload
        },
        duration_ms: total_ms + 300,
        chunk,
        interval_us: 1000,
        ..StreamSpec::default()
    };
    let stream = StreamRun::start(&tb, &stream_bin, &spec)?;
    let target_bps = chunk as f64 * 1000.0;
    let p = Paint(!args.no_color);
    let dl = args.download;
    let what = if dl {
        "download server → phone"
    } else {
        "upload phone → server"
    };
    let mut screen = Screen::new();
    let t0 = monotonic_us();
    let ends: Vec<u64> = secs
        .iter()
        .scan(t0, |t, s| {
            *t += s * 1_000_000;
            Some(*t)
        })
        .collect();
    let rx = |m: &std::collections::HashMap<String, mptcp_policy_tests::LinkBytes>| {
        PATHS.map(|(n, _)| m.get(n).map_or(0, |b| if dl { b.rx } else { b.tx }))
    };
    let mut prev = (t0, rx(&link_bytes(&cns)?));
    let mut phase_start = prev.1;
    let (mut phase, mut cut, mut up) = (0usize, 0u64, 0u64);
    let (mut back_ms, mut phase_bytes) = (None, Vec::new());
    let (mut log_cut, mut log_up) = (0usize, 0usize);
    let mut rates = [0.0f64; 2];
    loop {
        if demo::stop_requested() {
            return Ok(None);
        }
        let now = monotonic_us();
        let cur = rx(&link_bytes(&cns)?);
        if now >= ends[phase] {
            phase_bytes.push([cur[0] - phase_start[0], cur[1] - phase_start[1]]);
            phase_start = cur;
            phase += 1;
            if phase == PHASES.len() {
                break;
            }
            let log_len = daemon.stderr().len();
            if phase == 1 {
                log_cut = log_len;
                cut = tb.link_down("wlan0")?;
            } else {
                log_up = log_len;
                up = demo::wifi_up(&tb)?;
            }
        }
        let dt = (now - prev.0).max(1) as f64 / 1e6;
        for i in 0..2 {
            rates[i] = (cur[i] - prev.1[i]) as f64 / dt;
        }
        prev = (now, cur);
        if phase == 2 && back_ms.is_none() && rates[0] > rates[1] && rates[0] > 0.2 * target_bps {
            back_ms = Some((now - up) / 1000);
        }
        let left = ends[phase].saturating_sub(now) as f64 / 1e6;
        let mut lines = vec![
            p.c(
                "1",
                &format!(" mptcp-policyd live demo — one MPTCP connection, {what}"),
            ),
            format!(
                " phase {}/3  {} {}",
                phase + 1,
                p.c("1;33", &format!("{:<11}", PHASES[phase].0)),
                p.c("1", &format!("{left:4.1} s left"))
            ),
            format!(" {}", p.c("2", PHASES[phase].1)),
            String::new(),
        ];
        for (i, (ifname, kind)) in PATHS.iter().enumerate() {
            let frac = rates[i] / (target_bps * 1.25);
            let colour = if i == 0 { "32" } else { "36" };
            let state = if i == 0 && phase == 1 {
                p.c("31", " link down")
            } else {
                String::new()
            };
            lines.push(format!(
                " {ifname} {kind} {} {}{state}",
                p.c(colour, &demo::bar(frac, 40)),
                demo::fmt_rate(rates[i])
            ));
        }
        lines.push(String::new());
        lines.push(p.c("1", " kernel endpoints (ip mptcp endpoint show):"));
        let eps = tb.client_endpoints().unwrap_or_else(|e| format!("{e:#}"));
        lines.extend(eps.lines().map(|l| format!("   {l}")));
        if eps.trim().is_empty() {
            lines.push("   (none)".into());
        }
        lines.push(p.c("1", " mptcp-policyd log:"));
        // Wrapped at words (two rows at most, then "…"), never cut mid-word.
        let log = demo::tail_lines(&daemon.stderr(), 6);
        let width = demo::term_width().saturating_sub(4);
        for l in &log {
            let rows = demo::wrap_line(&demo::short_time(l), width, 2);
            lines.extend(rows.iter().map(|r| format!("   {r}")));
        }
        screen.draw(&lines);
        let next = now + FRAME_MS * 1000;
        if !demo::sleep_unless_stopped(next.saturating_sub(monotonic_us()) / 1000) {
            return Ok(None);
        }
    }
    drop(screen);
    println!("\nwaiting for the stream to finish …");
    let res = stream.wait(Duration::from_secs(15))?;
    let log = daemon.stderr();
    let rxr = &res.receiver;
    // The read that ends the longest silence after the cut: data flows on LTE.
    let resumed = rxr
        .reads
        .windows(2)
        .filter(|w| w[1].0 >= cut)
        .max_by_key(|w| w[1].0 - w[0].0)
        .map_or(cut, |w| w[1].0.max(cut));
    Ok(Some(demo::Summary {
        gap_ms: rxr.gap_after(cut) as f64 / 1000.0,
        steady_ms: rxr
            .cut_to_steady(resumed)
            .map(|us| (us + resumed - cut) as f64 / 1000.0),
        resumed_ms: (resumed - cut) as f64 / 1000.0,
        back_ms,
        phase_bytes,
        reaction_down: parse_reaction_us(log.get(log_cut..log_up).unwrap_or("")),
        reaction_up: parse_reaction_us(log.get(log_up..).unwrap_or("")),
        received: rxr.bytes_received,
        error: res.check().err().map(|e| format!("{e:#}")),
    }))
}
