//! Per-interface byte counters of a namespace (`ip -s -j link show`).

use crate::process::ip;
use anyhow::{Context, Result};
use std::collections::HashMap;

/// Byte counters of one interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkBytes {
    pub rx: u64,
    pub tx: u64,
}

/// Byte counters of every interface in namespace `ns`, by name.
pub fn link_bytes(ns: &str) -> Result<HashMap<String, LinkBytes>> {
    let out = ip(&["-n", ns, "-s", "-j", "link", "show"])?;
    parse_link_bytes(&out)
}

fn parse_link_bytes(json: &str) -> Result<HashMap<String, LinkBytes>> {
    let v: serde_json::Value = serde_json::from_str(json).context("parsing ip -j link JSON")?;
    let links = v.as_array().context("ip -j link: not an array")?;
    let mut map = HashMap::new();
    for l in links {
        let name = l["ifname"].as_str().context("link without ifname")?;
        let s = &l["stats64"];
        let get = |dir: &str| s[dir]["bytes"].as_u64().context("missing stats64 bytes");
        map.insert(
            name.to_string(),
            LinkBytes {
                rx: get("rx")?,
                tx: get("tx")?,
            },
        );
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stats64() {
        let j = r#"[{"ifname":"lo","stats64":{"rx":{"bytes":5},"tx":{"bytes":7}}}]"#;
        let m = parse_link_bytes(j).expect("parse");
        assert_eq!(m["lo"], LinkBytes { rx: 5, tx: 7 });
    }
}
