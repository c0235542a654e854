//! mptcp-policy-panel: a GTK4 + libadwaita panel for mptcp-policyd. A pure
//! D-Bus client: it shows the daemon's interfaces, connections and
//! throughput and asks the daemon (and polkit) for every change.

mod daemon;
#[cfg(feature = "test-control")]
mod test_control;
mod widgets;

use mptcp_policy_panel::{budget_input, format, i18n, model, throughput};

use adw::prelude::*;
use clap::Parser;
use gtk::{gio, glib};

/// Application id (also the name of the .desktop, metainfo and icon files).
const APP_ID: &str = "org.mptcp.PolicyPanel";

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Settings panel of mptcp-policyd: see and steer how connections use WiFi, LTE and Ethernet"
)]
struct Args {
    /// Initial window size, WIDTHxHEIGHT (e.g. 360x720).
    #[arg(long, value_parser = parse_size)]
    size: Option<(i32, i32)>,
    /// Read test commands from stdin and answer on stdout, one JSON line
    /// each (dump the widget tree, activate widgets); for the test suite,
    /// compiled only with the `test-control` feature (the panel's tests).
    #[cfg(feature = "test-control")]
    #[arg(long, hide = true)]
    test_control: bool,
    /// Print the manual page (roff, section 1) and exit: packagers generate
    /// mptcp-policy-panel.1 with it.
    #[arg(long, hide = true)]
    man: bool,
}

fn parse_size(s: &str) -> Result<(i32, i32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("{s:?}: expected WIDTHxHEIGHT, like 360x720"))?;
    let parse = |v: &str| {
        v.parse::<i32>()
            .ok()
            .filter(|n| (100..=10_000).contains(n))
            .ok_or_else(|| format!("{s:?}: {v:?} is not a size between 100 and 10000"))
    };
    Ok((parse(w)?, parse(h)?))
}

fn main() -> glib::ExitCode {
    let args = Args::parse();
    if args.man {
        return print_man_page();
    }
    i18n::init();
    glib::set_application_name(&i18n::gettext("MPTCP Paths"));
    let flags = if test_control(&args) {
        // Tests run several panels side by side without a session bus.
        gio::ApplicationFlags::NON_UNIQUE
    } else {
        gio::ApplicationFlags::empty()
    };
    let app = adw::Application::builder()
        .application_id(APP_ID)
        .flags(flags)
        .build();
    app.connect_activate(move |app| {
        if let Some(win) = app.active_window() {
            win.present();
            return;
        }
        let win = widgets::Window::new(app);
        let (w, h) = args.size.unwrap_or((1280, 800));
        win.set_default_size(w, h);
        win.set_icon_name(Some(APP_ID));
        win.present();
        #[cfg(feature = "test-control")]
        if args.test_control {
            test_control::start(&win);
        }
    });
    // clap has read the arguments; GApplication gets none.
    app.run_with_args::<&str>(&[])
}

/// Whether the test driver runs (never without the `test-control` feature).
fn test_control(args: &Args) -> bool {
    #[cfg(feature = "test-control")]
    return args.test_control;
    #[cfg(not(feature = "test-control"))]
    {
        let _ = args;
        false
    }
}

/// `--man`: the page generated from the options above.
fn print_man_page() -> glib::ExitCode {
    use clap::CommandFactory;
    let cmd = Args::command().name("mptcp-policy-panel").after_help(
        "The panel talks to mptcp-policyd on the system bus (org.mptcp.Policy1); \
         changes are authorized by polkit. See also: mptcp-policyctl(1), mptcp-policyd(8).",
    );
    match clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock()) {
        Ok(()) => glib::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mptcp-policy-panel: cannot write the manual page: {e}");
            glib::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("360x720"), Ok((360, 720)));
        for bad in ["360", "x720", "0x720", "360x99999", "ax b"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
