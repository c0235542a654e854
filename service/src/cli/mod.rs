//! The daemon's command line (fixed by DESIGN.md: `--config`, `--dry-run`,
//! `--no-dbus`; the rest are paths a packager or test may override).

mod quick;

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};

/// mptcp-policyd turns user and carrier policy (WiFi preferred, LTE as
/// backup, ...) into the kernel's MPTCP endpoints and limits, and keeps them
/// true while links and addresses come and go.
#[derive(Debug, PartialEq, Eq, Parser)]
#[command(name = "mptcp-policyd", version, about = "MPTCP path policy daemon")]
pub struct Args {
    /// Use this policy file alone, without the layered vendor/admin files
    /// and without saved D-Bus changes (for tests and demos); see FILES
    /// for its state directory.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the netlink commands the daemon would send, change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Run without the D-Bus interface.
    #[arg(long)]
    pub no_dbus: bool,

    /// Receive buffer of the MPTCP event socket, in bytes (default 8 MiB:
    /// no event lost at 10,000 connections). A small value makes the kernel
    /// drop events (ENOBUFS), which the daemon answers with a full resync
    /// from dumps — for tests and benchmarks of that path.
    #[arg(long, value_name = "BYTES", default_value_t = mptcp_policy_netlink::pm::EVENT_RCVBUF)]
    pub event_buffer: usize,

    /// Delete the endpoints this daemon created (as recorded in the state
    /// directory) and put back the path manager it switched, then exit.
    /// For the package's removal script, with the service stopped;
    /// endpoints added by anyone else are left alone.
    #[arg(long, conflicts_with_all = ["check", "dry_run"])]
    pub clean_up: bool,

    /// Print this manual page (roff, section 8) and exit: packagers
    /// generate mptcp-policyd.8 with it.
    #[arg(long, hide = true)]
    pub man: bool,

    /// Validate the policy, print the effective policy and exit.
    #[arg(long)]
    pub check: bool,

    /// Where ownership, usage and the D-Bus changes are kept across
    /// restarts [default: /var/lib/mptcp-policyd; with --config a directory
    /// of its own, see FILES].
    #[arg(long, value_name = "DIR", env = STATE_DIRECTORY_ENV)]
    pub state_dir: Option<PathBuf>,

    /// Vendor/carrier defaults directory (`*.toml`, lowest priority).
    #[arg(long, value_name = "DIR", default_value = mptcp_policy::VENDOR_DIR)]
    pub vendor_dir: PathBuf,

    /// The administrator's policy file.
    #[arg(long, value_name = "FILE", default_value = mptcp_policy::ADMIN_FILE)]
    pub admin_file: PathBuf,

    /// The administrator's drop-in directory (`*.toml`, highest priority).
    #[arg(long, value_name = "DIR", default_value = mptcp_policy::ADMIN_DIR)]
    pub admin_dir: PathBuf,

    /// The cgroup v2 mount that EnableCgroup paths are relative to
    /// (default: found in /proc/self/mountinfo).
    #[arg(long, value_name = "DIR")]
    pub cgroup_root: Option<PathBuf>,
}

/// Parses the daemon's command line; exits with clap's message on an
/// error, and after printing `--help` or `--version`.
///
/// The command lines the unit, the packages' scripts, tests and benchmarks
/// pass (long options, values that are paths or numbers) are read by
/// [`quick::parse`]; anything else goes to clap. Why two: clap builds its
/// whole command — every argument with its help — before matching, 85 µs
/// of a cold start here (31 µs to build, 45 µs to match, measured), as long
/// as the rest of the daemon takes to read the kernel's state; the start
/// is the one figure where the daemon trailed mptcpd (README,
/// "Footprint"). clap stays the definition (`Args`), the help, the man
/// page and every error message; `quick`'s tests hold it to clap's answers.
pub fn parse() -> Args {
    quick::parse(
        std::env::args_os().skip(1),
        std::env::var_os(STATE_DIRECTORY_ENV),
    )
    .unwrap_or_else(parse_with_clap)
}

/// The environment variable `--state-dir` falls back to.
const STATE_DIRECTORY_ENV: &str = "STATE_DIRECTORY";

/// clap's parse, with the FILES and ENVIRONMENT tables after `--help`
/// formatted only when help is asked for.
fn parse_with_clap() -> Args {
    let mut command = Args::command();
    if std::env::args_os()
        .skip(1)
        .any(|a| a == "--help" || a == "-h")
    {
        command = command.after_help(crate::man::after_help());
    }
    let matches = command.get_matches();
    Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The system's state directory (systemd's `StateDirectory=` sets
/// `STATE_DIRECTORY` to it).
pub const SYSTEM_STATE_DIR: &str = "/var/lib/mptcp-policyd";
/// Where `--config` runs without an explicit state directory keep theirs.
pub const CONFIG_STATE_BASE: &str = "/run/mptcp-policyd";

/// Which state directory a run uses, and whether the D-Bus layer saved
/// there is part of its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChoice {
    pub dir: PathBuf,
    /// Load and save the D-Bus layer (false for a `--config` run with a
    /// state directory of its own: "this file alone").
    pub dbus_layer: bool,
}

impl Args {
    /// An explicit `--state-dir`/`STATE_DIRECTORY` always wins; a
    /// `--config` run otherwise gets a directory derived from the config
    /// file's path, so it never inherits the system's saved changes or
    /// usage, while a restart with the same file still finds the endpoints
    /// it owns.
    pub fn state_choice(&self) -> StateChoice {
        match (&self.state_dir, &self.config) {
            (Some(dir), _) => StateChoice {
                dir: dir.clone(),
                dbus_layer: true,
            },
            (None, Some(config)) => {
                let path = std::fs::canonicalize(config).unwrap_or_else(|_| config.clone());
                StateChoice {
                    dir: PathBuf::from(CONFIG_STATE_BASE).join(format!(
                        "config-{:016x}",
                        fnv1a(path.as_os_str().as_encoded_bytes())
                    )),
                    dbus_layer: false,
                }
            }
            (None, None) => StateChoice {
                dir: PathBuf::from(SYSTEM_STATE_DIR),
                dbus_layer: true,
            },
        }
    }
}

/// FNV-1a, 64 bit: a short stable name for a path (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("mptcp-policyd").chain(argv.iter().copied()))
            .expect("valid arguments")
    }

    #[test]
    fn config_alone_gets_a_state_directory_of_its_own() {
        // (STATE_DIRECTORY is not set where the tests run.)
        let own = args(&["--config", "/nonexistent/a.toml"]).state_choice();
        assert!(own.dir.starts_with(CONFIG_STATE_BASE), "{own:?}");
        assert!(!own.dbus_layer);
        let other = args(&["--config", "/nonexistent/b.toml"]).state_choice();
        assert_ne!(own.dir, other.dir);
        assert_eq!(
            own,
            args(&["--config", "/nonexistent/a.toml"]).state_choice()
        );
        let explicit = args(&["--config", "/x.toml", "--state-dir", "/tmp/s"]).state_choice();
        assert_eq!(explicit.dir, PathBuf::from("/tmp/s"));
        assert!(explicit.dbus_layer);
        let system = args(&[]).state_choice();
        assert_eq!(system.dir, PathBuf::from(SYSTEM_STATE_DIR));
        assert!(system.dbus_layer);
    }
}
