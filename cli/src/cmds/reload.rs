//! `reload`.

use serde_json::json;

use super::{done, Ctx};
use crate::error::Result;

/// Make the daemon re-read its policy files
///
/// A file that does not parse is rejected with FILE:line:column and the
/// policy in force stays. Needs polkit action org.mptcp.policy.configure
/// (administrator).
///
/// Example:
///   mptcp-policyctl reload
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {}

pub async fn run(ctx: &Ctx, _args: Args) -> Result<()> {
    let client = ctx.connect().await?;
    client.calls.reload().await?;
    done(ctx, "policy reloaded", json!({"reloaded": true}));
    Ok(())
}
