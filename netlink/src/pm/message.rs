//! The generic-netlink payload of `mptcp_pm` commands and replies.
//!
//! [`PmMessage`] plugs into `netlink-packet-generic` (`GenlFamily`, `Emitable`,
//! `ParseableParametrized<[u8], GenlHeader>`). Events use their own attribute
//! numbering and are decoded in `event.rs`.

use netlink_packet_core::{DecodeError, Emitable, ParseableParametrized};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::attr::{parse_all, PmAttr};
use super::constants::{MPTCP_PM_NAME, MPTCP_PM_VER};

/// One `mptcp_pm` command or reply: the genl command and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmMessage {
    /// `MPTCP_PM_CMD_*`.
    pub cmd: u8,
    /// Top-level attributes.
    pub attrs: Vec<PmAttr>,
}

impl PmMessage {
    pub fn new(cmd: u8, attrs: Vec<PmAttr>) -> Self {
        Self { cmd, attrs }
    }
}

impl GenlFamily for PmMessage {
    fn family_name() -> &'static str {
        MPTCP_PM_NAME
    }

    fn command(&self) -> u8 {
        self.cmd
    }

    fn version(&self) -> u8 {
        MPTCP_PM_VER
    }
}

impl Emitable for PmMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for PmMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(Self {
            cmd: header.cmd,
            attrs: parse_all(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pm::attr::{endpoint_from_attrs, AddrSpec, AddressAttr};
    use crate::pm::constants::*;
    use netlink_packet_core::{DefaultNla, NetlinkMessage, NLM_F_REQUEST};
    use netlink_packet_generic::GenlMessage;
    use std::net::IpAddr;

    fn round_trip(msg: &PmMessage) -> PmMessage {
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        let header = GenlHeader {
            cmd: msg.cmd,
            version: MPTCP_PM_VER,
        };
        PmMessage::parse_with_param(&buf, header).expect("parse")
    }

    fn sample() -> PmMessage {
        let spec = AddrSpec {
            addr: Some("10.0.0.1".parse().expect("ip")),
            id: Some(7),
            port: Some(4242),
            ifindex: Some(3),
            flags: Some(MPTCP_PM_ADDR_FLAG_SUBFLOW | MPTCP_PM_ADDR_FLAG_BACKUP),
        };
        let remote = AddrSpec {
            addr: Some("fd00::2".parse().expect("ip")),
            port: Some(80),
            ..Default::default()
        };
        PmMessage::new(
            MPTCP_PM_CMD_SUBFLOW_CREATE,
            vec![
                PmAttr::Token(0xdead_beef),
                PmAttr::Addr(spec.to_attrs()),
                PmAttr::AddrRemote(remote.to_attrs()),
                PmAttr::LocId(7),
                PmAttr::Subflows(4),
                PmAttr::RcvAddAddrs(2),
                PmAttr::Other(DefaultNla::new(99, vec![1, 2, 3])),
            ],
        )
    }

    #[test]
    fn emit_parse_round_trip() {
        let msg = sample();
        assert_eq!(round_trip(&msg), msg);
    }

    #[test]
    fn nested_flag_and_host_order_port_on_the_wire() {
        let msg = PmMessage::new(
            MPTCP_PM_CMD_ADD_ADDR,
            vec![PmAttr::Addr(vec![AddressAttr::Port(0x1234)])],
        );
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        // outer header: len 12, type ADDR | NLA_F_NESTED
        assert_eq!(u16::from_ne_bytes([buf[2], buf[3]]), 0x8000 | 1);
        // inner port value in host order (what the kernel reads)
        assert_eq!(&buf[8..10], &0x1234u16.to_ne_bytes());
    }

    #[test]
    fn endpoint_decoding() {
        let msg = sample();
        let PmAttr::Addr(attrs) = &msg.attrs[1] else {
            panic!("not an address")
        };
        let ep = endpoint_from_attrs(attrs).expect("endpoint");
        assert_eq!(ep.id, 7);
        assert_eq!(ep.addr, "10.0.0.1".parse::<IpAddr>().expect("ip"));
        assert_eq!(ep.port, Some(4242));
        assert_eq!(ep.ifindex, Some(3));
        assert!(ep.flags.subflow && ep.flags.backup && !ep.flags.signal);
        assert!(endpoint_from_attrs(&[AddressAttr::Id(1)]).is_err());
    }

    #[test]
    fn truncated_buffers_fail_cleanly() {
        let msg = sample();
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        let header = GenlHeader {
            cmd: msg.cmd,
            version: 1,
        };
        let mut failures = 0;
        for cut in 0..buf.len() {
            // Never panics; cuts inside an attribute are errors.
            if PmMessage::parse_with_param(&buf[..cut], header).is_err() {
                failures += 1;
            }
        }
        assert!(failures > 0);
    }

    #[test]
    fn wrong_value_lengths_are_errors() {
        // TOKEN with 2 bytes
        let bad = [6u8, 0, 4, 0, 1, 2, 0, 0];
        let h = GenlHeader { cmd: 1, version: 1 };
        assert!(PmMessage::parse_with_param(&bad, h).is_err());
        // nested ADDR containing ADDR4 with 3 bytes
        let bad = [12u8, 0, 1, 0x80, 7, 0, 3, 0, 1, 2, 3, 0];
        assert!(PmMessage::parse_with_param(&bad, h).is_err());
        // an NLA header claiming more than there is
        let bad = [200u8, 0, 1, 0, 0, 0, 0, 0];
        assert!(PmMessage::parse_with_param(&bad, h).is_err());
    }

    #[test]
    fn whole_netlink_message_round_trip() {
        let mut genl = GenlMessage::from_payload(sample());
        genl.set_resolved_family_id(0x1d);
        genl.finalize();
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = NLM_F_REQUEST;
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        let back =
            NetlinkMessage::<GenlMessage<PmMessage>>::deserialize(&buf).expect("deserialize");
        assert_eq!(back.header.message_type, 0x1d);
        for cut in [0, 3, 10, 17, 20, buf.len() - 1] {
            let _ = NetlinkMessage::<GenlMessage<PmMessage>>::deserialize(&buf[..cut]);
        }
    }
}
