//! Decoding of `mptcp_pm_events` multicast messages into [`PmEvent`].
//!
//! Pure: bytes in, event out. Unknown event types become
//! [`PmEventKind::Unknown`], unknown attributes are skipped, a known attribute
//! with a wrong length is a decode error (never a panic).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, NlasIterator};

use super::attr::fixed;
use super::constants::*;

/// The event type (genl command of the multicast message, `MPTCP_EVENT_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PmEventKind {
    Created,
    Established,
    Closed,
    Announced,
    Removed,
    SubEstablished,
    SubClosed,
    SubPriority,
    ListenerCreated,
    ListenerClosed,
    /// A type this crate does not know, kept by number.
    Unknown(u8),
}

impl PmEventKind {
    /// From the kernel's number.
    pub fn from_u8(v: u8) -> Self {
        match v {
            MPTCP_EVENT_CREATED => Self::Created,
            MPTCP_EVENT_ESTABLISHED => Self::Established,
            MPTCP_EVENT_CLOSED => Self::Closed,
            MPTCP_EVENT_ANNOUNCED => Self::Announced,
            MPTCP_EVENT_REMOVED => Self::Removed,
            MPTCP_EVENT_SUB_ESTABLISHED => Self::SubEstablished,
            MPTCP_EVENT_SUB_CLOSED => Self::SubClosed,
            MPTCP_EVENT_SUB_PRIORITY => Self::SubPriority,
            MPTCP_EVENT_LISTENER_CREATED => Self::ListenerCreated,
            MPTCP_EVENT_LISTENER_CLOSED => Self::ListenerClosed,
            other => Self::Unknown(other),
        }
    }

    /// To the kernel's number.
    pub fn to_u8(&self) -> u8 {
        match self {
            Self::Created => MPTCP_EVENT_CREATED,
            Self::Established => MPTCP_EVENT_ESTABLISHED,
            Self::Closed => MPTCP_EVENT_CLOSED,
            Self::Announced => MPTCP_EVENT_ANNOUNCED,
            Self::Removed => MPTCP_EVENT_REMOVED,
            Self::SubEstablished => MPTCP_EVENT_SUB_ESTABLISHED,
            Self::SubClosed => MPTCP_EVENT_SUB_CLOSED,
            Self::SubPriority => MPTCP_EVENT_SUB_PRIORITY,
            Self::ListenerCreated => MPTCP_EVENT_LISTENER_CREATED,
            Self::ListenerClosed => MPTCP_EVENT_LISTENER_CLOSED,
            Self::Unknown(v) => *v,
        }
    }

    /// The name `ip mptcp monitor` prints (`CREATED`, `SF_ESTABLISHED`, ...).
    pub fn name(&self) -> String {
        match self {
            Self::Created => "CREATED".into(),
            Self::Established => "ESTABLISHED".into(),
            Self::Closed => "CLOSED".into(),
            Self::Announced => "ANNOUNCED".into(),
            Self::Removed => "REMOVED".into(),
            Self::SubEstablished => "SF_ESTABLISHED".into(),
            Self::SubClosed => "SF_CLOSED".into(),
            Self::SubPriority => "SF_PRIO".into(),
            Self::ListenerCreated => "LISTENER_CREATED".into(),
            Self::ListenerClosed => "LISTENER_CLOSED".into(),
            Self::Unknown(v) => format!("UNKNOWN({v})"),
        }
    }
}

/// One event of `mptcp_pm_events`; which fields are set depends on the kind
/// (see `include/uapi/linux/mptcp_pm.h`). Ports are in host order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmEvent {
    pub kind: PmEventKind,
    pub token: Option<u32>,
    pub family: Option<u16>,
    pub loc_id: Option<u8>,
    pub rem_id: Option<u8>,
    pub saddr: Option<IpAddr>,
    pub daddr: Option<IpAddr>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub backup: Option<bool>,
    pub error: Option<u8>,
    /// Raw `MPTCP_ATTR_FLAGS` (`MPTCP_PM_EV_FLAG_*`), unknown bits included.
    pub flags: Option<u16>,
    pub timeout: Option<u32>,
    pub if_idx: Option<u32>,
    pub reset_reason: Option<u32>,
    pub reset_flags: Option<u32>,
    /// From `MPTCP_ATTR_SERVER_SIDE` (older kernels) or the
    /// `MPTCP_PM_EV_FLAG_SERVER_SIDE` bit of `flags` (newer ones); the kernel
    /// omits both when false, so `created`/`established` without them give
    /// `Some(false)`; other kinds `None`.
    pub server_side: Option<bool>,
    /// The peer forbids joins to its initial address and port (RFC 8684
    /// MP_CAPABLE "C" flag): the `MPTCP_PM_EV_FLAG_DENY_JOIN_ID0` bit of
    /// `flags`. `created`/`established` without `flags` give `Some(false)`
    /// (the kernel omits a zero word); other kinds `None`.
    pub deny_join_id0: Option<bool>,
}

