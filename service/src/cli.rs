//! The daemon's command line (fixed by DESIGN.md: `--config`, `--dry-run`,
//! `--no-dbus`; the rest are paths a packager or test may override).

use std::path::PathBuf;

use clap::Parser;

/// mptcp-policyd turns user and carrier policy (WiFi preferred, LTE as
/// backup, ...) into the kernel's MPTCP endpoints and limits, and keeps them
/// true while links and addresses come and go.
#[derive(Debug, Parser)]
#[command(
    name = "mptcp-policyd",
    version,
    about = "MPTCP path policy daemon",
    after_help = crate::man::after_help()
)]
pub struct Args {
    /// Use this policy file alone, without the layered vendor/admin files
    /// (for tests and demos).
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

    /// Where ownership and usage are kept across restarts.
    #[arg(
        long,
        value_name = "DIR",
        env = "STATE_DIRECTORY",
        default_value = "/var/lib/mptcp-policyd"
    )]
    pub state_dir: PathBuf,

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
