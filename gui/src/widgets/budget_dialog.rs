//! The "add budget" dialog: amount, unit and period, validated while the
//! user types (the Set button stays disabled and a message says what is
//! wrong); its answer becomes a `SetBudget` call by the window.

use std::cell::RefCell;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;

use crate::budget_input::{self, BudgetInput, PERIODS, UNITS};
use crate::i18n::gettext;

/// The response that applies the budget.
pub const RESPONSE_SET: &str = "set";

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "budget_dialog.ui")]
    pub struct BudgetDialog {
        #[template_child]
        pub amount_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub unit_dropdown: TemplateChild<gtk::DropDown>,
        #[template_child]
        pub unit_model: TemplateChild<gtk::StringList>,
        #[template_child]
        pub period_dropdown: TemplateChild<gtk::DropDown>,
        #[template_child]
        pub error_label: TemplateChild<gtk::Label>,
        pub valid: RefCell<Option<BudgetInput>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for BudgetDialog {
        const NAME: &'static str = "MptcpBudgetDialog";
        type Type = super::BudgetDialog;
        type ParentType = adw::MessageDialog;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for BudgetDialog {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            for (unit, _) in UNITS {
                self.unit_model.append(unit);
            }
            self.unit_dropdown.set_selected(3); // GiB
            self.amount_entry.connect_changed(glib::clone!(
                #[weak]
                obj,
                move |_| obj.validate()
            ));
            self.unit_dropdown.connect_selected_notify(glib::clone!(
                #[weak]
                obj,
                move |_| obj.validate()
            ));
            self.period_dropdown.connect_selected_notify(glib::clone!(
                #[weak]
                obj,
                move |_| obj.validate()
            ));
            obj.validate();
        }
    }

    impl WidgetImpl for BudgetDialog {}
    impl WindowImpl for BudgetDialog {}
    impl MessageDialogImpl for BudgetDialog {}
}

glib::wrapper! {
    pub struct BudgetDialog(ObjectSubclass<imp::BudgetDialog>)
        @extends adw::MessageDialog, gtk::Window, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl BudgetDialog {
    pub fn new(parent: &impl IsA<gtk::Window>, interface: &str) -> Self {
        let dialog: Self = glib::Object::builder()
            .property("transient-for", parent)
            .property("modal", true)
            .build();
        dialog.set_widget_name("budget-dialog");
        dialog.set_body(
            &gettext("How much data may {name} use? When it is used up, the daemon keeps {name} as a backup path or stops using it, as its policy says.")
                .replace("{name}", interface),
        );
        dialog
    }

    /// The budget the user entered, when it is valid.
    pub fn budget(&self) -> Option<BudgetInput> {
        self.imp().valid.borrow().clone()
    }

    fn validate(&self) {
        let imp = self.imp();
        let unit = UNITS
            .get(imp.unit_dropdown.selected() as usize)
            .map_or("", |(u, _)| u);
        let period = PERIODS
            .get(imp.period_dropdown.selected() as usize)
            .copied()
            .unwrap_or("");
        let result = budget_input::parse(&imp.amount_entry.text(), unit, period);
        let (message, valid) = match result {
            Ok(b) => (String::new(), Some(b)),
            // An empty field is not an error yet: the Set button just waits.
            Err(budget_input::BudgetInputError::Empty) => (String::new(), None),
            Err(e) => (e.message(), None),
        };
        imp.error_label.set_text(&message);
        imp.error_label.set_visible(!message.is_empty());
        if valid.is_some() {
            imp.amount_entry.remove_css_class("error");
        } else if !message.is_empty() {
            imp.amount_entry.add_css_class("error");
        }
        self.set_response_enabled(RESPONSE_SET, valid.is_some());
        imp.valid.replace(valid);
    }
}
