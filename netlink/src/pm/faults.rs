//! Fault injection at the `mptcp_pm` boundary — **for tests only**.
//!
//! Compiled only with the cargo feature `fault-injection`, which nothing
//! turns on in a normal build: the daemon's own tests enable it through a
//! dev-dependency (`service/Cargo.toml`), so `cargo test` builds a daemon
//! that *can* inject faults, while `cargo build --release` and the Debian
//! package contain none of this code. Even when compiled in it does
//! nothing unless `MPTCP_POLICYD_FAULTS` is set.
//!
//! Why here and not as a trait in the service: a truncated reply and a
//! closed or overflowing event socket only exist below the `PmHandle` API;
//! a wrapper above it could only fake them. Everything not injected is
//! answered by the real kernel — this is not a mock.
//!
//! `MPTCP_POLICYD_FAULTS` holds rules separated by `;`:
//!
//! ```text
//! TARGET=FAULT [skip=N] [times=N] [sent]
//! endpoint add=EEXIST times=2        # the first two adds answered EEXIST, not sent
//! endpoint delete=EBUSY sent         # the delete reaches the kernel, the answer says EBUSY
//! endpoint show=truncated skip=2     # the third dump's reply cut in half (decoder error)
//! events=close skip=3                # the event socket fails at the 4th datagram
//! events=ENOBUFS times=50            # 50 overflows in a row from the first datagram on
//! ```
//!
//! `TARGET` is a prefix of the command in `ip mptcp` words as the handle
//! logs them (`endpoint add`, `endpoint delete`, `endpoint change`,
//! `endpoint show`, `limits set`, `limits show`, `announce`, `remove`,
//! `subflow create`, `subflow destroy`, `set flags`), or `events`.
//! Command faults: `EEXIST`, `ENOENT`, `EINVAL`, `EBUSY`, `ENOBUFS` (a
//! kernel refusal with that errno) and `truncated` (the kernel's real
//! reply, cut). Event faults: `close` and `ENOBUFS`. `skip` lets the first
//! N matches through; `times` (default 1, `times=always`) is how many are
//! hit. Without `sent` a refused command never reaches the kernel; with
//! it (always for `truncated`) the kernel acts and only the answer is
//! replaced. Every injected fault is logged (target `fault_injection`).

use std::sync::{Mutex, OnceLock};

use netlink_packet_core::NetlinkMessage;
use netlink_packet_generic::GenlMessage;

use super::error::PmError;
use super::message::PmMessage;
use super::reply::decode_reply_datagram;

/// The environment variable holding the plan.
pub const FAULTS_ENV: &str = "MPTCP_POLICYD_FAULTS";

/// What is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The kernel refuses with this errno.
    Errno(i32),
    /// The reply arrives cut in half.
    Truncated,
    /// The event socket fails for good.
    Close,
}

#[derive(Debug)]
struct Rule {
    target: String,
    fault: Fault,
    skip: u64,
    /// `None`: always.
    times: Option<u64>,
    sent: bool,
}

/// The parsed plan.
#[derive(Debug, Default)]
pub struct Plan {
    rules: Vec<Rule>,
    /// Overflows still to report in the current `events=ENOBUFS` storm.
    storm: u64,
}

fn errno_of(word: &str) -> Option<i32> {
    Some(match word {
        "EEXIST" => libc::EEXIST,
        "ENOENT" => libc::ENOENT,
        "EINVAL" => libc::EINVAL,
        "EBUSY" => libc::EBUSY,
        "ENOBUFS" => libc::ENOBUFS,
        _ => return None,
    })
}

