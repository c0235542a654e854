//! `set-role IFACE|TYPE ROLE`.

use serde_json::json;

use super::{done, Ctx};
use crate::error::Result;
use crate::units::{check_interface, parse_role};

/// Set the role of an interface, or of every interface of a type
///
/// ROLE is one of:
///   preferred  carries data
///   backup     a subflow is kept ready, flagged backup: it carries data only
///              when no preferred path works
///   off        not used by MPTCP
///   default    take back a role set over D-Bus: the policy files decide
///
/// IFACE|TYPE is an interface name (wlan0) or a type (wifi, cellular,
/// ethernet, ...). Needs polkit action org.mptcp.policy.set-role (allowed to
/// a local active user by default). The kernel has the change when the
/// command returns.
///
/// Examples:
///   mptcp-policyctl set-role wlan0 preferred
///   mptcp-policyctl set-role cellular backup
///   mptcp-policyctl --no-ask set-role wwan0 off
///   mptcp-policyctl set-role wlan0 default
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Interface name (wlan0) or interface type (wifi, cellular, ethernet)
    #[arg(value_name = "IFACE|TYPE")]
    pub interface: String,
    /// preferred, backup, off or default
    #[arg(value_name = "ROLE")]
    pub role: String,
}

/// Local validation, before connecting (exit 5 on bad input).
pub fn validate(args: &Args) -> Result<(&str, &'static str)> {
    let interface = check_interface(&args.interface)?;
    if args.role == "default" {
        return Ok((interface, "default"));
    }
    Ok((interface, parse_role(&args.role)?))
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let (interface, role) = validate(&args)?;
    let client = ctx.connect().await?;
    client.calls.set_interface_role(interface, role).await?;
    let what = if role == "default" {
        format!("{interface}: role back to the policy files")
    } else {
        format!("{interface}: role set to {role}")
    };
    done(ctx, &what, json!({"interface": interface, "role": role}));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_checked_before_sending() {
        let a = |i: &str, r: &str| Args {
            interface: i.into(),
            role: r.into(),
        };
        assert!(validate(&a("wlan0", "backup")).is_ok());
        assert!(validate(&a("cellular", "off")).is_ok());
        assert_eq!(
            validate(&a("wlan0", "default")).ok(),
            Some(("wlan0", "default"))
        );
        let e = validate(&a("wlan0", "primary")).expect_err("bad role");
        assert_eq!(e.exit_code(), 5);
        assert!(
            e.message.contains("preferred, backup, off"),
            "{}",
            e.message
        );
        assert_eq!(validate(&a("", "off")).map_err(|e| e.exit_code()), Err(5));
    }
}
