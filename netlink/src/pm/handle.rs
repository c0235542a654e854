//! [`PmHandle`]: the cloneable command handle of the `mptcp_pm` family.
//!
//! One generic-netlink socket per handle (in the namespace of the thread that
//! called [`PmHandle::connect`]); each command is sent and answered in the
//! calling thread ([`RequestSocket`]: the kernel answers inside `sendto`).
//! Each method is one kernel command and says which `ip mptcp` command it equals.
//! The userspace path-manager commands are in `userspace.rs`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;

use super::attr::{AddrSpec, PmAttr};
use super::constants::*;
use super::error::{kernel_error, Opt, PmError};
use super::family::{lookup_family, PmFamily};
use super::message::PmMessage;
use super::reply::{endpoint_of, limits_of};
use super::request_socket::RequestSocket;
use super::types::{Endpoint, EndpointFlags, Limits};

/// Cloneable handle to the kernel's `mptcp_pm` family.
#[derive(Clone)]
pub struct PmHandle {
    socket: Arc<RequestSocket>,
    family: Arc<PmFamily>,
}

impl std::fmt::Debug for PmHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PmHandle")
            .field("family", &self.family)
            .finish()
    }
}

pub(super) fn addr(addr: IpAddr) -> AddrSpec {
    AddrSpec {
        addr: Some(addr),
        ..Default::default()
    }
}

pub(super) fn sock(sa: SocketAddr) -> AddrSpec {
    AddrSpec {
        addr: Some(sa.ip()),
        port: Some(sa.port()),
        ..Default::default()
    }
}

fn flags_word(flags: EndpointFlags) -> String {
    if flags.is_empty() {
        String::new()
    } else {
        format!(" {flags}")
    }
}

impl PmHandle {
    /// Opens the genl socket in the calling thread's network namespace and
    /// resolves the family. Enables `NETLINK_EXT_ACK` so kernel errors carry
    /// their text. (Async for its callers' sake: nothing in it waits.)
    pub async fn connect() -> Result<PmHandle, PmError> {
        let socket = RequestSocket::open()?;
        let family = lookup_family(&socket)?;
        Ok(PmHandle {
            socket: Arc::new(socket),
            family: Arc::new(family),
        })
    }

    /// The resolved family (id and multicast groups).
    pub fn family(&self) -> &PmFamily {
        &self.family
    }

    /// Sends one command and collects its replies; kernel errors become
    /// [`PmError::Kernel`] carrying `command` (the `ip mptcp` words).
    pub(super) async fn request(
        &self,
        command: String,
        msg: PmMessage,
        dump: bool,
    ) -> Result<Vec<PmMessage>, PmError> {
        // Test builds only (see `faults.rs`): a planned fault answers instead
        // of, or on top of, the kernel.
        #[cfg(feature = "fault-injection")]
        if let Some(fault) = super::faults::for_command(&command) {
            let kernel = self.request_kernel(command.clone(), msg, dump);
            return fault.answer(&command, self.family.id, kernel).await;
        }
        self.request_kernel(command, msg, dump).await
    }

