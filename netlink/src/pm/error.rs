//! The error type of the `mptcp_pm` client and the decoding of kernel error
//! replies (errno + extended-ack message).

use std::fmt;
use std::io;

use netlink_packet_core::{DecodeError, ErrorMessage, NetlinkHeader, NlasIterator};

use super::constants::NLMSGERR_ATTR_MSG;

const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSG_HDRLEN: usize = 16;

/// Everything that can go wrong talking to `mptcp_pm`.
#[derive(Debug, thiserror::Error)]
pub enum PmError {
    /// The kernel refused a command.
    #[error("mptcp_pm: {command}: {}{}", errno_text(*.errno), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kernel {
        /// What was asked, in `ip mptcp` words, e.g. `endpoint add 10.0.0.1 flags subflow`.
        command: String,
        /// Positive errno (`EEXIST`, `ENOENT`, ...).
        errno: i32,
        /// The kernel's extended-ack text, when it gave one.
        message: Option<String>,
    },
    /// The kernel has no `mptcp_pm` generic-netlink family (no MPTCP).
    #[error("mptcp_pm: the kernel has no generic netlink family mptcp_pm")]
    FamilyNotFound,
    /// Socket-level failure.
    #[error("mptcp_pm: {0}")]
    Io(#[from] io::Error),
    /// The kernel sent something we could not decode.
    #[error("mptcp_pm: cannot decode kernel message: {0}")]
    Decode(String),
    /// The event socket overflowed (`ENOBUFS`): events were lost, resync.
    #[error("mptcp_pm: event socket overflow (ENOBUFS), events were lost")]
    Overflow,
    /// The command socket is gone (only planned by fault injection).
    #[error("mptcp_pm: netlink connection closed")]
    ConnectionClosed,
}

impl PmError {
    /// The positive errno of a kernel refusal or socket error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { errno, .. } => Some(*errno),
            Self::Io(e) => e.raw_os_error(),
            Self::Overflow => Some(libc::ENOBUFS),
            _ => None,
        }
    }

    /// True for `EEXIST` (already there: an idempotent add succeeded).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// True for `ENOENT` (already gone: an idempotent delete succeeded).
    pub fn is_not_found(&self) -> bool {
        self.errno() == Some(libc::ENOENT)
    }
}

impl From<DecodeError> for PmError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e.to_string())
    }
}

fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::E2BIG => "E2BIG",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENOBUFS => "ENOBUFS",
        libc::ENOTCONN => "ENOTCONN",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::EACCES => "EACCES",
        _ => return None,
    })
}

/// `File exists (EEXIST)`.
fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    match errno_name(errno) {
        Some(name) => format!("{text} ({name})"),
        None => format!("{text} (errno {errno})"),
    }
}

/// Displays an optional value as ` word value`, nothing when absent.
pub(crate) struct Opt<'a, T>(pub &'a str, pub Option<T>);

impl<T: fmt::Display> fmt::Display for Opt<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.1 {
            Some(v) => write!(f, " {} {v}", self.0),
            None => Ok(()),
        }
    }
}

/// Extracts the extended-ack message (`NLMSGERR_ATTR_MSG`) of an `NLMSG_ERROR`.
///
/// `payload` is what follows the error code: the echoed request header (and
/// the request itself unless `NLM_F_CAPPED`), then the TLVs when
/// `NLM_F_ACK_TLVS` is set in the error message's header.
pub(crate) fn extack_message(header: &NetlinkHeader, payload: &[u8]) -> Option<String> {
    if header.flags & NLM_F_ACK_TLVS == 0 || payload.len() < NLMSG_HDRLEN {
        return None;
    }
    let echoed = if header.flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        let len = u32::from_ne_bytes(payload.get(0..4)?.try_into().ok()?) as usize;
        len.checked_add(3)? & !3
    };
    let tlvs = payload.get(echoed..)?;
    for nla in NlasIterator::new(tlvs) {
        let nla = nla.ok()?;
        if nla.kind() == NLMSGERR_ATTR_MSG {
            let v = nla.value();
            let v = v.split(|b| *b == 0).next().unwrap_or(v);
            let msg = String::from_utf8_lossy(v).trim().to_owned();
            return (!msg.is_empty()).then_some(msg);
        }
    }
    None
}

/// Turns an `NLMSG_ERROR` with a non-zero code into [`PmError::Kernel`].
pub(crate) fn kernel_error(command: &str, header: &NetlinkHeader, err: &ErrorMessage) -> PmError {
    PmError::Kernel {
        command: command.to_owned(),
        errno: err.raw_code().saturating_abs(),
        message: extack_message(header, &err.header),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_like_the_brief() {
        let e = PmError::Kernel {
            command: "endpoint add 10.0.0.1 flags subflow".into(),
            errno: libc::EEXIST,
            message: Some("address already in use".into()),
        };
        assert_eq!(
            e.to_string(),
            "mptcp_pm: endpoint add 10.0.0.1 flags subflow: File exists (EEXIST): address already in use"
        );
        assert_eq!(e.errno(), Some(libc::EEXIST));
        assert!(e.is_exists());
    }

    fn header(flags: u16) -> NetlinkHeader {
        let mut h = NetlinkHeader::default();
        h.flags = flags;
        h
    }

    #[test]
    fn extack_parsing() {
        // echoed request: header only, length 20 (4 bytes payload) -> skip 20
        let mut p = vec![0u8; 20];
        p[0..4].copy_from_slice(&20u32.to_ne_bytes());
        let msg = b"bad flags\0";
        let nla_len = (4 + msg.len()) as u16;
        p.extend_from_slice(&nla_len.to_ne_bytes());
        p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        p.extend_from_slice(msg);
        p.extend_from_slice(&[0, 0]);
        assert_eq!(
            extack_message(&header(NLM_F_ACK_TLVS), &p).as_deref(),
            Some("bad flags")
        );
        assert_eq!(extack_message(&header(0), &p), None);
        // truncated anywhere: never panics
        for cut in 0..p.len() {
            let _ = extack_message(&header(NLM_F_ACK_TLVS), &p[..cut]);
            let _ = extack_message(&header(NLM_F_ACK_TLVS | NLM_F_CAPPED), &p[..cut]);
        }
        // bogus echoed length
        let mut q = p.clone();
        q[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(extack_message(&header(NLM_F_ACK_TLVS), &q), None);
    }
}
