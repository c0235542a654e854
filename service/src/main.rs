//! mptcp-policyd: entry point. Parses the command line, sets up logging and
//! runs the engine on a single-threaded runtime (one owner of state; the
//! daemon is I/O bound and small).

mod apps;
mod bpf;
mod bus;
mod cleanup;
mod cli;
mod config;
mod connections;
mod control;
mod engine;
mod health;
mod links;
mod man;
mod networkmanager;
mod preflight;
mod reconcile;
mod store;
mod subflow_bytes;
mod usage;
mod userspace;
mod views;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tune_malloc();
    let args = cli::Args::parse();
    if args.man {
        return man::print();
    }
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mptcp-policyd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let job = async {
        if args.clean_up {
            cleanup::run(&store::StateDir::open(&args.state_choice().dir)?).await
        } else {
            engine::run(args).await
        }
    };
    match runtime.block_on(job) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("mptcp-policyd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc's allocator, set for a small long-running daemon: one arena (the
/// health and probe threads allocate little; an arena per thread kept
/// ~130 KB each), and fixed thresholds. By default glibc raises both after
/// a large block is freed (libbpf's copy of the kernel's BTF at start, 16 MB):
/// every later block up to that size then comes from the heap, which is
/// not given back below 32 MB — measured ~1 MB of freed heap kept resident.
fn tune_malloc() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator parameters; called before any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

/// Logs to stderr (journald captures it under systemd). `RUST_LOG` or
/// `MPTCP_POLICYD_LOG` select the level; default `info`.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("MPTCP_POLICYD_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
