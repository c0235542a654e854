//! mptcp-policy-netlink: the only code of mptcp-policyd that speaks netlink.
//!
//! * [`pm`]: the generic-netlink family `mptcp_pm` (endpoints, limits, userspace-PM
//!   commands, events).
//! * [`link`]: rtnetlink links and addresses (initial dump + live watch) and
//!   interface type inference inputs.
//!
//! No policy lives here: callers decide, this crate only speaks.

pub mod link;
pub mod pm;

pub use pm::{
    subscribe_events, Endpoint, EndpointFlags, Limits, PmError, PmEvent, PmEventKind,
    PmEventStream, PmHandle,
};
