//! The main window: shows what the daemon reports (empty state while it is
//! absent) and turns the user's choices into calls. It never shows its own
//! guess: a refused change is undone from the daemon's last word and the
//! daemon's message appears as a toast.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::time::Instant;

use adw::prelude::*;
use adw::subclass::prelude::*;
use futures::StreamExt;
use gtk::{gio, glib};

use crate::daemon::{Daemon, DaemonEvent};
use crate::i18n::gettext;
use crate::model::Store;
use crate::widgets::{BudgetDialog, ConnectionRow, InterfaceCard, ThroughputGraph};

mod imp {
    use super::*;

    #[derive(Default, gtk::CompositeTemplate)]
    #[template(file = "window.ui")]
    pub struct Window {
        #[template_child]
        pub toasts: TemplateChild<adw::ToastOverlay>,
        #[template_child]
        pub stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub empty_page: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub leaflet: TemplateChild<adw::Leaflet>,
        #[template_child]
        pub paths_pane: TemplateChild<gtk::Box>,
        #[template_child]
        pub connections_pane: TemplateChild<gtk::Box>,
        #[template_child]
        pub paths_title: TemplateChild<adw::WindowTitle>,
        #[template_child]
        pub connections_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub connections_button_content: TemplateChild<adw::ButtonContent>,
        #[template_child]
        pub back_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub graph: TemplateChild<ThroughputGraph>,
        #[template_child]
        pub interfaces_box: TemplateChild<gtk::Box>,
        #[template_child]
        pub connections_list: TemplateChild<gtk::ListBox>,
        pub store: RefCell<Store>,
        pub cards: RefCell<BTreeMap<String, InterfaceCard>>,
        pub rows: RefCell<BTreeMap<String, ConnectionRow>>,
        pub daemon: OnceCell<Daemon>,
        pub last_toast: RefCell<Option<adw::Toast>>,
        pub empty_description: OnceCell<String>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for Window {
        const NAME: &'static str = "MptcpWindow";
        type Type = super::Window;
        type ParentType = adw::ApplicationWindow;

        fn class_init(klass: &mut Self::Class) {
            ThroughputGraph::ensure_type();
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for Window {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            let _ = self
                .empty_description
                .set(self.empty_page.description().unwrap_or_default().into());
            self.connections_button.connect_clicked(glib::clone!(
                #[weak(rename_to = imp)]
                self,
                move |_| imp.leaflet.set_visible_child(&*imp.connections_pane)
            ));
            self.back_button.connect_clicked(glib::clone!(
                #[weak(rename_to = imp)]
                self,
                move |_| imp.leaflet.set_visible_child(&*imp.paths_pane)
            ));
            // The age of connections and the graph's time axis move on
            // their own; nothing is asked of the daemon here.
            glib::timeout_add_seconds_local(
                1,
                glib::clone!(
                    #[weak]
                    obj,
                    #[upgrade_or]
                    glib::ControlFlow::Break,
                    move || {
                        obj.tick();
                        glib::ControlFlow::Continue
                    }
                ),
            );
            self.stack.set_visible_child_name("empty");
        }
    }

    impl WidgetImpl for Window {}
    impl WindowImpl for Window {}
    impl ApplicationWindowImpl for Window {}
    impl AdwApplicationWindowImpl for Window {}
}

glib::wrapper! {
    pub struct Window(ObjectSubclass<imp::Window>)
        @extends adw::ApplicationWindow, gtk::ApplicationWindow, gtk::Window, gtk::Widget,
        @implements gio::ActionGroup, gio::ActionMap, gtk::Buildable,
                    gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

impl Window {
    pub fn new(app: &adw::Application) -> Self {
        let win: Self = glib::Object::builder().property("application", app).build();
        win.start();
        win
    }

    /// Connects to the bus and follows the daemon for the window's life.
    fn start(&self) {
        let weak = self.downgrade();
        glib::spawn_future_local(async move {
            let daemon = match Daemon::connect().await {
                Ok(d) => d,
                Err(e) => {
                    if let Some(win) = weak.upgrade() {
                        win.show_absent(
                            &gettext("Cannot reach the system bus: {error}")
                                .replace("{error}", &e.to_string()),
                        );
                    }
                    return;
                }
            };
            let (tx, mut rx) = futures::channel::mpsc::unbounded();
            glib::spawn_future_local(daemon.clone().watch(tx));
            if let Some(win) = weak.upgrade() {
                let _ = win.imp().daemon.set(daemon);
            }
            while let Some(event) = rx.next().await {
                let Some(win) = weak.upgrade() else { return };
                win.on_event(event);
            }
        });
    }

    fn on_event(&self, event: DaemonEvent) {
        let imp = self.imp();
        let now = Instant::now();
        let result = match event {
            DaemonEvent::Absent(why) => {
                imp.store.borrow_mut().clear();
                self.sync();
                self.show_absent(&why);
                Ok(())
            }
            DaemonEvent::Snapshot {
                objects,
                version,
                path_manager,
            } => {
                let mut store = imp.store.borrow_mut();
                store.clear();
                let mut result = Ok(());
                for (kind, path, props) in &objects {
                    if let Err(e) = store.upsert(*kind, path, props, now, true) {
                        result = Err(e);
                    }
                }
                drop(store);
                imp.paths_title
                    .set_subtitle(&gettext("{pm} path manager").replace("{pm}", &path_manager));
                imp.paths_title.set_tooltip_text(Some(
                    &gettext("mptcp-policyd {version}").replace("{version}", &version),
                ));
                imp.stack.set_visible_child_name("main");
                result
            }
            DaemonEvent::Added(kind, path, props) => imp
                .store
                .borrow_mut()
                .upsert(kind, &path, &props, now, false),
            DaemonEvent::Changed(kind, path, props) => {
                imp.store.borrow_mut().change(kind, &path, &props)
            }
            DaemonEvent::Removed(kind, path) => {
                imp.store.borrow_mut().remove(kind, &path);
                Ok(())
            }
            DaemonEvent::Notice(text) => {
                self.toast(&text);
                Ok(())
            }
        };
        if let Err(e) = result {
            self.toast(&e.to_string());
        }
        self.sync();
    }

    fn show_absent(&self, why: &str) {
        let imp = self.imp();
        let mut text = imp.empty_description.get().cloned().unwrap_or_default();
        if !why.is_empty() {
            text = format!("{text}\n\n{why}");
        }
        imp.empty_page.set_description(Some(&text));
        imp.stack.set_visible_child_name("empty");
    }

    /// Makes the widgets match the store.
    fn sync(&self) {
        let imp = self.imp();
        let store = imp.store.borrow();
        let now = Instant::now();
        let mut cards = imp.cards.borrow_mut();
        cards.retain(|path, card| {
            let keep = store.interfaces.contains_key(path);
            if !keep {
                imp.interfaces_box.remove(card);
            }
            keep
        });
        for (path, info) in &store.interfaces {
            let card = cards
                .entry(path.clone())
                .or_insert_with(|| self.new_card(&info.name));
            card.show(info);
            imp.graph
                .record(&info.name, &info.kind, info.rx_bytes, info.tx_bytes);
        }
        let names: Vec<String> = store.interfaces.values().map(|i| i.name.clone()).collect();
        imp.graph.retain(&names);

        let mut rows = imp.rows.borrow_mut();
        rows.retain(|path, row| {
            let keep = store.connections.contains_key(path);
            if !keep {
                imp.connections_list.remove(row);
            }
            keep
        });
        for (path, info) in &store.connections {
            match rows.get(path) {
                Some(row) => row.show(info, now),
                None => {
                    let row = ConnectionRow::new(info);
                    imp.connections_list.append(&row);
                    rows.insert(path.clone(), row);
                }
            }
        }
        imp.connections_button_content
            .set_label(&store.connections.len().to_string());
    }

    fn tick(&self) {
        let imp = self.imp();
        imp.graph.tick();
        let now = Instant::now();
        for row in imp.rows.borrow().values() {
            row.tick(now);
        }
    }

    fn new_card(&self, name: &str) -> InterfaceCard {
        let card = InterfaceCard::new(name);
        card.connect_role_selected(glib::clone!(
            #[weak(rename_to = win)]
            self,
            move |card, role| {
                let name = card.name();
                win.change(&name, async move |d: Daemon, n: String| {
                    d.set_role(&n, &role).await
                });
            }
        ));
        card.connect_metered_toggled(glib::clone!(
            #[weak(rename_to = win)]
            self,
            move |card, on| {
                let name = card.name();
                win.change(&name, async move |d: Daemon, n: String| {
                    d.set_metered(&n, on).await
                });
            }
        ));
        card.connect_budget_clicked(glib::clone!(
            #[weak(rename_to = win)]
            self,
            move |card| win.open_budget_dialog(&card.name())
        ));
        self.imp().interfaces_box.append(&card);
        card
    }

    /// Runs a change of `interface` through the daemon; on refusal the
    /// daemon's message is shown; then the card shows the daemon's state.
    fn change<F>(&self, interface: &str, call: F)
    where
        F: AsyncFnOnce(Daemon, String) -> Result<(), String> + 'static,
    {
        let Some(daemon) = self.imp().daemon.get().cloned() else {
            return;
        };
        let weak = self.downgrade();
        let name = interface.to_string();
        glib::spawn_future_local(async move {
            let result = call(daemon, name.clone()).await;
            let Some(win) = weak.upgrade() else { return };
            if let Err(message) = &result {
                win.toast(message);
            }
            // Refused or not, the card shows what the daemon says (an
            // accepted choice may still not be in force, e.g. while a spent
            // budget holds the interface back; its PropertiesChanged, sent
            // before the reply, is already in the store).
            win.reshow(&name);
        });
    }

    /// Shows the daemon's last word on `interface` again.
    fn reshow(&self, interface: &str) {
        let imp = self.imp();
        let store = imp.store.borrow();
        let Some(info) = store.interface(interface) else {
            return;
        };
        if let Some(card) = imp.cards.borrow().get(&info.path) {
            card.show(info);
        }
    }

    fn open_budget_dialog(&self, interface: &str) {
        let dialog = BudgetDialog::new(self, interface);
        let name = interface.to_string();
        dialog.connect_response(
            Some(crate::widgets::budget_dialog::RESPONSE_SET),
            glib::clone!(
                #[weak(rename_to = win)]
                self,
                move |dialog, _| {
                    if let Some(budget) = dialog.budget() {
                        win.change(&name, async move |d: Daemon, n: String| {
                            d.set_budget(&n, budget.bytes, budget.period).await
                        });
                    }
                }
            ),
        );
        dialog.present();
    }

    /// A toast with `message` (plain text). It replaces the one shown: the
    /// newest answer of the daemon is the one that matters.
    pub fn toast(&self, message: &str) {
        let toast = adw::Toast::new(&glib::markup_escape_text(message));
        toast.set_timeout(8);
        if let Some(old) = self.imp().last_toast.replace(Some(toast.clone())) {
            old.dismiss();
        }
        self.imp().toasts.add_toast(toast);
    }
}
