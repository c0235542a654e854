//! `mptcp-policyd --clean-up`: undoes what a stopped daemon leaves in the
//! kernel, for the package's `prerm` on removal (an admin may run it too).
//! It deletes only the endpoints the state directory records as ours and
//! that the kernel still shows with our address, and puts back the path
//! manager a killed run left switched to userspace. Endpoints of anyone
//! else are never touched. Run it with the service stopped: a running
//! daemon would add its endpoints again.

use anyhow::Context;
use mptcp_policy::Ownership;
use mptcp_policy_netlink::pm::PmHandle;

use crate::store::StateDir;
use crate::userspace::sysctl;

/// Removes our endpoints and restores the saved path manager.
pub async fn run(state: &StateDir) -> anyhow::Result<()> {
    let owned = state.load_ownership();
    let pm = PmHandle::connect()
        .await
        .context("cannot open the mptcp_pm netlink socket")?;
    let kernel = pm
        .endpoint_dump()
        .await
        .context("cannot list the kernel's MPTCP endpoints")?;
    let mut failed = 0;
    for ep in kernel {
        if owned.owned.get(&ep.id) != Some(&ep.addr) {
            continue;
        }
        match pm.endpoint_del(ep.id).await {
            Ok(()) => tracing::info!(
                "clean-up: ip mptcp endpoint delete id {} ({})",
                ep.id,
                ep.addr
            ),
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                failed += 1;
                tracing::error!(
                    "clean-up: cannot delete endpoint id {} ({}): {e}",
                    ep.id,
                    ep.addr
                );
            }
        }
    }
    if failed == 0 {
        state
            .save_ownership(&Ownership::default())
            .context("cannot update endpoints.json")?;
    }
    sysctl::restore_saved(state)?;
    if failed > 0 {
        anyhow::bail!("{failed} endpoint(s) could not be deleted");
    }
    Ok(())
}
