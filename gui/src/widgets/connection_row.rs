//! One MPTCP connection: the remote end, how long it has been open and its
//! subflows, each marked active (carries data) or backup (only when no
//! active path works). Named `connection-<token>` for tests.

use std::cell::RefCell;
use std::time::Instant;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;

use crate::format;
use crate::i18n::{gettext, ngettext};
use crate::model::{endpoint, ConnectionInfo};

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "connection_row.ui")]
    pub struct ConnectionRow {
        /// The subflow rows currently shown.
        pub subflow_rows: RefCell<Vec<adw::ActionRow>>,
        pub shown: RefCell<Option<ConnectionInfo>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ConnectionRow {
        const NAME: &'static str = "MptcpConnectionRow";
        type Type = super::ConnectionRow;
        type ParentType = adw::ExpanderRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ConnectionRow {}
    impl WidgetImpl for ConnectionRow {}
    impl ListBoxRowImpl for ConnectionRow {}
    impl PreferencesRowImpl for ConnectionRow {}
    impl ExpanderRowImpl for ConnectionRow {}
}

glib::wrapper! {
    pub struct ConnectionRow(ObjectSubclass<imp::ConnectionRow>)
        @extends adw::ExpanderRow, adw::PreferencesRow, gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl ConnectionRow {
    pub fn new(info: &ConnectionInfo) -> Self {
        let row: Self = glib::Object::new();
        row.set_widget_name(&format!("connection-{}", info.token));
        row.show(info, Instant::now());
        row
    }

    /// Shows the daemon's view of the connection.
    pub fn show(&self, info: &ConnectionInfo, now: Instant) {
        let imp = self.imp();
        if imp.shown.borrow().as_ref() != Some(info) {
            self.set_title(&info.remote());
            self.show_subflows(info);
            imp.shown.replace(Some(info.clone()));
        }
        self.tick(now);
    }

    /// Updates the age (called every second).
    pub fn tick(&self, now: Instant) {
        let imp = self.imp();
        let shown = imp.shown.borrow();
        let Some(info) = shown.as_ref() else { return };
        let unix_now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let (secs, lower_bound) = info.age(now, unix_now_ms);
        let age = format::age(secs);
        let open = if lower_bound {
            gettext("open for over {age}").replace("{age}", &age)
        } else {
            gettext("open for {age}").replace("{age}", &age)
        };
        let n = info.subflows.len();
        let subflows =
            ngettext("{n} subflow", "{n} subflows", n as u32).replace("{n}", &n.to_string());
        if info.mode.is_empty() {
            self.set_subtitle(&format!("{open} · {subflows}"));
        } else {
            // the daemon's word (an open list), not translated
            self.set_subtitle(&format!("{open} · {subflows} · {}", info.mode));
        }
    }

    fn show_subflows(&self, info: &ConnectionInfo) {
        let imp = self.imp();
        for row in imp.subflow_rows.take() {
            self.remove(&row);
        }
        let mut rows = Vec::new();
        for sf in &info.subflows {
            let path = if sf.interface.is_empty() {
                sf.local_address.clone()
            } else {
                sf.interface.clone()
            };
            let (state, icon, class) = if sf.backup {
                (
                    gettext("backup"),
                    "media-playback-pause-symbolic",
                    "dim-label",
                )
            } else if info.promoted.contains(&sf.interface) {
                // a backup interface this connection's rule made carry data
                (
                    gettext("active · promoted by rule"),
                    "media-playback-start-symbolic",
                    "success",
                )
            } else {
                (
                    gettext("active"),
                    "media-playback-start-symbolic",
                    "success",
                )
            };
            let row = adw::ActionRow::builder()
                .title(format!("{path} · {state}"))
                .subtitle(format!(
                    "{} → {}",
                    endpoint(&sf.local_address, sf.local_port),
                    endpoint(&sf.remote_address, sf.remote_port)
                ))
                .build();
            let image = gtk::Image::from_icon_name(icon);
            image.add_css_class(class);
            row.add_prefix(&image);
            row.set_widget_name(&format!(
                "subflow-{}-{}",
                path,
                if sf.backup { "backup" } else { "active" }
            ));
            self.add_row(&row);
            rows.push(row);
        }
        if !info.constraint.is_empty() {
            // the daemon's explanation (addresses, interface names): not translated
            let row = adw::ActionRow::builder()
                .title(gettext("cannot move"))
                .subtitle(&info.constraint)
                .subtitle_lines(0)
                .build();
            let image = gtk::Image::from_icon_name("dialog-warning-symbolic");
            image.add_css_class("warning");
            row.add_prefix(&image);
            row.set_widget_name("connection-constraint");
            self.add_row(&row);
            rows.push(row);
        }
        imp.subflow_rows.replace(rows);
    }
}
