//! `reset-usage IFACE`.

use serde_json::json;

use super::{done, Ctx};
use crate::error::Result;
use crate::units::check_interface;

/// Reset the data counted against an interface's budget to zero
///
/// Needs polkit action org.mptcp.policy.configure (administrator).
///
/// Example:
///   mptcp-policyctl reset-usage wwan0
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Interface name
    #[arg(value_name = "IFACE")]
    pub interface: String,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let interface = check_interface(&args.interface)?;
    let client = ctx.connect().await?;
    client.calls.reset_usage(interface).await?;
    done(
        ctx,
        &format!("{interface}: usage reset"),
        json!({"interface": interface, "bytes_used": 0}),
    );
    Ok(())
}
