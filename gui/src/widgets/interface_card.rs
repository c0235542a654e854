//! One network interface: name, type icon, up/down, addresses, the role
//! selector, the metered switch and the budget with its usage bar. It shows
//! what the daemon says ([`InterfaceCard::show`]) and reports what the user
//! picks as signals; the window sends that to the daemon. Widget names
//! (`role-<name>`, `metered-<name>`, `budget-<name>`) let tests find them.

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;
use gtk::glib::subclass::Signal;

use crate::format;
use crate::i18n::gettext;
use crate::model::InterfaceInfo;

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "interface_card.ui")]
    pub struct InterfaceCard {
        #[template_child]
        pub group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub type_icon: TemplateChild<gtk::Image>,
        #[template_child]
        pub state_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub role_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub role_model: TemplateChild<gtk::StringList>,
        #[template_child]
        pub metered_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub metered_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub budget_row: TemplateChild<adw::ActionRow>,
        #[template_child]
        pub budget_bar: TemplateChild<gtk::LevelBar>,
        #[template_child]
        pub budget_button: TemplateChild<gtk::Button>,
        /// Role ids in the selector's order.
        pub roles: RefCell<Vec<String>>,
        /// Set while showing the daemon's values, so that is not taken for
        /// a user's choice.
        pub showing: Cell<bool>,
        pub name: RefCell<String>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for InterfaceCard {
        const NAME: &'static str = "MptcpInterfaceCard";
        type Type = super::InterfaceCard;
        type ParentType = adw::Bin;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for InterfaceCard {
        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    Signal::builder("role-selected")
                        .param_types([String::static_type()])
                        .build(),
                    Signal::builder("metered-toggled")
                        .param_types([bool::static_type()])
                        .build(),
                    Signal::builder("budget-clicked").build(),
                ]
            })
        }

        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            self.role_row.connect_selected_notify(glib::clone!(
                #[weak]
                obj,
                move |row| obj.on_role_selected(row.selected())
            ));
            self.metered_switch.connect_active_notify(glib::clone!(
                #[weak]
                obj,
                move |sw| {
                    if !obj.imp().showing.get() {
                        obj.emit_by_name::<()>("metered-toggled", &[&sw.is_active()]);
                    }
                }
            ));
            self.budget_button.connect_clicked(glib::clone!(
                #[weak]
                obj,
                move |_| obj.emit_by_name::<()>("budget-clicked", &[])
            ));
        }
    }

    impl WidgetImpl for InterfaceCard {}
    impl BinImpl for InterfaceCard {}
}