impl Plan {
    /// Parses `MPTCP_POLICYD_FAULTS`; a bad rule is an error (a test with a
    /// typo must not silently run without its fault).
    pub fn parse(text: &str) -> Result<Plan, String> {
        let mut rules = Vec::new();
        for rule in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
            let (target, rest) = rule
                .split_once('=')
                .ok_or_else(|| format!("fault rule {rule:?}: expected TARGET=FAULT"))?;
            let mut words = rest.split_whitespace();
            let word = words.next().unwrap_or_default();
            let target = target.trim().to_owned();
            let fault = match (target == "events", word) {
                (true, "close") => Fault::Close,
                (true, "ENOBUFS") => Fault::Errno(libc::ENOBUFS),
                (false, "truncated") => Fault::Truncated,
                (false, w) => Fault::Errno(
                    errno_of(w)
                        .ok_or_else(|| format!("fault rule {rule:?}: unknown fault {w:?}"))?,
                ),
                (true, w) => {
                    return Err(format!(
                        "fault rule {rule:?}: events take close or ENOBUFS, not {w:?}"
                    ))
                }
            };
            let mut r = Rule {
                target,
                fault,
                skip: 0,
                times: Some(1),
                sent: fault == Fault::Truncated,
            };
            for w in words {
                let bad = || format!("fault rule {rule:?}: bad option {w:?}");
                match w.split_once('=') {
                    Some(("skip", n)) => r.skip = n.parse().map_err(|_| bad())?,
                    Some(("times", "always")) => r.times = None,
                    Some(("times", n)) => r.times = Some(n.parse().map_err(|_| bad())?),
                    None if w == "sent" => r.sent = true,
                    _ => return Err(bad()),
                }
            }
            rules.push(r);
        }
        Ok(Plan { rules, storm: 0 })
    }

    /// The fault for this match of `target`, if one is due (counts it).
    fn take(&mut self, matches: impl Fn(&str) -> bool) -> Option<(Fault, bool, Option<u64>)> {
        let rule = self
            .rules
            .iter_mut()
            .find(|r| matches(&r.target) && r.times != Some(0))?;
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        if let Some(t) = rule.times.as_mut() {
            *t -= 1;
        }
        Some((rule.fault, rule.sent, rule.times))
    }
}

fn plan() -> Option<&'static Mutex<Plan>> {
    static PLAN: OnceLock<Option<Mutex<Plan>>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let text = std::env::var(FAULTS_ENV).ok()?;
        match Plan::parse(&text) {
            Ok(p) => {
                tracing::warn!(target: "fault_injection", "fault injection is on: {text}");
                Some(Mutex::new(p))
            }
            Err(e) => {
                // A test asked for faults and got the rule wrong: stop
                // loudly rather than run without them.
                eprintln!("{FAULTS_ENV}: {e}");
                std::process::exit(2);
            }
        }
    })
    .as_ref()
}

fn with_plan<T>(f: impl FnOnce(&mut Plan) -> Option<T>) -> Option<T> {
    let mut guard = plan()?.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut guard)
}

/// A fault due for one command.
#[derive(Debug)]
pub(super) struct CommandFault {
    fault: Fault,
    sent: bool,
}

/// The fault due for `command` (in `ip mptcp` words), if any.
pub(super) fn for_command(command: &str) -> Option<CommandFault> {
    with_plan(|p| p.take(|t| t != "events" && command.starts_with(t)))
        .map(|(fault, sent, _)| CommandFault { fault, sent })
}

impl CommandFault {
    /// Answers the command: without `sent` the kernel never sees it; with
    /// it the kernel's answer (`kernel`, not polled before) is replaced.
    pub(super) async fn answer(
        self,
        command: &str,
        family_id: u16,
        kernel: impl std::future::Future<Output = Result<Vec<PmMessage>, PmError>>,
    ) -> Result<Vec<PmMessage>, PmError> {
        let real = if self.sent { Some(kernel.await) } else { None };
        let result = match self.fault {
            Fault::Truncated => {
                let replies = match &real {
                    Some(Ok(replies)) => replies.as_slice(),
                    _ => &[],
                };
                truncated(family_id, replies)
            }
            Fault::Errno(errno) => Err(PmError::Kernel {
                command: command.to_owned(),
                errno,
                message: Some("injected by MPTCP_POLICYD_FAULTS".into()),
            }),
            Fault::Close => Err(PmError::ConnectionClosed),
        };
        let real_text = match &real {
            Some(Ok(_)) => "the kernel did it",
            Some(Err(_)) => "the kernel refused it too",
            None => "not sent to the kernel",
        };
        tracing::warn!(
            target: "fault_injection",
            "injected {:?} into `{command}` ({real_text})",
            self.fault
        );
        result
    }
}

