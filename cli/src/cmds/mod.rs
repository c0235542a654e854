//! The command line (clap) and one module per subcommand.

use clap::{Parser, Subcommand};

use crate::client::Client;
use crate::error::{Result, EXIT_CODES_HELP};

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
pub struct Ctx {
    pub json: bool,
    pub ask: bool,
}

impl Ctx {
    pub async fn connect(&self) -> Result<Client> {
        Client::connect(self.ask).await
    }
}

/// Runs the command. Commands that talk to the daemon run on zbus's
/// executor; local validation happens before connecting.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        json: cli.json,
        ask: !cli.no_ask,
    };
    match cli.command {
        Command::Status(a) => zbus::block_on(status::run(&ctx, a)),
        Command::Connections(a) => zbus::block_on(connections::run(&ctx, a)),
        Command::SetRole(a) => zbus::block_on(set_role::run(&ctx, a)),
        Command::Metered(a) => zbus::block_on(metered::run(&ctx, a)),
        Command::Budget(a) => zbus::block_on(budget::run(&ctx, a)),
        Command::ResetUsage(a) => zbus::block_on(reset_usage::run(&ctx, a)),
        Command::Policy(a) => zbus::block_on(policy::run(&ctx, a)),
        Command::Reload(a) => zbus::block_on(reload::run(&ctx, a)),
        Command::Monitor(a) => zbus::block_on(monitor::run(&ctx, a)),
        Command::Run(a) => run::run(a),
        Command::Enable(a) => zbus::block_on(enable::run(&ctx, a)),
        Command::Disable(a) => zbus::block_on(disable::run(&ctx, a)),
        Command::Apps(a) => zbus::block_on(apps::run(&ctx, a)),
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
