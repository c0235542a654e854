//! mptcp-policy-netlink: the only code of mptcp-policyd that speaks netlink.
//!
//! * [`pm`]: the generic-netlink family `mptcp_pm` (endpoints, limits, userspace-PM
//!   commands, events).
//! * [`diag`]: sock_diag (`inet_diag`): the TCP sockets that are MPTCP subflows,
//!   with their `tcp_info` (byte counters, RTT, ACK ages) and MPTCP subflow info.
//! * [`link`]: rtnetlink links and addresses (initial dump + live watch) and
//!   interface type inference inputs.
//!
//! No policy lives here: callers decide, this crate only speaks.

pub mod diag;
pub mod fuzz;
pub mod kernel_file;
pub mod link;
pub mod pm;
mod sockopt;

pub use pm::{
    subscribe_events, Endpoint, EndpointFlags, Limits, PmError, PmEvent, PmEventKind,
    PmEventStream, PmHandle,
};
