//! The rtnetlink watch: one multicast socket for link + IPv4/IPv6 address
//! notifications, opened before the initial dump so no change can slip
//! between dump and watch.

use std::os::fd::AsRawFd;
use std::time::Instant;

use futures::channel::mpsc::UnboundedReceiver;
use futures::{StreamExt, TryStreamExt};
use netlink_packet_core::NetlinkMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{AsyncSocket, SocketAddr};
use rtnetlink::{Handle, MulticastGroup};

use super::decode::{addr_info, link_info, translate};
use super::types::{LinkEvent, LinkInfo, LinkSnapshot};

/// Receive buffer for notifications. A flapping interface with many
/// addresses can burst; a lost notification costs a full resync.
const RECV_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Errors of the rtnetlink side.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("rtnetlink socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("rtnetlink dump of {what} failed: {source}")]
    Dump {
        what: &'static str,
        #[source]
        source: rtnetlink::Error,
    },
    #[error("rtnetlink notification channel closed")]
    Closed,
}

type Messages = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// Live view of links and addresses in the caller's network namespace.
pub struct LinkWatch {
    handle: Handle,
    messages: Messages,
}

impl LinkWatch {
    /// Subscribes (equals `ip monitor link address`) and returns the watch
    /// together with the initial dump (equals `ip link show; ip addr show`).
    /// Must be called inside a tokio runtime: the socket task is spawned.
    pub async fn open() -> Result<(LinkWatch, LinkSnapshot), LinkError> {
        let (mut conn, handle, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])?;
        set_receive_buffer(conn.socket_mut().socket_mut().as_raw_fd());
        tokio::spawn(conn);
        let watch = LinkWatch { handle, messages };
        let snapshot = watch.dump().await?;
        Ok((watch, snapshot))
    }

    /// A fresh dump of every link and address (also the resync after
    /// [`LinkEvent::Overflow`]).
    pub async fn dump(&self) -> Result<LinkSnapshot, LinkError> {
        let links = self.dump_links().await?;
        let addresses: Vec<_> = self
            .handle
            .address()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|source| LinkError::Dump {
                what: "addresses",
                source,
            })?;
        Ok(LinkSnapshot {
            links,
            addresses: addresses.iter().filter_map(addr_info).collect(),
        })
    }

    /// The links alone, without addresses: what a periodic counter read
    /// needs (`ip -s link show`).
    pub async fn dump_links(&self) -> Result<Vec<LinkInfo>, LinkError> {
        self.counters().dump_links().await
    }

    /// A reader of the links' counters on this watch's socket, for a task
    /// that does not own the watch.
    pub fn counters(&self) -> LinkCounters {
        LinkCounters {
            handle: self.handle.clone(),
        }
    }

    /// A change that is already queued, without waiting: lets the caller
    /// fold a burst of notifications into one reaction.
    pub fn try_next(&mut self) -> Option<LinkEvent> {
        while let Ok((msg, _)) = self.messages.try_recv() {
            if let Some(event) = translate(msg.payload, Instant::now()) {
                return Some(event);
            }
        }
        None
    }

    /// The next change. Notifications we do not use are skipped.
    pub async fn next(&mut self) -> Result<LinkEvent, LinkError> {
        loop {
            let (msg, _) = self.messages.next().await.ok_or(LinkError::Closed)?;
            let at = Instant::now();
            if let Some(event) = translate(msg.payload, at) {
                return Ok(event);
            }
        }
    }
}

/// A larger receive buffer; failure only means a smaller one (overflow is
/// still handled by a resync).
fn set_receive_buffer(fd: libc::c_int) {
    if let Err(e) = crate::sockopt::set_rcvbuf(fd, RECV_BUFFER_BYTES) {
        tracing::warn!(
            "could not enlarge the rtnetlink receive buffer ({e}); bursts may force resyncs"
        );
    }
}

/// Reads the links (with their byte counters) over a [`LinkWatch`]'s socket.
#[derive(Clone)]
pub struct LinkCounters {
    handle: Handle,
}

impl LinkCounters {
    /// The links alone, without addresses: what a periodic counter read
    /// needs (`ip -s link show`).
    pub async fn dump_links(&self) -> Result<Vec<LinkInfo>, LinkError> {
        let links: Vec<_> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|source| LinkError::Dump {
                what: "links",
                source,
            })?;
        Ok(links.iter().filter_map(link_info).collect())
    }
}
