//! `monitor` against the shipped contract: every signal of
//! `org.mptcp.Policy1` in `dbus/org.mptcp.Policy1.xml` is decoded by name
//! with all its fields. A signal added to the XML and not to `monitor`
//! fails here (it would print `{"unknown": true}`).

use std::time::UNIX_EPOCH;

use mptcp_policy_dbus::names::{MANAGER_INTERFACE, MANAGER_PATH};
use zbus::message::Message;
use zbus::{Structure, Variant as Value};

use super::{decode, kebab};

/// (signal name, [(arg name, type signature)]) of the manager interface.
fn xml_signals() -> Vec<(String, Vec<(String, String)>)> {
    let xml = mptcp_policy_dbus::introspection_xml();
    // Comments may quote members; only elements count.
    let mut text = String::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<!--") {
        text.push_str(&rest[..i]);
        rest = rest[i..].find("-->").map_or("", |j| &rest[i + j + 3..]);
    }
    text.push_str(rest);
    let start = text
        .find(&format!("<interface name=\"{MANAGER_INTERFACE}\""))
        .expect("manager interface in the XML");
    let iface = &text[start..];
    let iface = &iface[..iface.find("</interface>").expect("interface closed")];
    let attr = |tag: &str, name: &str| -> String {
        let key = format!("{name}=\"");
        let i = tag.find(&key).expect("attribute") + key.len();
        tag[i..i + tag[i..].find('"').expect("quote")].to_string()
    };
    let mut out = Vec::new();
    for chunk in iface.split("<signal ").skip(1) {
        let head_end = chunk.find('>').expect("tag end");
        let name = attr(&chunk[..head_end], "name");
        let body = if chunk[..head_end].ends_with('/') {
            ""
        } else {
            &chunk[..chunk.find("</signal>").expect("signal closed")]
        };
        let args = body
            .split("<arg ")
            .skip(1)
            .map(|a| (attr(a, "name"), attr(a, "type")))
            .collect();
        out.push((name, args));
    }
    out
}

/// A value of `sig` (basic types and structs of them), distinct per `n`,
/// and the texts that must show up in the decoded event.
fn sample(sig: &str, n: &mut u32, seen: &mut Vec<String>) -> (Value<'static>, usize) {
    *n += 1;
    let k = *n;
    let c = sig.as_bytes()[0];
    let v = match c {
        b's' => {
            let s = format!("sample{k}");
            seen.push(s.clone());
            Value::from(s)
        }
        b'u' => {
            seen.push((1000 + k).to_string());
            Value::from(1000 + k)
        }
        b'q' => {
            seen.push((2000 + k).to_string());
            Value::from(2000 + k as u16)
        }
        b'y' => {
            seen.push((30 + k).to_string());
            Value::from(30 + k as u8)
        }
        b't' => {
            seen.push((4_000_000 + u64::from(k)).to_string());
            Value::from(4_000_000 + u64::from(k))
        }
        b'b' => Value::from(true),
        b'(' => {
            let mut b = Structure::builder();
            let mut i = 1;
            while sig.as_bytes()[i] != b')' {
                let (field, len) = sample(&sig[i..], n, seen);
                b = b.append_field(field);
                i += len;
            }
            return (Value::Structure(b.build().expect("struct")), i + 1);
        }
        other => panic!("extend the sample builder for type {}", other as char),
    };
    (v, 1)
}

#[test]
fn every_signal_of_the_xml_is_decoded_by_name_with_its_fields() {
    let signals = xml_signals();
    assert!(signals.len() >= 12, "{signals:?}");
    assert!(signals.iter().any(|(n, _)| n == "HealthChanged"));
    for (name, args) in signals {
        let mut n = 0;
        let mut seen = Vec::new();
        let mut body = Structure::builder();
        for (_, sig) in &args {
            let (v, len) = sample(sig, &mut n, &mut seen);
            assert_eq!(len, sig.len(), "{name}: whole type {sig} used");
            body = body.append_field(v);
        }
        let msg = if args.is_empty() {
            Message::signal(MANAGER_PATH, MANAGER_INTERFACE, name.as_str()).build(&())
        } else {
            let body: Structure = body.build().expect("body");
            Message::signal(MANAGER_PATH, MANAGER_INTERFACE, name.as_str()).build(&body)
        }
        .expect("message");
        let ev = decode(&msg, false)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"))
            .unwrap_or_else(|| panic!("{name}: not printed"));
        let json = ev.json(UNIX_EPOCH);
        assert_eq!(ev.event, kebab(&name), "{name}");
        assert!(
            json.get("unknown").is_none(),
            "{name} is not decoded: {json}"
        );
        let text = json.to_string();
        for value in &seen {
            assert!(
                text.contains(value.as_str()),
                "{name}: field {value} missing in {text}"
            );
        }
    }
}