glib::wrapper! {
    pub struct InterfaceCard(ObjectSubclass<imp::InterfaceCard>)
        @extends adw::Bin, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl InterfaceCard {
    pub fn new(name: &str) -> Self {
        let card: Self = glib::Object::new();
        let imp = card.imp();
        imp.name.replace(name.to_string());
        card.set_widget_name(&format!("interface-{name}"));
        imp.role_row.set_widget_name(&format!("role-{name}"));
        imp.metered_switch
            .set_widget_name(&format!("metered-{name}"));
        imp.budget_button.set_widget_name(&format!("budget-{name}"));
        imp.state_label.set_widget_name(&format!("state-{name}"));
        imp.metered_row
            .set_widget_name(&format!("metered-row-{name}"));
        card
    }

    pub fn name(&self) -> String {
        self.imp().name.borrow().clone()
    }

    /// Shows the daemon's view of the interface (also to undo a choice the
    /// daemon refused).
    pub fn show(&self, info: &InterfaceInfo) {
        let imp = self.imp();
        imp.showing.set(true);
        imp.group.set_title(&info.name);
        let addresses = if info.addresses.is_empty() {
            gettext("No usable address")
        } else {
            info.addresses.join(", ")
        };
        // Below the addresses: why the daemon chose the role (a wrapped
        // line reads better on a phone than a squeezed subtitle).
        let description = if info.role_reason.is_empty() {
            addresses
        } else {
            format!("{addresses}\n{}", info.role_reason)
        };
        imp.group.set_description(Some(&description));
        imp.type_icon
            .set_icon_name(Some(format::type_icon(&info.kind)));
        imp.type_icon.set_tooltip_text(Some(&info.kind));
        self.show_state(info);
        self.show_role(&info.role);
        // Only a real difference: setting the same value would cancel a
        // toggle the user just started (GtkSwitch animates before it
        // changes `active`), and counters update every second.
        if imp.metered_switch.is_active() != info.metered {
            imp.metered_switch.set_active(info.metered);
        }
        self.show_budget(info);
        imp.showing.set(false);
    }

    fn show_state(&self, info: &InterfaceInfo) {
        let label = &self.imp().state_label;
        let mut text = if info.up {
            gettext("Up")
        } else {
            gettext("Down")
        };
        let class = match info.health.as_str() {
            _ if !info.up => "error",
            "stalled" => {
                text = gettext("Stalled");
                "error"
            }
            // Still up, but its traffic went to a healthy backup.
            "degraded" => {
                text = gettext("Degraded");
                "warning"
            }
            _ => "success",
        };
        label.set_text(&text);
        label.set_css_classes(&["caption-heading", class]);
    }

    fn show_role(&self, role: &str) {
        let imp = self.imp();
        let mut ids: Vec<String> = format::ROLE_IDS.iter().map(|r| r.to_string()).collect();
        if !role.is_empty() && !ids.iter().any(|r| r == role) {
            ids.push(role.to_string()); // a role this panel does not know
        }
        if *imp.roles.borrow() != ids {
            let labels: Vec<String> = ids.iter().map(|r| format::role_label(r)).collect();
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let old = imp.role_model.n_items();
            imp.role_model.splice(0, old, &labels);
            imp.roles.replace(ids);
        }
        let index = imp.roles.borrow().iter().position(|r| r == role);
        let index = index.map_or(gtk::INVALID_LIST_POSITION, |i| i as u32);
        if imp.role_row.selected() != index {
            imp.role_row.set_selected(index);
        }
    }

    fn show_budget(&self, info: &InterfaceInfo) {
        let imp = self.imp();
        if info.budget_bytes == 0 {
            imp.budget_row.set_subtitle(&format!(
                "{} · {}",
                gettext("No budget"),
                format::bytes(info.bytes_used)
            ));
            imp.budget_bar.set_visible(false);
            imp.budget_button
                .set_tooltip_text(Some(&gettext("Set a data budget")));
            return;
        }
        let period = match info.budget_period.as_str() {
            "daily" => gettext("per day"),
            "weekly" => gettext("per week"),
            "monthly" => gettext("per month"),
            other => other.to_string(),
        };
        let mut subtitle = gettext("{used} of {budget} {period}")
            .replace("{used}", &format::bytes(info.bytes_used))
            .replace("{budget}", &format::bytes(info.budget_bytes))
            .replace("{period}", &period);
        if !info.next_reset.is_empty() {
            subtitle.push_str(" · ");
            subtitle.push_str(
                &gettext("resets {date}").replace("{date}", &format::date(&info.next_reset)),
            );
        }
        match info.budget_state.as_str() {
            "exhausted" => subtitle.push_str(&format!(" · {}", gettext("used up"))),
            "allowance-spent" => {
                subtitle.push_str(&format!(" · {}", gettext("today's share used")))
            }
            _ => {}
        }
        imp.budget_row.set_subtitle(&subtitle);
        imp.budget_bar.set_visible(true);
        imp.budget_bar
            .set_value((info.bytes_used as f64 / info.budget_bytes as f64).min(1.0));
        imp.budget_button
            .set_tooltip_text(Some(&gettext("Change the data budget")));
    }

    fn on_role_selected(&self, index: u32) {
        let imp = self.imp();
        if imp.showing.get() {
            return;
        }
        let role = imp.roles.borrow().get(index as usize).cloned();
        if let Some(role) = role {
            self.emit_by_name::<()>("role-selected", &[&role]);
        }
    }

    pub fn connect_role_selected<F: Fn(&Self, String) + 'static>(&self, f: F) {
        self.connect_closure(
            "role-selected",
            false,
            glib::closure_local!(move |card: &Self, role: String| f(card, role)),
        );
    }

    pub fn connect_metered_toggled<F: Fn(&Self, bool) + 'static>(&self, f: F) {
        self.connect_closure(
            "metered-toggled",
            false,
            glib::closure_local!(move |card: &Self, on: bool| f(card, on)),
        );
    }

    pub fn connect_budget_clicked<F: Fn(&Self) + 'static>(&self, f: F) {
        self.connect_closure(
            "budget-clicked",
            false,
            glib::closure_local!(move |card: &Self| f(card)),
        );
    }
}
