//! The command line (clap) and one module per subcommand.

use std::sync::mpsc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::client::Client;
use mptcp_policy_dbus::names::BUS_NAME;

use crate::error::{CliError, Result, EXIT_CODES_HELP};

pub mod apps;
pub mod budget;
pub mod completions;
pub mod connections;
pub mod disable;
pub mod enable;
pub mod man;
pub mod metered;
pub mod monitor;
pub mod notify;
pub mod policy;
pub mod reload;
pub mod reset_usage;
pub mod run;
pub mod set_role;
pub mod status;

const LONG_ABOUT: &str = "\
mptcp-policyctl talks to mptcp-policyd, the MPTCP path policy daemon, over \
the D-Bus system bus (name org.mptcp.Policy1). It shows which interfaces \
carry MPTCP traffic and in which role, lists MPTCP connections with their \
subflows, changes roles, metered flags and data budgets, reads, validates \
and replaces the policy, and follows the daemon's events live. It also puts \
unmodified programs on MPTCP: 'run' starts one with the preload library, \
'enable'/'disable' add or remove it for a systemd service (no daemon \
needed for these) or a cgroup (through the daemon's BPF hook), 'apps' \
lists what is enabled.

Reading is open to every user. Changes are checked by polkit: switching \
an interface's role (action org.mptcp.policy.set-role) is allowed to a \
local active user, everything else (org.mptcp.policy.configure) needs an \
administrator. By default polkit may ask for a password through an \
authentication agent; --no-ask turns that off.

The bus is found through DBUS_SYSTEM_BUS_ADDRESS, or the default system \
bus socket.

Examples:
  mptcp-policyctl status
  mptcp-policyctl set-role cellular backup
  mptcp-policyctl budget wwan0 2GiB monthly
  mptcp-policyctl policy validate /etc/mptcp-policyd/policy.toml
  mptcp-policyctl --json connections | jq '.[].token'
  mptcp-policyctl monitor
  mptcp-policyctl run -- curl https://example.org
  mptcp-policyctl enable nginx";

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "mptcp-policyctl",
    version,
    about = "Control and inspect mptcp-policyd, the MPTCP path policy daemon",
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES_HELP,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Print machine-readable JSON instead of text (errors as
    /// {"error": NAME, "message": TEXT} on stderr; monitor prints JSON lines).
    #[arg(long, global = true)]
    pub json: bool,

    /// Never let polkit ask for a password: fail with "not authorized"
    /// instead (by default the interactive-authorization flag is set on
    /// calls that change something).
    #[arg(long, global = true)]
    pub no_ask: bool,

    /// Give up when the daemon has not answered after SECS seconds (default
    /// 25, as busctl; 300 for a command that changes something while polkit
    /// may ask for a password); exit status 1.
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub call_timeout: Option<u64>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Status(status::Args),
    Connections(connections::Args),
    SetRole(set_role::Args),
    Metered(metered::Args),
    Budget(budget::Args),
    ResetUsage(reset_usage::Args),
    Policy(policy::Args),
    Reload(reload::Args),
    Monitor(monitor::Args),
    Run(run::Args),
    Enable(enable::Args),
    Disable(disable::Args),
    Apps(apps::Args),
    Notify(notify::Args),
    Completions(completions::Args),
    Man(man::Args),
}

/// What every command gets besides its own arguments.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub json: bool,
    pub ask: bool,
}

impl Ctx {
    pub async fn connect(&self) -> Result<Client> {
        Client::connect(self.ask).await
    }
}

/// How long a command may wait for the daemon by default: libdbus's and
/// busctl's call time-out. Without one a stuck daemon hung the command for
/// ever (zbus's own `method_timeout` does not cover proxy calls).
const CALL_TIMEOUT: Duration = Duration::from_secs(25);
/// The same for a command that changes something while polkit may ask for
/// a password: the user needs the time to type it.
const ASKING_CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs a command that talks to the daemon on zbus's executor, on a thread
/// of its own, and gives up after `timeout` (connecting included): the
/// process ends with the error either way.
fn on_bus<F, Fut>(ctx: Ctx, timeout: Duration, command: F) -> Result<()>
where
    F: FnOnce(Ctx) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<()>>,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(zbus::block_on(command(ctx)));
    });
    match rx.recv_timeout(timeout) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(CliError::failed(format!(
            "{BUS_NAME} did not answer within {} s (--call-timeout): mptcp-policyd is \
             running but busy or stuck; its log: journalctl -u mptcp-policyd",
            timeout.as_secs()
        ))),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(CliError::failed(
            "the command ended without a result (it panicked?)",
        )),
    }
}

/// Runs the command. Commands that talk to the daemon run on zbus's
/// executor, bounded by `--call-timeout`; local validation happens before
/// connecting.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        json: cli.json,
        ask: !cli.no_ask,
    };
    let given = cli.call_timeout.map(Duration::from_secs);
    let read = given.unwrap_or(CALL_TIMEOUT);
    let change = given.unwrap_or(if ctx.ask {
        ASKING_CALL_TIMEOUT
    } else {
        CALL_TIMEOUT
    });
    match cli.command {
        Command::Status(a) => on_bus(ctx, read, |c| async move { status::run(&c, a).await }),
        Command::Connections(a) => {
            on_bus(ctx, read, |c| async move { connections::run(&c, a).await })
        }
        Command::SetRole(a) => on_bus(ctx, change, |c| async move { set_role::run(&c, a).await }),
        Command::Metered(a) => on_bus(ctx, change, |c| async move { metered::run(&c, a).await }),
        Command::Budget(a) => on_bus(ctx, change, |c| async move { budget::run(&c, a).await }),
        Command::ResetUsage(a) => on_bus(
            ctx,
            change,
            |c| async move { reset_usage::run(&c, a).await },
        ),
        Command::Policy(a) => {
            let t = if a.changes() { change } else { read };
            on_bus(ctx, t, |c| async move { policy::run(&c, a).await })
        }
        Command::Reload(a) => on_bus(ctx, change, |c| async move { reload::run(&c, a).await }),
        // Runs until interrupted: not bounded.
        Command::Monitor(a) => zbus::block_on(monitor::run(&ctx, a)),
        Command::Run(a) => run::run(a),
        Command::Enable(a) => on_bus(ctx, change, |c| async move { enable::run(&c, a).await }),
        Command::Disable(a) => on_bus(ctx, change, |c| async move { disable::run(&c, a).await }),
        Command::Apps(a) => on_bus(ctx, read, |c| async move { apps::run(&c, a).await }),
        // Bounded by its own --timeout (ms), as the dispatcher hook needs.
        Command::Notify(a) => notify::run(&ctx, a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
    }
}

/// Prints a JSON value on one line (scripts read it with jq).
pub fn print_json(value: &serde_json::Value) {
    out(&value.to_string());
}

/// Writes one or more lines to stdout (a newline is added when missing).
/// A closed pipe (`| head`) ends the process quietly instead of panicking
/// like `println!`.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    if let Err(e) = write!(stdout, "{text}{newline}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(i32::from(crate::error::EXIT_OK));
        }
        eprintln!("mptcp-policyctl: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Reports a successful change: `text` for humans, `json` for scripts.
pub fn done(ctx: &Ctx, text: &str, json: serde_json::Value) {
    if ctx.json {
        print_json(&json);
    } else {
        out(text);
    }
}
