//! The throughput of each path over the last 60 s: one coloured line per
//! interface (WiFi blue, cellular orange, wired green), drawn from the
//! daemon's byte counters as they arrive; a local one-second tick only
//! moves the time axis (it does not ask the daemon anything).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Instant;

use adw::prelude::*;
use adw::subclass::prelude::*;
use gtk::glib;

use crate::format;
use crate::throughput::{axis_max, Throughput, WINDOW_SECS};

/// A path's colour by interface type (GNOME palette).
fn colour(kind: &str) -> (f64, f64, f64) {
    let hex = match kind {
        "wifi" => 0x3584e4,
        "cellular" => 0xe66100,
        "ethernet" => 0x2ec27e,
        _ => 0x9141ac,
    };
    let c = |shift: u32| ((hex >> shift) & 0xff) as f64 / 255.0;
    (c(16), c(8), c(0))
}

mod imp {
    use super::*;

    #[derive(gtk::CompositeTemplate)]
    #[template(file = "throughput_graph.ui")]
    pub struct ThroughputGraph {
        #[template_child]
        pub area: TemplateChild<gtk::DrawingArea>,
        #[template_child]
        pub scale_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub legend: TemplateChild<gtk::FlowBox>,
        pub data: RefCell<Throughput>,
        /// Interface type by name (for the colour).
        pub kinds: RefCell<BTreeMap<String, String>>,
        pub legend_labels: RefCell<BTreeMap<String, gtk::Label>>,
        pub origin: Instant,
        pub axis: Cell<f64>,
    }

    impl Default for ThroughputGraph {
        fn default() -> Self {
            ThroughputGraph {
                area: Default::default(),
                scale_label: Default::default(),
                legend: Default::default(),
                data: Default::default(),
                kinds: Default::default(),
                legend_labels: Default::default(),
                origin: Instant::now(),
                axis: Cell::new(axis_max(0.0)),
            }
        }
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ThroughputGraph {
        const NAME: &'static str = "MptcpThroughputGraph";
        type Type = super::ThroughputGraph;
        type ParentType = adw::Bin;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ThroughputGraph {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            obj.set_widget_name("throughput-graph");
            self.scale_label.set_text(&format::rate(self.axis.get()));
            self.area.set_draw_func(glib::clone!(
                #[weak]
                obj,
                move |_, cr, w, h| obj.draw(cr, w as f64, h as f64)
            ));
        }
    }

    impl WidgetImpl for ThroughputGraph {}
    impl BinImpl for ThroughputGraph {}
}

glib::wrapper! {
    pub struct ThroughputGraph(ObjectSubclass<imp::ThroughputGraph>)
        @extends adw::Bin, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget;
}

impl Default for ThroughputGraph {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl ThroughputGraph {
    fn now(&self) -> f64 {
        self.imp().origin.elapsed().as_secs_f64()
    }

    /// A new reading of `name`'s counters.
    pub fn record(&self, name: &str, kind: &str, rx: u64, tx: u64) {
        let imp = self.imp();
        imp.kinds
            .borrow_mut()
            .insert(name.to_string(), kind.to_string());
        let now = self.now();
        imp.data.borrow_mut().record(name, now, rx, tx);
        self.tick();
    }

    /// Keeps only the paths in `names`.
    pub fn retain(&self, names: &[String]) {
        let imp = self.imp();
        imp.data
            .borrow_mut()
            .retain(|n| names.iter().any(|x| x == n));
        imp.kinds.borrow_mut().retain(|n, _| names.contains(n));
        imp.legend_labels.borrow_mut().retain(|n, label| {
            let keep = names.contains(n);
            if !keep {
                if let Some(child) = label.parent() {
                    imp.legend.remove(&child);
                }
            }
            keep
        });
    }

    /// Moves the time axis and refreshes the legend (every second).
    pub fn tick(&self) {
        let imp = self.imp();
        let now = self.now();
        let axis = axis_max(imp.data.borrow().peak(now));
        imp.axis.set(axis);
        imp.scale_label.set_text(&format::rate(axis));
        let kinds = imp.kinds.borrow().clone();
        for (name, kind) in &kinds {
            let rate = imp.data.borrow().current(name, now);
            let (r, g, b) = colour(kind);
            let markup = format!(
                "<span foreground=\"#{:02x}{:02x}{:02x}\">●</span> {} <b>{}</b>",
                (r * 255.0) as u8,
                (g * 255.0) as u8,
                (b * 255.0) as u8,
                glib::markup_escape_text(name),
                format::rate(rate)
            );
            let mut labels = imp.legend_labels.borrow_mut();
            let label = labels.entry(name.clone()).or_insert_with(|| {
                let l = gtk::Label::new(None);
                l.set_widget_name(&format!("rate-{name}"));
                l.set_xalign(0.0);
                imp.legend.append(&l);
                l
            });
            label.set_markup(&markup);
        }
        imp.area.queue_draw();
    }

    fn draw(&self, cr: &gtk::cairo::Context, w: f64, h: f64) {
        let imp = self.imp();
        let now = self.now();
        let axis = imp.axis.get();
        // Grid: quarters of the scale.
        cr.set_source_rgba(0.5, 0.5, 0.5, 0.25);
        cr.set_line_width(1.0);
        for i in 0..=4 {
            let y = (h - 1.0) * i as f64 / 4.0 + 0.5;
            cr.move_to(0.0, y);
            cr.line_to(w, y);
        }
        let _ = cr.stroke();
        let x_of = |t: f64| w * (1.0 - (now - t) / WINDOW_SECS);
        let y_of = |rate: f64| h - 1.0 - (h - 2.0) * (rate / axis).min(1.0);
        let data = imp.data.borrow();
        for (name, kind) in imp.kinds.borrow().iter() {
            let segments = data.segments(name, now);
            if segments.is_empty() {
                continue;
            }
            let (r, g, b) = colour(kind);
            // The area under the line, then the line: a step per stretch,
            // dropping to zero where no bytes were counted.
            let mut points = Vec::new();
            let mut last_end = f64::NEG_INFINITY;
            for s in &segments {
                if s.start > last_end + 0.01 {
                    points.push((x_of(s.start), y_of(0.0)));
                }
                points.push((x_of(s.start), y_of(s.rate)));
                points.push((x_of(s.end), y_of(s.rate)));
                last_end = s.end;
            }
            if now - last_end > 1.5 {
                points.push((x_of(last_end), y_of(0.0)));
                points.push((x_of(now), y_of(0.0)));
            }
            let Some(&(x0, _)) = points.first() else {
                continue;
            };
            let x1 = points.last().map_or(x0, |p| p.0);
            cr.move_to(x0, y_of(0.0));
            for &(x, y) in &points {
                cr.line_to(x, y);
            }
            cr.line_to(x1, y_of(0.0));
            cr.close_path();
            cr.set_source_rgba(r, g, b, 0.18);
            let _ = cr.fill();
            cr.move_to(points[0].0, points[0].1);
            for &(x, y) in &points[1..] {
                cr.line_to(x, y);
            }
            cr.set_source_rgba(r, g, b, 1.0);
            cr.set_line_width(2.0);
            let _ = cr.stroke();
        }
    }
}
