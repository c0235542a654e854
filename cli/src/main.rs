//! mptcp-policyctl: command-line client of mptcp-policyd over D-Bus.
//!
//! Talks to the daemon only through the contract crate `mptcp-policy-dbus`
//! (names, errors, types, proxies) on the system bus.

use std::process::ExitCode;

use clap::Parser;

mod apps;
mod client;
mod cmds;
mod error;
mod format;
mod model;
mod units;

fn main() -> ExitCode {
    let cli = match cmds::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::from(error::EXIT_OK);
        }
        Err(e) => {
            if std::env::args_os().any(|a| a == "--json") {
                let msg = e.kind().as_str().unwrap_or("usage error").to_string();
                let rendered = e.render().to_string();
                let detail = rendered.lines().next().unwrap_or(&msg);
                let detail = detail.strip_prefix("error: ").unwrap_or(detail);
                eprintln!(
                    "{}",
                    serde_json::json!({"error": "Usage", "message": detail,
                                       "exit_code": error::EXIT_USAGE})
                );
            } else {
                let _ = e.print();
            }
            return ExitCode::from(error::EXIT_USAGE);
        }
    };
    let json = cli.json;
    match cmds::run(cli) {
        Ok(()) => ExitCode::from(error::EXIT_OK),
        Err(e) => {
            if json {
                eprintln!("{}", e.json());
            } else {
                eprintln!("mptcp-policyctl: {}", e.human());
            }
            ExitCode::from(e.exit_code())
        }
    }
}
