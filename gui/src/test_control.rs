//! `--test-control`: the test suite drives the real widgets through stdin
//! and reads the real widget tree back, one JSON line per command:
//!
//! * `dump` — every toplevel's widget tree (type, name, border box in the
//!   toplevel's coordinates, texts,
//!   selections, switch states);
//! * `select NAME ITEM` — selects ITEM (its label) in combo row/drop-down NAME;
//! * `activate NAME` — activates widget NAME (a button is clicked, a switch
//!   toggled), as a user would;
//! * `set-text NAME TEXT` — types TEXT into entry NAME;
//! * `respond NAME ID` — answers dialog NAME with response ID.
//!
//! Changes go through the same handlers as a user's clicks, so what a test
//! sees is what a user would get. Off unless the flag is given.

use std::io::{BufRead, Write};

use adw::prelude::*;
use futures::StreamExt;
use gtk::glib;
use serde_json::{json, Map, Value};

/// Starts answering commands from stdin for the life of the process.
pub fn start(_window: &impl IsA<gtk::Window>) {
    let (tx, mut rx) = futures::channel::mpsc::unbounded::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.unbounded_send(line).is_err() {
                break;
            }
        }
    });
    glib::spawn_future_local(async move {
        while let Some(line) = rx.next().await {
            let reply = match run(line.trim()) {
                Ok(v) => v,
                Err(e) => json!({ "ok": false, "error": e }),
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{reply}");
            let _ = out.flush();
        }
    });
}

