//! `metered IFACE on|off|default`.

use serde_json::json;

use super::{done, Ctx};
use crate::error::Result;
use crate::units::{check_interface, parse_on_off};

/// Mark an interface as metered (on) or not (off)
///
/// A metered interface counts its traffic against its budget (see
/// 'budget'); the policy decides what happens when the budget runs out.
/// 'default' takes back what was set over D-Bus: the policy files (or
/// NetworkManager's metered hint) decide again.
/// Needs polkit action org.mptcp.policy.configure (administrator).
///
/// Examples:
///   mptcp-policyctl metered wwan0 on
///   mptcp-policyctl metered wlan0 off
///   mptcp-policyctl metered wwan0 default
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Interface name
    #[arg(value_name = "IFACE")]
    pub interface: String,
    /// on, off or default
    #[arg(value_name = "on|off|default")]
    pub state: String,
}

/// `None`: `default`.
pub fn validate(args: &Args) -> Result<(&str, Option<bool>)> {
    let interface = check_interface(&args.interface)?;
    if args.state == "default" {
        return Ok((interface, None));
    }
    Ok((interface, Some(parse_on_off(&args.state)?)))
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let (interface, metered) = validate(&args)?;
    let client = ctx.connect().await?;
    let Some(metered) = metered else {
        client.calls.revert_interface(interface, "metered").await?;
        done(
            ctx,
            &format!("{interface}: metered back to the policy files"),
            json!({"interface": interface, "metered": "default"}),
        );
        return Ok(());
    };
    client.calls.set_metered(interface, metered).await?;
    done(
        ctx,
        &format!(
            "{interface}: {}",
            if metered { "metered" } else { "not metered" }
        ),
        json!({"interface": interface, "metered": metered}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_off_is_checked_before_sending() {
        let a = |s: &str| Args {
            interface: "wwan0".into(),
            state: s.into(),
        };
        assert_eq!(validate(&a("on")).ok(), Some(("wwan0", Some(true))));
        assert_eq!(validate(&a("off")).ok(), Some(("wwan0", Some(false))));
        assert_eq!(validate(&a("default")).ok(), Some(("wwan0", None)));
        assert_eq!(validate(&a("sometimes")).map_err(|e| e.exit_code()), Err(5));
    }
}