    async fn request_kernel(
        &self,
        command: String,
        msg: PmMessage,
        dump: bool,
    ) -> Result<Vec<PmMessage>, PmError> {
        tracing::debug!(target: "mptcp_pm", %command, "request");
        let mut genl = GenlMessage::from_payload(msg);
        genl.set_resolved_family_id(self.family.id);
        genl.finalize();
        let mut nl = NetlinkMessage::from(genl);
        nl.header.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { NLM_F_ACK };
        nl.finalize();

        let mut out = Vec::new();
        for reply in self.socket.request(nl)? {
            match reply.payload {
                NetlinkPayload::InnerMessage(genl) => out.push(genl.payload),
                NetlinkPayload::Error(e) if e.code.is_some() => {
                    return Err(kernel_error(&command, &reply.header, &e));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    async fn endpoint_cmd(&self, command: String, cmd: u8, spec: AddrSpec) -> Result<(), PmError> {
        let msg = PmMessage::new(cmd, vec![PmAttr::Addr(spec.to_attrs())]);
        self.request(command, msg, false).await.map(drop)
    }

    /// `ip mptcp endpoint add ADDR [port PORT] [id ID] [FLAGS] [dev IFNAME]`.
    pub async fn endpoint_add(
        &self,
        addr: IpAddr,
        id: Option<u8>,
        port: Option<u16>,
        ifindex: Option<u32>,
        flags: EndpointFlags,
    ) -> Result<(), PmError> {
        let command = format!(
            "endpoint add {addr}{}{}{}{}",
            Opt("port", port),
            Opt("id", id),
            flags_word(flags),
            ifindex.map(|i| format!(" dev #{i}")).unwrap_or_default(),
        );
        let spec = AddrSpec {
            addr: Some(addr),
            id,
            port,
            ifindex,
            flags: Some(flags.bits()),
        };
        self.endpoint_cmd(command, MPTCP_PM_CMD_ADD_ADDR, spec)
            .await
    }

    /// `ip mptcp endpoint delete id ID`. An unknown id gives `EINVAL`
    /// ("address not found") on current kernels, not `ENOENT`.
    pub async fn endpoint_del(&self, id: u8) -> Result<(), PmError> {
        let spec = AddrSpec {
            id: Some(id),
            ..Default::default()
        };
        let command = format!("endpoint delete id {id}");
        self.endpoint_cmd(command, MPTCP_PM_CMD_DEL_ADDR, spec)
            .await
    }

    /// `ip mptcp endpoint delete id 0 ADDR`: the kernel's address form. It
    /// removes the address from connections using it as their initial
    /// (id 0) address; it does not delete an endpoint with a non-zero id.
    /// See [`PmHandle::endpoint_del_by_addr`] for "delete the endpoint of ADDR".
    pub async fn endpoint_del_addr(&self, addr: IpAddr) -> Result<(), PmError> {
        let spec = AddrSpec {
            addr: Some(addr),
            id: Some(0),
            ..Default::default()
        };
        let command = format!("endpoint delete id 0 {addr}");
        self.endpoint_cmd(command, MPTCP_PM_CMD_DEL_ADDR, spec)
            .await
    }

    /// Deletes the endpoint holding `addr` (looked up by dump, deleted by id),
    /// like `ip mptcp endpoint delete id $(ip mptcp endpoint show | grep ADDR)`.
    /// `ENOENT` when no endpoint has that address.
    pub async fn endpoint_del_by_addr(&self, addr: IpAddr) -> Result<(), PmError> {
        let found = self
            .endpoint_dump()
            .await?
            .into_iter()
            .find(|e| e.addr == addr);
        match found {
            Some(ep) => self.endpoint_del(ep.id).await,
            None => Err(PmError::Kernel {
                command: format!("endpoint delete {addr}"),
                errno: libc::ENOENT,
                message: Some("no endpoint with this address".into()),
            }),
        }
    }

    /// `ip mptcp endpoint show id ID`.
    pub async fn endpoint_get(&self, id: u8) -> Result<Endpoint, PmError> {
        let spec = AddrSpec {
            id: Some(id),
            ..Default::default()
        };
        let msg = PmMessage::new(MPTCP_PM_CMD_GET_ADDR, vec![PmAttr::Addr(spec.to_attrs())]);
        let replies = self
            .request(format!("endpoint show id {id}"), msg, false)
            .await?;
        replies
            .iter()
            .find_map(endpoint_of)
            .transpose()?
            .ok_or_else(|| PmError::Decode("get-addr reply without address".into()))
    }

    /// `ip mptcp endpoint show`.
    pub async fn endpoint_dump(&self) -> Result<Vec<Endpoint>, PmError> {
        let msg = PmMessage::new(MPTCP_PM_CMD_GET_ADDR, vec![]);
        let replies = self.request("endpoint show".into(), msg, true).await?;
        replies.iter().filter_map(endpoint_of).collect()
    }

    /// `ip mptcp endpoint flush`.
    pub async fn endpoint_flush(&self) -> Result<(), PmError> {
        let msg = PmMessage::new(MPTCP_PM_CMD_FLUSH_ADDRS, vec![]);
        self.request("endpoint flush".into(), msg, false)
            .await
            .map(drop)
    }

    /// `ip mptcp endpoint change id ID [no]backup [no]fullmesh`. Only
    /// `backup` and `fullmesh` can change; other bits are ignored by the kernel.
    pub async fn endpoint_set_flags(&self, id: u8, flags: EndpointFlags) -> Result<(), PmError> {
        let spec = AddrSpec {
            id: Some(id),
            flags: Some(flags.bits()),
            ..Default::default()
        };
        let command = format!("endpoint change id {id}{}", change_words(flags));
        let msg = PmMessage::new(MPTCP_PM_CMD_SET_FLAGS, vec![PmAttr::Addr(spec.to_attrs())]);
        self.request(command, msg, false).await.map(drop)
    }

    /// `ip mptcp endpoint change ADDR [no]backup [no]fullmesh`.
    pub async fn endpoint_set_flags_by_addr(
        &self,
        addr: IpAddr,
        flags: EndpointFlags,
    ) -> Result<(), PmError> {
        let spec = AddrSpec {
            addr: Some(addr),
            flags: Some(flags.bits()),
            ..Default::default()
        };
        let command = format!("endpoint change {addr}{}", change_words(flags));
        let msg = PmMessage::new(MPTCP_PM_CMD_SET_FLAGS, vec![PmAttr::Addr(spec.to_attrs())]);
        self.request(command, msg, false).await.map(drop)
    }

    /// `ip mptcp limits show`.
    pub async fn limits_get(&self) -> Result<Limits, PmError> {
        let msg = PmMessage::new(MPTCP_PM_CMD_GET_LIMITS, vec![]);
        let replies = self.request("limits show".into(), msg, false).await?;
        limits_of(&replies)
    }

    /// `ip mptcp limits set subflows N add_addr_accepted M`.
    pub async fn limits_set(&self, limits: Limits) -> Result<(), PmError> {
        let command = format!(
            "limits set subflows {} add_addr_accepted {}",
            limits.subflows, limits.add_addr_accepted
        );
        let msg = PmMessage::new(
            MPTCP_PM_CMD_SET_LIMITS,
            vec![
                PmAttr::RcvAddAddrs(limits.add_addr_accepted),
                PmAttr::Subflows(limits.subflows),
            ],
        );
        self.request(command, msg, false).await.map(drop)
    }
}

fn change_words(flags: EndpointFlags) -> String {
    format!(
        " {} {}",
        if flags.backup { "backup" } else { "nobackup" },
        if flags.fullmesh {
            "fullmesh"
        } else {
            "nofullmesh"
        }
    )
}