fn run(line: &str) -> Result<Value, String> {
    let mut parts = line.splitn(3, ' ');
    let cmd = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    match cmd {
        "dump" => {
            Ok(json!({ "ok": true, "windows": toplevels().iter().map(node).collect::<Vec<_>>() }))
        }
        "select" => select(&find(name)?, rest).map(|_| json!({ "ok": true })),
        "activate" => {
            let w = find(name)?;
            if !w.is_sensitive() {
                return Err(format!("{name} is not sensitive"));
            }
            Ok(json!({ "ok": w.activate() }))
        }
        "set-text" => {
            let w = find(name)?;
            let e = w
                .dynamic_cast_ref::<gtk::Editable>()
                .ok_or_else(|| format!("{name} is not editable"))?;
            e.set_text(rest);
            Ok(json!({ "ok": true }))
        }
        "respond" => {
            let w = find(name)?;
            let d = w
                .downcast_ref::<adw::MessageDialog>()
                .ok_or_else(|| format!("{name} is not a dialog"))?;
            if !d.is_response_enabled(rest) {
                return Err(format!("response {rest} of {name} is disabled"));
            }
            d.response(rest);
            Ok(json!({ "ok": true }))
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

fn toplevels() -> Vec<gtk::Widget> {
    let list = gtk::Window::list_toplevels();
    list.into_iter().collect()
}

fn children(w: &gtk::Widget) -> Vec<gtk::Widget> {
    let mut out = Vec::new();
    let mut child = w.first_child();
    while let Some(c) = child {
        child = c.next_sibling();
        out.push(c);
    }
    out
}

/// The first widget named `name` in any toplevel (depth first).
fn find(name: &str) -> Result<gtk::Widget, String> {
    fn walk(w: &gtk::Widget, name: &str) -> Option<gtk::Widget> {
        if w.widget_name() == name {
            return Some(w.clone());
        }
        children(w).iter().find_map(|c| walk(c, name))
    }
    toplevels()
        .iter()
        .find_map(|t| walk(t, name))
        .ok_or_else(|| format!("no widget named {name:?}"))
}

fn model_strings(model: Option<gtk::gio::ListModel>) -> Vec<String> {
    let Some(list) = model.and_then(|m| m.downcast::<gtk::StringList>().ok()) else {
        return Vec::new();
    };
    (0..list.n_items())
        .filter_map(|i| list.string(i).map(String::from))
        .collect()
}

fn select(w: &gtk::Widget, item: &str) -> Result<(), String> {
    let (strings, set): (Vec<String>, Box<dyn Fn(u32)>) =
        if let Some(row) = w.downcast_ref::<adw::ComboRow>() {
            let row = row.clone();
            (
                model_strings(row.model()),
                Box::new(move |i| row.set_selected(i)),
            )
        } else if let Some(dd) = w.downcast_ref::<gtk::DropDown>() {
            let dd = dd.clone();
            (
                model_strings(dd.model()),
                Box::new(move |i| dd.set_selected(i)),
            )
        } else {
            return Err(format!("{} is not a selector", w.widget_name()));
        };
    let index = strings
        .iter()
        .position(|s| s == item)
        .ok_or_else(|| format!("{item:?} is not one of {strings:?}"))?;
    set(index as u32);
    Ok(())
}

fn selected_string(model: Option<gtk::gio::ListModel>, selected: u32) -> Value {
    model_strings(model)
        .get(selected as usize)
        .map_or(Value::Null, |s| json!(s))
}

/// One widget and its subtree.
fn node(w: &gtk::Widget) -> Value {
    let mut m = Map::new();
    let type_name = w.type_().name();
    m.insert("type".into(), json!(type_name));
    let name = w.widget_name();
    if name != type_name {
        m.insert("name".into(), json!(name.to_string()));
    }
    m.insert("visible".into(), json!(w.is_visible()));
    m.insert("mapped".into(), json!(w.is_mapped()));
    m.insert("sensitive".into(), json!(w.is_sensitive()));
    m.insert(
        "classes".into(),
        json!(w
            .css_classes()
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()),
    );
    // The border box (content + padding + border, what a finger hits), in
    // the toplevel's coordinates.
    let bounds = w
        .root()
        .and_then(|root| w.compute_bounds(&root))
        .map(|b| (b.x(), b.y(), b.width(), b.height()));
    let (x, y, width, height) = bounds.unwrap_or((0.0, 0.0, 0.0, 0.0));
    m.insert("x".into(), json!(x.round() as i64));
    m.insert("y".into(), json!(y.round() as i64));
    m.insert("width".into(), json!(width.round() as i64));
    m.insert("height".into(), json!(height.round() as i64));
    if let Some(l) = w.downcast_ref::<gtk::Label>() {
        m.insert("text".into(), json!(l.text().to_string()));
    }
    if let Some(e) = w.dynamic_cast_ref::<gtk::Editable>() {
        m.insert("text".into(), json!(e.text().to_string()));
    }
    if let Some(b) = w.downcast_ref::<gtk::Button>() {
        m.insert("label".into(), json!(b.label().map(String::from)));
    }
    if let Some(r) = w.downcast_ref::<adw::PreferencesRow>() {
        m.insert("title".into(), json!(r.title().to_string()));
    }
    if let Some(r) = w.downcast_ref::<adw::ActionRow>() {
        m.insert("subtitle".into(), json!(r.subtitle().map(String::from)));
    }
    if let Some(r) = w.downcast_ref::<adw::ExpanderRow>() {
        m.insert("subtitle".into(), json!(r.subtitle().to_string()));
    }
    if let Some(g) = w.downcast_ref::<adw::PreferencesGroup>() {
        m.insert("title".into(), json!(g.title().to_string()));
        m.insert(
            "description".into(),
            json!(g.description().map(String::from)),
        );
    }
    if let Some(r) = w.downcast_ref::<adw::ComboRow>() {
        m.insert("selected".into(), selected_string(r.model(), r.selected()));
    }
    if let Some(d) = w.downcast_ref::<gtk::DropDown>() {
        m.insert("selected".into(), selected_string(d.model(), d.selected()));
    }
    if let Some(s) = w.downcast_ref::<gtk::Switch>() {
        m.insert("active".into(), json!(s.is_active()));
    }
    if let Some(l) = w.downcast_ref::<gtk::LevelBar>() {
        m.insert("value".into(), json!(l.value()));
    }
    if let Some(s) = w.downcast_ref::<adw::StatusPage>() {
        m.insert("title".into(), json!(s.title().to_string()));
        m.insert(
            "description".into(),
            json!(s.description().map(String::from)),
        );
    }
    if let Some(t) = w.downcast_ref::<adw::WindowTitle>() {
        m.insert("title".into(), json!(t.title().to_string()));
        m.insert("subtitle".into(), json!(t.subtitle().to_string()));
    }
    if let Some(l) = w.downcast_ref::<adw::Leaflet>() {
        m.insert("folded".into(), json!(l.is_folded()));
    }
    if let Some(d) = w.downcast_ref::<adw::MessageDialog>() {
        m.insert(
            "responses".into(),
            json!({
                "set": d.is_response_enabled("set"),
                "cancel": d.is_response_enabled("cancel"),
            }),
        );
    }
    let kids: Vec<Value> = children(w).iter().map(node).collect();
    if !kids.is_empty() {
        m.insert("children".into(), Value::Array(kids));
    }
    Value::Object(m)
}
