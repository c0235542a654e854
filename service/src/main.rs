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
mod localtime;
mod man;
mod memory;
mod networkmanager;
mod preflight;
mod reconcile;
mod store;
mod subflow_bytes;
mod usage;
mod userspace;
mod views;

use std::process::ExitCode;

fn main() -> ExitCode {
    memory::tune();
    let args = cli::parse();
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

/// Logs to stderr (journald captures it under systemd). `MPTCP_POLICYD_LOG`
/// (or `RUST_LOG`) selects levels: `debug`, or per module
/// `info,mptcp_policyd::userspace=warn`; default `info`. Parsed by
/// tracing-subscriber's `Targets`, not `EnvFilter`: the latter compiles
/// regular expressions at every start (250 KB of their code resident)
/// for span and field filters the daemon has no use for.
fn init_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter = ["MPTCP_POLICYD_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| {
            Some((
                var,
                std::env::var(var).ok().filter(|s| !s.trim().is_empty())?,
            ))
        })
        .and_then(|(var, spec)| match spec.parse::<Targets>() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("mptcp-policyd: {var}={spec:?} is no log filter ({e}); logging at info");
                None
            }
        })
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colours only on a terminal: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    tracing_subscriber::registry()
        .with(output)
        .with(filter)
        .init();
}