impl PmEvent {
    /// An event of `kind` with no attribute set.
    pub fn new(kind: PmEventKind) -> Self {
        Self {
            kind,
            token: None,
            family: None,
            loc_id: None,
            rem_id: None,
            saddr: None,
            daddr: None,
            sport: None,
            dport: None,
            backup: None,
            error: None,
            flags: None,
            timeout: None,
            if_idx: None,
            reset_reason: None,
            reset_flags: None,
            server_side: None,
            deny_join_id0: None,
        }
    }

    /// Decodes the genl command `cmd` and the attribute bytes that follow the
    /// genl header.
    pub fn decode(cmd: u8, attrs: &[u8]) -> Result<Self, DecodeError> {
        let mut ev = Self::new(PmEventKind::from_u8(cmd));
        let mut server_side_attr = None;
        for nla in NlasIterator::new(attrs) {
            let nla = nla?;
            let v = nla.value();
            let u8_of = |w| fixed::<1>(w, v).map(|b| b[0]);
            let u16_of = |w| fixed::<2>(w, v).map(u16::from_ne_bytes);
            let be16_of = |w| fixed::<2>(w, v).map(u16::from_be_bytes);
            let u32_of = |w| fixed::<4>(w, v).map(u32::from_ne_bytes);
            let v6_of = |w| {
                v.get(..16)
                    .and_then(|s| <[u8; 16]>::try_from(s).ok())
                    .map(|o| IpAddr::V6(Ipv6Addr::from(o)))
                    .ok_or_else(|| DecodeError::from(format!("attribute {w}: short IPv6 address")))
            };
            match nla.kind() {
                MPTCP_ATTR_TOKEN => ev.token = Some(u32_of("token")?),
                MPTCP_ATTR_FAMILY => ev.family = Some(u16_of("family")?),
                MPTCP_ATTR_LOC_ID => ev.loc_id = Some(u8_of("loc_id")?),
                MPTCP_ATTR_REM_ID => ev.rem_id = Some(u8_of("rem_id")?),
                MPTCP_ATTR_SADDR4 => {
                    ev.saddr = Some(IpAddr::V4(Ipv4Addr::from(fixed::<4>("saddr4", v)?)))
                }
                MPTCP_ATTR_DADDR4 => {
                    ev.daddr = Some(IpAddr::V4(Ipv4Addr::from(fixed::<4>("daddr4", v)?)))
                }
                MPTCP_ATTR_SADDR6 => ev.saddr = Some(v6_of("saddr6")?),
                MPTCP_ATTR_DADDR6 => ev.daddr = Some(v6_of("daddr6")?),
                MPTCP_ATTR_SPORT => ev.sport = Some(be16_of("sport")?),
                MPTCP_ATTR_DPORT => ev.dport = Some(be16_of("dport")?),
                MPTCP_ATTR_BACKUP => ev.backup = Some(u8_of("backup")? != 0),
                MPTCP_ATTR_ERROR => ev.error = Some(u8_of("error")?),
                MPTCP_ATTR_FLAGS => ev.flags = Some(u16_of("flags")?),
                MPTCP_ATTR_TIMEOUT => ev.timeout = Some(u32_of("timeout")?),
                MPTCP_ATTR_IF_IDX => ev.if_idx = Some(u32_of("if_idx")?),
                MPTCP_ATTR_RESET_REASON => ev.reset_reason = Some(u32_of("reset_reason")?),
                MPTCP_ATTR_RESET_FLAGS => ev.reset_flags = Some(u32_of("reset_flags")?),
                MPTCP_ATTR_SERVER_SIDE => server_side_attr = Some(u8_of("server_side")? != 0),
                _ => {} // newer attribute: skipped, never an error
            }
        }
        ev.server_side = match (server_side_attr, ev.flags) {
            (Some(true), _) => Some(true),
            (_, Some(f)) => Some(f & MPTCP_PM_EV_FLAG_SERVER_SIDE != 0),
            // the kernel omits both when false
            (None, None) if matches!(ev.kind, PmEventKind::Created | PmEventKind::Established) => {
                Some(false)
            }
            (attr, None) => attr,
        };
        ev.deny_join_id0 = match ev.flags {
            Some(f) => Some(f & MPTCP_PM_EV_FLAG_DENY_JOIN_ID0 != 0),
            None if matches!(ev.kind, PmEventKind::Created | PmEventKind::Established) => {
                Some(false)
            }
            None => None,
        };
        Ok(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(value);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn sample() -> Vec<u8> {
        [
            nla(MPTCP_ATTR_TOKEN, &0x1234_5678u32.to_ne_bytes()),
            nla(MPTCP_ATTR_FAMILY, &2u16.to_ne_bytes()),
            nla(MPTCP_ATTR_SADDR4, &[10, 0, 0, 1]),
            nla(
                MPTCP_ATTR_DADDR6,
                &[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            ),
            nla(MPTCP_ATTR_SPORT, &40000u16.to_be_bytes()),
            nla(MPTCP_ATTR_DPORT, &80u16.to_be_bytes()),
            nla(MPTCP_ATTR_BACKUP, &[1]),
            nla(MPTCP_ATTR_IF_IDX, &3u32.to_ne_bytes()),
            nla(
                MPTCP_ATTR_FLAGS,
                &MPTCP_PM_EV_FLAG_SERVER_SIDE.to_ne_bytes(),
            ),
            nla(99, &[1, 2, 3]),
        ]
        .concat()
    }

    #[test]
    fn decodes_sample() {
        let ev = PmEvent::decode(MPTCP_EVENT_SUB_ESTABLISHED, &sample()).expect("decode");
        assert_eq!(ev.kind, PmEventKind::SubEstablished);
        assert_eq!(ev.token, Some(0x1234_5678));
        assert_eq!(ev.saddr, Some("10.0.0.1".parse().expect("ip")));
        assert_eq!(ev.daddr, Some("fd00::2".parse().expect("ip")));
        assert_eq!((ev.sport, ev.dport), (Some(40000), Some(80)));
        assert_eq!(ev.backup, Some(true));
        assert_eq!(ev.if_idx, Some(3));
        assert_eq!(ev.server_side, Some(true));
        assert_eq!(ev.deny_join_id0, Some(false));
    }

    #[test]
    fn deny_join_id0_is_decoded_from_the_flags() {
        let token = nla(MPTCP_ATTR_TOKEN, &7u32.to_ne_bytes());
        let flags = |f: u16| nla(MPTCP_ATTR_FLAGS, &f.to_ne_bytes());
        let both = MPTCP_PM_EV_FLAG_DENY_JOIN_ID0 | MPTCP_PM_EV_FLAG_SERVER_SIDE;
        for (kind, attrs, deny, server) in [
            (
                MPTCP_EVENT_CREATED,
                [token.clone(), flags(MPTCP_PM_EV_FLAG_DENY_JOIN_ID0)].concat(),
                Some(true),
                Some(false),
            ),
            (
                MPTCP_EVENT_ESTABLISHED,
                [token.clone(), flags(both)].concat(),
                Some(true),
                Some(true),
            ),
            // unknown bits are kept in `flags` and change nothing else
            (
                MPTCP_EVENT_CREATED,
                [token.clone(), flags(0x8000)].concat(),
                Some(false),
                Some(false),
            ),
            (
                MPTCP_EVENT_ESTABLISHED,
                token.clone(),
                Some(false),
                Some(false),
            ),
            (MPTCP_EVENT_SUB_ESTABLISHED, token.clone(), None, None),
        ] {
            let ev = PmEvent::decode(kind, &attrs).expect("decode");
            assert_eq!(ev.deny_join_id0, deny, "{ev:?}");
            assert_eq!(ev.server_side, server, "{ev:?}");
        }
    }

    #[test]
    fn unknown_kind_kept() {
        let ev = PmEvent::decode(42, &[]).expect("decode");
        assert_eq!(ev.kind, PmEventKind::Unknown(42));
        assert_eq!(ev.kind.to_u8(), 42);
        for k in [1u8, 2, 3, 6, 7, 10, 11, 13, 15, 16] {
            assert_eq!(PmEventKind::from_u8(k).to_u8(), k);
        }
    }

    #[test]
    fn truncated_and_malformed_never_panic() {
        let buf = sample();
        for cut in 0..buf.len() {
            let _ = PmEvent::decode(1, &buf[..cut]);
        }
        assert!(PmEvent::decode(1, &nla(MPTCP_ATTR_TOKEN, &[1, 2])).is_err());
        assert!(PmEvent::decode(1, &nla(MPTCP_ATTR_SADDR6, &[1; 8])).is_err());
        assert!(PmEvent::decode(1, &[100, 0, 1, 0]).is_err());
    }
}
