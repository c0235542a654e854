//! `disable UNIT` / `disable --cgroup PATH`.

use std::path::PathBuf;

use serde_json::json;

use super::{done, Ctx};
use crate::apps::dropin;
use crate::error::Result;

/// Take a systemd service (or a cgroup) off MPTCP again
///
/// disable UNIT removes the drop-in /etc/systemd/system/UNIT.d/50-mptcp.conf
/// written by 'enable UNIT' (and the UNIT.d directory when nothing else is
/// in it); the service uses plain TCP after
///   systemctl daemon-reload && systemctl restart UNIT
/// A file of that name not written by mptcp-policyctl is left alone.
///
/// disable --cgroup PATH asks the daemon to take the cgroup off its BPF
/// hook (polkit action org.mptcp.policy.configure).
///
/// Examples:
///   mptcp-policyctl disable nginx
///   mptcp-policyctl disable --cgroup /system.slice/nginx.service
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["unit", "cgroup"])))]
pub struct Args {
    /// The systemd service (NAME or NAME.service)
    #[arg(value_name = "UNIT")]
    pub unit: Option<String>,
    /// A cgroup v2 path enabled with 'enable --cgroup'
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<String>,
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
        let client = ctx.connect().await?;
        client.calls.disable_cgroup(path.as_str()).await?;
        done(
            ctx,
            &format!("cgroup {path}: MPTCP disabled"),
            json!({"cgroup": path, "disabled": true}),
        );
        return Ok(());
    }
    let unit = dropin::unit_name(args.unit.as_deref().unwrap_or_default())?;
    let file = dropin::remove(&args.root, &unit)?;
    let restart = format!("systemctl daemon-reload && systemctl restart {unit}");
    done(
        ctx,
        &format!(
            "{unit}: MPTCP disabled (removed {})\nApply it with: {restart}",
            file.display()
        ),
        json!({"unit": unit, "removed": file, "restart": restart}),
    );
    Ok(())
}
