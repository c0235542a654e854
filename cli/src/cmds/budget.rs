//! `budget IFACE SIZE PERIOD`, `budget IFACE default`.

use serde_json::json;

use super::{done, Ctx};
use crate::error::{CliError, Result};
use crate::units::{check_interface, human_bytes, parse_period, parse_size};

/// Set an interface's data budget: SIZE bytes per PERIOD
///
/// SIZE is a number with an optional unit: B, KB/MB/GB/TB (powers of 1000),
/// KiB/MiB/GiB/TiB (powers of 1024), as in the policy file; fractions are
/// allowed when they make whole bytes (1.5GiB). PERIOD is daily, weekly or monthly. The size is converted to
/// bytes before it is sent. Needs polkit action org.mptcp.policy.configure
/// (administrator). 'budget IFACE default' takes back a budget set over
/// D-Bus: the policy files decide again.
///
/// Examples:
///   mptcp-policyctl budget wwan0 2GiB monthly
///   mptcp-policyctl budget wwan0 500MB daily
///   mptcp-policyctl budget wwan0 1048576 weekly
///   mptcp-policyctl budget wwan0 default
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Interface name
    #[arg(value_name = "IFACE")]
    pub interface: String,
    /// Bytes per period, e.g. 2GiB, 500MB, 1048576; or default
    #[arg(value_name = "SIZE|default")]
    pub size: String,
    /// daily, weekly or monthly (not with default)
    #[arg(value_name = "PERIOD")]
    pub period: Option<String>,
}

/// `None`: `default`.
pub fn validate(args: &Args) -> Result<(&str, Option<(u64, &'static str)>)> {
    let interface = check_interface(&args.interface)?;
    match (args.size.as_str(), &args.period) {
        ("default", None) => Ok((interface, None)),
        ("default", Some(_)) => Err(CliError::invalid(
            "'budget IFACE default' takes no PERIOD".to_string(),
        )),
        (size, Some(period)) => Ok((interface, Some((parse_size(size)?, parse_period(period)?)))),
        (_, None) => Err(CliError::invalid(
            "PERIOD missing: daily, weekly or monthly".to_string(),
        )),
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let (interface, budget) = validate(&args)?;
    let client = ctx.connect().await?;
    let Some((bytes, period)) = budget else {
        client.calls.revert_interface(interface, "budget").await?;
        done(
            ctx,
            &format!("{interface}: budget back to the policy files"),
            json!({"interface": interface, "budget": "default"}),
        );
        return Ok(());
    };
    client.calls.set_budget(interface, bytes, period).await?;
    done(
        ctx,
        &format!(
            "{interface}: budget set to {} ({bytes} bytes) {period}",
            human_bytes(bytes)
        ),
        json!({"interface": interface, "budget_bytes": bytes, "period": period}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_period_are_checked_before_sending() {
        let a = |s: &str, p: &str| Args {
            interface: "wwan0".into(),
            size: s.into(),
            period: (!p.is_empty()).then(|| p.into()),
        };
        assert_eq!(
            validate(&a("2GiB", "monthly")).ok(),
            Some(("wwan0", Some((2u64 << 30, "monthly"))))
        );
        assert_eq!(validate(&a("default", "")).ok(), Some(("wwan0", None)));
        assert_eq!(
            validate(&a("default", "daily")).map_err(|e| e.exit_code()),
            Err(5)
        );
        assert_eq!(validate(&a("2GiB", "")).map_err(|e| e.exit_code()), Err(5));
        assert_eq!(
            validate(&a("2 lots", "monthly")).map_err(|e| e.exit_code()),
            Err(5)
        );
        assert_eq!(
            validate(&a("2GiB", "yearly")).map_err(|e| e.exit_code()),
            Err(5)
        );
    }
}
