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