/// The first reply (or the ACK of a command without one) as the datagram
/// the kernel sent, cut in half, through the real decoder.
fn truncated(family_id: u16, replies: &[PmMessage]) -> Result<Vec<PmMessage>, PmError> {
    let bytes = match replies.first() {
        Some(msg) => {
            let mut genl = GenlMessage::from_payload(msg.clone());
            genl.set_resolved_family_id(family_id);
            genl.finalize();
            let mut nl = NetlinkMessage::from(genl);
            nl.finalize();
            let mut buf = vec![0; nl.buffer_len()];
            nl.serialize(&mut buf);
            buf
        }
        None => {
            // NLMSG_ERROR, code 0 (ACK), capped: header + code + echoed header.
            let mut buf = Vec::with_capacity(36);
            buf.extend_from_slice(&36u32.to_ne_bytes());
            buf.extend_from_slice(&2u16.to_ne_bytes());
            buf.extend_from_slice(&0x100u16.to_ne_bytes());
            buf.extend_from_slice(&[0; 28]);
            buf
        }
    };
    match decode_reply_datagram(&bytes[..bytes.len() / 2]) {
        Err(e) => Err(e),
        Ok(_) => Err(PmError::Decode(
            "truncated reply (decoded without error?)".into(),
        )),
    }
}

/// What the event socket does with a received datagram.
pub(super) enum EventFault {
    /// Report `ENOBUFS` (the datagram is lost, as in a real overflow).
    Overflow,
    /// The socket fails for good.
    Close,
}

/// Before a read of the event socket: an overflow while a storm lasts.
pub(super) fn event_storm() -> Option<EventFault> {
    with_plan(|p| {
        (p.storm > 0).then(|| {
            p.storm -= 1;
            EventFault::Overflow
        })
    })
}

/// For a datagram just received on the event socket.
pub(super) fn for_event_datagram() -> Option<EventFault> {
    let fault = with_plan(|p| {
        let (fault, _, left) = p.take(|t| t == "events")?;
        if fault == Fault::Errno(libc::ENOBUFS) {
            // The whole storm starts now: this overflow and `times - 1` more.
            let rule = p.rules.iter_mut().find(|r| r.target == "events")?;
            p.storm = left.unwrap_or(u64::MAX / 2);
            rule.times = Some(0);
        }
        Some(fault)
    })?;
    tracing::warn!(target: "fault_injection", "injected {fault:?} into the event socket");
    Some(match fault {
        Fault::Close => EventFault::Close,
        _ => EventFault::Overflow,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_count() {
        let mut p = Plan::parse("endpoint add=EEXIST times=2; endpoint show=truncated skip=1")
            .expect("plan");
        let add = |p: &mut Plan| p.take(|t| "endpoint add 10.0.0.1".starts_with(t));
        assert_eq!(add(&mut p).map(|f| f.0), Some(Fault::Errno(libc::EEXIST)));
        assert!(add(&mut p).is_some());
        assert!(add(&mut p).is_none(), "times=2");
        let show = |p: &mut Plan| p.take(|t| "endpoint show".starts_with(t));
        assert!(show(&mut p).is_none(), "skip=1");
        assert_eq!(
            show(&mut p).map(|f| (f.0, f.1)),
            Some((Fault::Truncated, true))
        );
        for bad in [
            "endpoint add",
            "x=EWHAT",
            "events=EEXIST",
            "a=EBUSY times=x",
            "a=EBUSY loud",
        ] {
            assert!(Plan::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn truncated_replies_are_decoder_errors() {
        assert!(matches!(truncated(30, &[]), Err(PmError::Decode(_))));
        let msg = PmMessage::new(3, vec![crate::pm::PmAttr::Subflows(2)]);
        assert!(matches!(truncated(30, &[msg]), Err(PmError::Decode(_))));
    }
}
