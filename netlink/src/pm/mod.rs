//! Client of the kernel's generic-netlink family `mptcp_pm`: endpoints and
//! limits of the in-kernel path manager, the userspace path-manager commands,
//! and the `mptcp_pm_events` multicast stream.
//!
//! Layout: `constants` (kernel numbers), `types` (plain data), `attr` and
//! `message` (codec), `family` (nlctrl lookup), `handle` (commands) over
//! `request_socket` (one request and its replies in the calling thread), `event`
//! (decoding one event) and `subscription` (the multicast socket that
//! yields them), `error`.
//! No policy here: callers decide what to send.

mod attr;
pub mod constants;
mod error;
mod event;
mod family;
#[cfg(feature = "fault-injection")]
pub mod faults;
mod handle;
mod message;
mod reply;
mod request_socket;
mod subscription;
mod types;
mod userspace;

pub use attr::{AddressAttr, PmAttr};
pub use error::PmError;
pub use event::{PmEvent, PmEventKind};
pub use family::PmFamily;
pub use handle::PmHandle;
pub use message::PmMessage;
pub use reply::{decode_reply_datagram, endpoint_of, limits_of};
pub use subscription::{
    decode_event_datagram, subscribe_events, subscribe_events_with_rcvbuf, PmEventStream,
    EVENT_RCVBUF,
};
pub use types::{Endpoint, EndpointFlags, Limits};
