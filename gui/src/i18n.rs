//! gettext set-up: the panel's strings (Rust and `.ui` templates, which
//! GtkBuilder translates through the same text domain) come from
//! `<localedir>/<lang>/LC_MESSAGES/mptcp-policy-panel.mo`.

pub use gettextrs::{gettext, ngettext};

/// The gettext domain (also the name of the `.pot`/`.mo` files).
pub const DOMAIN: &str = "mptcp-policy-panel";

/// Where the compiled catalogues are installed (`LOCALEDIR` at build time,
/// as `scripts/install.sh` sets it for its PREFIX), unless
/// `MPTCP_PANEL_LOCALEDIR` says otherwise at run time (tests).
const DEFAULT_LOCALEDIR: &str = match option_env!("LOCALEDIR") {
    Some(dir) => dir,
    None => "/usr/share/locale",
};

/// Selects the user's locale and binds the text domain. Failures only
/// leave the strings untranslated, so they are reported, not fatal.
pub fn init() {
    gettextrs::setlocale(gettextrs::LocaleCategory::LcAll, "");
    let dir = std::env::var("MPTCP_PANEL_LOCALEDIR").unwrap_or_else(|_| DEFAULT_LOCALEDIR.into());
    let result = gettextrs::bindtextdomain(DOMAIN, dir)
        .and_then(|_| gettextrs::bind_textdomain_codeset(DOMAIN, "UTF-8"))
        .and_then(|_| gettextrs::textdomain(DOMAIN));
    if let Err(e) = result {
        eprintln!("mptcp-policy-panel: translations unavailable: {e}");
    }
}
