//! `enable UNIT` / `enable --cgroup PATH`.

use std::path::PathBuf;

use serde_json::json;

use super::{done, Ctx};
use crate::apps::{dropin, library};
use crate::error::Result;

/// Put a systemd service (or a cgroup) on MPTCP
///
/// enable UNIT writes the systemd drop-in
///   /etc/systemd/system/UNIT.d/50-mptcp.conf
/// with
///   [Service]
///   Environment=LD_PRELOAD=/usr/lib/mptcp-policyd/libmptcp_preload.so
///   Environment=GODEBUG=multipathtcp=1
/// so the service's TCP sockets become MPTCP sockets (with a plain-TCP
/// fallback, see 'mptcp-policyctl run --help'); Go programs get MPTCP
/// through GODEBUG. The drop-in replaces LD_PRELOAD and GODEBUG values the
/// unit sets itself. It takes effect when the service restarts:
///   systemctl daemon-reload && systemctl restart UNIT
/// UNIT is a service name; "nginx" means nginx.service, templates
/// (worker@.service) cover every instance. Running it again rewrites the
/// drop-in; a file of that name not written by mptcp-policyctl is left
/// alone. Writing below /etc needs root; no daemon is needed.
///
/// enable --cgroup PATH asks the daemon to put every process of the cgroup
/// v2 PATH (and of the cgroups below it) on MPTCP through the kernel's BPF
/// hook, no LD_PRELOAD needed. PATH is as in /proc/PID/cgroup, e.g.
/// /system.slice/nginx.service. Where the kernel refuses the BPF program
/// ('mptcp-policyctl status' shows "BPF: unavailable (...)") the cgroup is
/// recorded but its sockets stay TCP: use enable UNIT instead. Needs polkit
/// action org.mptcp.policy.configure (administrator).
///
/// Examples:
///   mptcp-policyctl enable nginx
///   mptcp-policyctl enable --cgroup /system.slice/nginx.service
///   mptcp-policyctl --root /tmp/image enable nginx.service
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["unit", "cgroup"])))]
pub struct Args {
    /// The systemd service (NAME or NAME.service)
    #[arg(value_name = "UNIT")]
    pub unit: Option<String>,
    /// A cgroup v2 path to enable through the daemon's BPF hook instead
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<String>,
    /// The preload library the drop-in names (default: found like 'run')
    #[arg(long, value_name = "FILE")]
    pub library: Option<PathBuf>,
    /// Root directory of the system whose units are changed
    #[arg(
        long,
        value_name = "DIR",
        env = "MPTCP_POLICYCTL_ROOT",
        default_value = "/"
    )]
    pub root: PathBuf,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(path) = args.cgroup {
        return enable_cgroup(ctx, &path).await;
    }
    let unit = dropin::unit_name(args.unit.as_deref().unwrap_or_default())?;
    let lib = library::find(args.library.as_deref())?;
    let file = dropin::write(&args.root, &unit, &lib)?;
    let exists = dropin::unit_file_exists(&args.root, &unit);
    let restart = format!("systemctl daemon-reload && systemctl restart {unit}");
    let mut text = format!(
        "{unit}: MPTCP enabled ({})\nApply it with: {restart}",
        file.display()
    );
    if !exists {
        text.push_str(&format!(
            "\nwarning: no unit file {unit} found; the drop-in applies once it exists"
        ));
    }
    done(
        ctx,
        &text,
        json!({"unit": unit, "dropin": file, "library": lib, "restart": restart,
               "unit_file_found": exists}),
    );
    Ok(())
}

async fn enable_cgroup(ctx: &Ctx, path: &str) -> Result<()> {
    let client = ctx.connect().await?;
    client.calls.enable_cgroup(path).await?;
    let bpf = client.manager().bpf_status().await.unwrap_or_default();
    let mut text = format!("cgroup {path}: MPTCP enabled");
    if !bpf.starts_with("active") {
        text.push_str(&format!(
            "\nwarning: BPF {bpf}: its sockets stay TCP; use 'mptcp-policyctl enable UNIT' \
             or 'mptcp-policyctl run'"
        ));
    }
    done(ctx, &text, json!({"cgroup": path, "bpf_status": bpf}));
    Ok(())
}
