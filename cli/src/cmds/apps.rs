//! `apps`: what is on MPTCP — services with our drop-in, and the cgroups
//! the daemon converts over BPF.

use std::path::PathBuf;

use serde_json::json;

use super::{out, print_json, Ctx};
use crate::apps::dropin;
use crate::error::Result;
use crate::format::table;

/// List the services and cgroups put on MPTCP
///
/// Lists the systemd services with the drop-in written by 'enable UNIT'
/// (found below /etc/systemd/system, or --root) and the library each loads.
/// When the daemon is reachable, also the cgroups enabled with
/// 'enable --cgroup' (path and current id; id 0 while the cgroup does not
/// exist) and whether the kernel's BPF path works. Without the daemon the
/// services are still listed.
///
/// Examples:
///   mptcp-policyctl apps
///   mptcp-policyctl --json apps | jq '.units[].unit'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Root directory of the system whose units are listed
    #[arg(
        long,
        value_name = "DIR",
        env = "MPTCP_POLICYCTL_ROOT",
        default_value = "/"
    )]
    pub root: PathBuf,
}

/// The daemon's side: BPF status and cgroups, or why it is unknown.
type Bpf = std::result::Result<(String, Vec<(String, u64)>), String>;

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let units = dropin::list(&args.root)?;
    let bpf: Bpf = match ctx.connect().await {
        Ok(client) => match (
            client.manager().bpf_status().await,
            client.manager().enabled_cgroups().await,
        ) {
            (Ok(s), Ok(c)) => Ok((s, c)),
            (Err(e), _) | (_, Err(e)) => Err(crate::error::CliError::from(e).human()),
        },
        Err(e) => Err(e.human()),
    };
    if ctx.json {
        let units: Vec<_> = units
            .iter()
            .map(|(u, f, l)| json!({"unit": u, "dropin": f, "library": l}))
            .collect();
        let (status, cgroups, error) = match &bpf {
            Ok((s, c)) => (
                Some(s.clone()),
                Some(
                    c.iter()
                        .map(|(p, id)| json!({"path": p, "id": id}))
                        .collect::<Vec<_>>(),
                ),
                None,
            ),
            Err(e) => (None, None, Some(e.clone())),
        };
        print_json(
            &json!({"units": units, "bpf_status": status, "cgroups": cgroups,
                           "daemon_error": error}),
        );
    } else {
        out(&render(&units, &bpf));
    }
    Ok(())
}

pub fn render(units: &[(String, PathBuf, String)], bpf: &Bpf) -> String {
    let mut text = String::new();
    if units.is_empty() {
        text.push_str("Services: none (mptcp-policyctl enable UNIT)\n");
    } else {
        let rows: Vec<Vec<String>> = units
            .iter()
            .map(|(u, f, _)| vec![u.clone(), f.display().to_string()])
            .collect();
        text.push_str(&table(&["SERVICE", "DROP-IN"], &rows, ""));
    }
    text.push('\n');
    match bpf {
        Err(e) => text.push_str(&format!("Cgroups: unknown, {e}\n")),
        Ok((status, cgroups)) => {
            text.push_str(&format!("BPF: {status}\n"));
            if cgroups.is_empty() {
                text.push_str("Cgroups: none (mptcp-policyctl enable --cgroup PATH)\n");
            } else {
                let rows: Vec<Vec<String>> = cgroups
                    .iter()
                    .map(|(p, id)| {
                        vec![
                            p.clone(),
                            if *id == 0 { "-".into() } else { id.to_string() },
                        ]
                    })
                    .collect();
                text.push_str(&table(&["CGROUP", "ID"], &rows, ""));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_services_and_cgroups_or_why_cgroups_are_unknown() {
        let units = vec![(
            "nginx.service".to_string(),
            PathBuf::from("/etc/systemd/system/nginx.service.d/50-mptcp.conf"),
            "/usr/lib/mptcp-policyd/libmptcp_preload.so".to_string(),
        )];
        let bpf: Bpf = Ok((
            "unavailable (EPERM)".into(),
            vec![("/system.slice/a.service".into(), 42), ("/gone".into(), 0)],
        ));
        let text = render(&units, &bpf);
        for s in [
            "SERVICE",
            "nginx.service",
            "50-mptcp.conf",
            "BPF: unavailable (EPERM)",
            "/system.slice/a.service",
            "42",
            "/gone",
        ] {
            assert!(text.contains(s), "{s} in\n{text}");
        }
        let text = render(&[], &Err("daemon not available: not running".into()));
        assert!(text.contains("Services: none"), "{text}");
        assert!(
            text.contains("Cgroups: unknown, daemon not available"),
            "{text}"
        );
    }
}
