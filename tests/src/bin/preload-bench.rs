//! `preload-bench`: what `libmptcp_preload.so` costs per `socket()` +
//! `close()`, with and without the library, in fresh network namespaces
//! (one with MPTCP on, one with `net.mptcp.enabled=0` for the fallback).
//! Each case runs in its own process (started with or without
//! `LD_PRELOAD`), `--calls` pairs per run, `--runs` rounds over all cases;
//! prints min and median per case and differences of the minima as a
//! table (or JSON with `--json`).
//!
//! Usage: preload-bench [--calls N] [--runs R] [--library PATH] [--json]

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Parser;
use mptcp_policy_tests::stats::Summary;
use mptcp_policy_tests::{ns_exec, Netns};

#[derive(Parser)]
struct Args {
    /// socket()+close() pairs per run.
    #[arg(long, default_value_t = 100_000)]
    calls: u64,
    /// Runs per case (the median is shown).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The library (default: $MPTCP_PRELOAD_LIBRARY, else next to this binary).
    #[arg(long)]
    library: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Internal: run one measurement of this socket kind and print ns/call.
    #[arg(long, hide = true)]
    worker: Option<String>,
}

/// (family, type, protocol) of a kind.
fn kind(name: &str) -> Result<(i32, i32, i32)> {
    Ok(match name {
        "tcp" => (libc::AF_INET, libc::SOCK_STREAM, 0),
        "mptcp" => (libc::AF_INET, libc::SOCK_STREAM, 262),
        "udp" => (libc::AF_INET, libc::SOCK_DGRAM, 0),
        other => bail!("unknown kind {other}"),
    })
}

/// One run: `calls` pairs after a warm-up; ns per pair.
fn worker(name: &str, calls: u64) -> Result<f64> {
    let (family, ty, proto) = kind(name)?;
    let pair = || {
        // SAFETY: plain socket/close on integers; the fd is ours.
        unsafe {
            let fd = libc::socket(family, ty, proto);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
        }
        Ok(())
    };
    for _ in 0..calls / 10 {
        pair()?;
    }
    let start = std::time::Instant::now();
    for _ in 0..calls {
        pair()?;
    }
    Ok(start.elapsed().as_nanos() as f64 / calls as f64)
}

struct Case {
    name: &'static str,
    kind: &'static str,
    preload: bool,
    mptcp_off: bool,
}

const CASES: [Case; 6] = [
    Case {
        name: "TCP, no library",
        kind: "tcp",
        preload: false,
        mptcp_off: false,
    },
    Case {
        name: "MPTCP asked for by the program",
        kind: "mptcp",
        preload: false,
        mptcp_off: false,
    },
    Case {
        name: "TCP -> MPTCP by the library",
        kind: "tcp",
        preload: true,
        mptcp_off: false,
    },
    Case {
        name: "TCP, library, MPTCP off (fallback)",
        kind: "tcp",
        preload: true,
        mptcp_off: true,
    },
    Case {
        name: "UDP, no library",
        kind: "udp",
        preload: false,
        mptcp_off: false,
    },
    Case {
        name: "UDP, library (passed through)",
        kind: "udp",
        preload: true,
        mptcp_off: false,
    },
];

fn main() {
    let args = Args::parse();
    let result = match &args.worker {
        Some(k) => worker(k, args.calls).map(|ns| println!("{ns:.1}")),
        None => bench(&args),
    };
    if let Err(e) = result {
        eprintln!("preload-bench: {e:#}");
        std::process::exit(1);
    }
}

fn library(args: &Args) -> Result<PathBuf> {
    let p = match (&args.library, std::env::var_os("MPTCP_PRELOAD_LIBRARY")) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => PathBuf::from(p),
        (None, None) => std::env::current_exe()?
            .parent()
            .context("exe dir")?
            .join("libmptcp_preload.so"),
    };
    if !p.is_file() {
        bail!(
            "{} missing (cargo build --release -p mptcp-preload)",
            p.display()
        );
    }
    Ok(p.canonicalize()?)
}

fn bench(args: &Args) -> Result<()> {
    let lib = library(args)?;
    let exe = std::env::current_exe()?;
    let on = Netns::new(&format!("mptbench{}on", std::process::id()))?;
    let off = Netns::new(&format!("mptbench{}off", std::process::id()))?;
    ns_exec(off.name(), "sysctl", &["-qw", "net.mptcp.enabled=0"])?;
    // Rounds over all cases (not case after case), so that load from
    // elsewhere on the machine spreads over every case alike.
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); CASES.len()];
    for _ in 0..args.runs {
        for (case, samples) in CASES.iter().zip(samples.iter_mut()) {
            let ns = if case.mptcp_off {
                off.name()
            } else {
                on.name()
            };
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", ns])
                .arg(&exe)
                .args(["--worker", case.kind, "--calls", &args.calls.to_string()])
                .env_remove("LD_PRELOAD");
            if case.preload {
                cmd.env("LD_PRELOAD", &lib);
            }
            let out = cmd.output().context("worker")?;
            if !out.status.success() {
                bail!("{}: {}", case.name, String::from_utf8_lossy(&out.stderr));
            }
            samples.push(String::from_utf8_lossy(&out.stdout).trim().parse::<f64>()?);
        }
    }
    // The minimum is the run least disturbed by the rest of the machine;
    // differences are taken between minima.
    let rows: Vec<(&str, f64, f64)> = CASES
        .iter()
        .zip(&samples)
        .map(|(c, s)| {
            let sum = Summary::of(s);
            (
                c.name,
                sum.map_or(f64::NAN, |s| s.min),
                sum.map_or(f64::NAN, |s| s.median),
            )
        })
        .collect();
    let base = |name: &str| {
        rows.iter()
            .find(|r| r.0 == name)
            .map(|r| r.1)
            .unwrap_or(f64::NAN)
    };
    let tcp = base(CASES[0].name);
    let mptcp = base(CASES[1].name);
    let udp = base(CASES[4].name);
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(n, min, med)| serde_json::json!({"case": n, "min_ns": min, "median_ns": med}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"calls": args.calls, "runs": args.runs, "cases": v})
        );
        return Ok(());
    }
    println!(
        "socket()+close() per call, {} calls x {} runs, library {}",
        args.calls,
        args.runs,
        lib.display()
    );
    println!(
        "{:<38} {:>8} {:>8}  difference of the minima",
        "case", "min ns", "med ns"
    );
    for (name, ns, med) in &rows {
        let note = match *name {
            n if n == CASES[2].name => format!("{:+.0} ns vs. MPTCP asked directly", ns - mptcp),
            n if n == CASES[3].name => {
                format!("{:+.0} ns vs. TCP (a refused MPTCP try first)", ns - tcp)
            }
            n if n == CASES[5].name => format!("{:+.0} ns vs. UDP (interposer alone)", ns - udp),
            n if n == CASES[1].name => {
                format!("{:+.0} ns vs. TCP (the kernel's MPTCP socket)", ns - tcp)
            }
            _ => String::new(),
        };
        println!("{name:<38} {ns:>8.0} {med:>8.0}  {note}");
    }
    Ok(())
}
