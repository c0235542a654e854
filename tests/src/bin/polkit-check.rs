//! `polkit-check ACTION…`: connect to the system bus (`DBUS_SYSTEM_BUS_ADDRESS`)
//! and ask polkit about this very connection (subject `system-bus-name` =
//! its own unique name, as a service checks a caller). Prints one line per
//! action: `authorized`, `challenge` or `denied`. Exit 0 if polkit answered,
//! 2 on usage errors, 1 on any other error.

use anyhow::{Context, Result};
use mptcp_policy_tests::polkit::check_self;

fn main() {
    let actions: Vec<String> = std::env::args().skip(1).collect();
    if actions.is_empty() || actions.iter().any(|a| a.starts_with('-')) {
        eprintln!("usage: polkit-check ACTION…");
        std::process::exit(2);
    }
    if let Err(e) = run(&actions) {
        eprintln!("polkit-check: {e:#}");
        std::process::exit(1);
    }
}

fn run(actions: &[String]) -> Result<()> {
    zbus::block_on(async {
        let conn = zbus::Connection::system()
            .await
            .context("connecting to the system bus")?;
        for a in actions {
            println!("{}", check_self(&conn, a).await?);
        }
        Ok(())
    })
}
