//! MPTCP endpoints as `ip mptcp endpoint show` prints them (what the
//! NetworkManager tests compare).

/// One MPTCP endpoint as `ip mptcp endpoint show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: String,
    pub id: u8,
    pub flags: Vec<String>,
    pub dev: String,
}

impl Endpoint {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// `10.31.1.22 id 1 subflow backup dev eth1 ` → [`Endpoint`].
pub(super) fn parse_endpoint(line: &str) -> Option<Endpoint> {
    let mut words = line.split_whitespace();
    let addr = words.next()?.to_string();
    let mut id = 0;
    let mut flags = Vec::new();
    let mut dev = String::new();
    while let Some(w) = words.next() {
        match w {
            "id" => id = words.next()?.parse().ok()?,
            "dev" => dev = words.next()?.to_string(),
            "port" => {
                words.next();
            }
            f => flags.push(f.to_string()),
        }
    }
    Some(Endpoint {
        addr,
        id,
        flags,
        dev,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_lines_parse() {
        let e = parse_endpoint("10.31.1.22 id 1 subflow backup dev eth1 ").expect("parses");
        assert_eq!(e.addr, "10.31.1.22");
        assert_eq!(e.id, 1);
        assert!(e.has("subflow") && e.has("backup"));
        assert_eq!(e.dev, "eth1");
        let e = parse_endpoint("10.31.2.27 id 2 subflow dev eth2").expect("parses");
        assert!(!e.has("backup"));
        assert_eq!(parse_endpoint(""), None);
    }
}
