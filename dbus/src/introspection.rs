//! The documented API (`org.mptcp.Policy1.xml`) and a canonical list of
//! members of any introspection XML, so tests can prove the file and the
//! live service agree.

use std::collections::BTreeMap;

use zbus_xml::{Arg, ArgDirection, Node};

/// The introspection XML shipped with the project (with documentation).
pub fn introspection_xml() -> &'static str {
    include_str!("../org.mptcp.Policy1.xml")
}

/// Members per interface name, each as one sorted line:
/// `method Name(arg:type:in,…)`, `signal Name(arg:type,…)`,
/// `property Name:type:read|readwrite|write`.
pub type Members = BTreeMap<String, Vec<String>>;

/// Lists the members of every interface in `xml`.
pub fn members(xml: &str) -> Result<Members, String> {
    let node = Node::from_reader(xml.as_bytes()).map_err(|e| format!("introspection XML: {e}"))?;
    let mut out = Members::new();
    for i in node.interfaces() {
        let mut m = Vec::new();
        for x in i.methods() {
            m.push(format!("method {}({})", x.name(), args(x.args(), true)));
        }
        for s in i.signals() {
            m.push(format!("signal {}({})", s.name(), args(s.args(), false)));
        }
        for p in i.properties() {
            let a = p.access();
            let access = match (a.read(), a.write()) {
                (true, true) => "readwrite",
                (true, false) => "read",
                _ => "write",
            };
            m.push(format!("property {}:{}:{access}", p.name(), p.ty()));
        }
        m.sort();
        out.insert(i.name().to_string(), m);
    }
    Ok(out)
}

fn args(args: &[Arg<'_>], with_direction: bool) -> String {
    args.iter()
        .map(|a| {
            let dir = match a.direction() {
                Some(ArgDirection::Out) => ":out",
                _ if with_direction => ":in",
                _ => "",
            };
            format!("{}:{}{dir}", a.name().unwrap_or("?"), a.ty())
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_xml_lists_the_three_interfaces() {
        let m = super::members(super::introspection_xml()).expect("parses");
        for i in [
            "org.mptcp.Policy1",
            "org.mptcp.Policy1.Interface",
            "org.mptcp.Policy1.Connection",
        ] {
            assert!(m.get(i).is_some_and(|v| !v.is_empty()), "{i} missing");
        }
        assert!(m["org.mptcp.Policy1"]
            .contains(&"method SetInterfaceRole(interface:s:in,role:s:in)".to_string()));
    }
}
