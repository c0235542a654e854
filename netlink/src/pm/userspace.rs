//! Userspace path-manager commands of [`PmHandle`] (per connection, by token):
//! announce, remove, subflow create/destroy, per-subflow backup flag.

use std::net::{IpAddr, SocketAddr};

use super::attr::{AddrSpec, PmAttr};
use super::constants::*;
use super::error::{Opt, PmError};
use super::handle::{addr, sock, PmHandle};
use super::message::PmMessage;

impl PmHandle {
    /// Userspace PM: `ip mptcp endpoint add ADDR [port P] id ID signal [dev IF] token T`
    /// (iproute2 ≥ 6.x: `ip mptcp endpoint add ... token`; mptcpd `add_addr`).
    pub async fn announce(
        &self,
        token: u32,
        id: u8,
        address: IpAddr,
        port: Option<u16>,
        ifindex: Option<u32>,
    ) -> Result<(), PmError> {
        let spec = AddrSpec {
            addr: Some(address),
            id: Some(id),
            port,
            ifindex,
            flags: Some(MPTCP_PM_ADDR_FLAG_SIGNAL),
        };
        let command = format!(
            "announce token {token} id {id} {address}{}",
            Opt("port", port)
        );
        let msg = PmMessage::new(
            MPTCP_PM_CMD_ANNOUNCE,
            vec![PmAttr::Token(token), PmAttr::Addr(spec.to_attrs())],
        );
        self.request(command, msg, false).await.map(drop)
    }

    /// Userspace PM: `REMOVE_ADDR` of local id `id` on connection `token`
    /// (mptcpd `remove_addr`).
    pub async fn remove(&self, token: u32, id: u8) -> Result<(), PmError> {
        let msg = PmMessage::new(
            MPTCP_PM_CMD_REMOVE,
            vec![PmAttr::Token(token), PmAttr::LocId(id)],
        );
        self.request(format!("remove token {token} id {id}"), msg, false)
            .await
            .map(drop)
    }

    /// Userspace PM: open a subflow `local` → `remote` on connection `token`
    /// (mptcpd `add_subflow`); `backup` sends the `MP_JOIN` with B=1, so the
    /// subflow is backup from its first packet.
    pub async fn subflow_create(
        &self,
        token: u32,
        local_id: u8,
        local: IpAddr,
        ifindex: Option<u32>,
        remote: SocketAddr,
        backup: bool,
    ) -> Result<(), PmError> {
        let spec = AddrSpec {
            addr: Some(local),
            id: Some(local_id),
            ifindex,
            flags: backup.then_some(MPTCP_PM_ADDR_FLAG_BACKUP),
            ..Default::default()
        };
        let command = format!(
            "subflow create token {token} id {local_id} {local} -> {remote}{}",
            if backup { " backup" } else { "" }
        );
        let msg = PmMessage::new(
            MPTCP_PM_CMD_SUBFLOW_CREATE,
            vec![
                PmAttr::Token(token),
                PmAttr::Addr(spec.to_attrs()),
                PmAttr::AddrRemote(sock(remote).to_attrs()),
            ],
        );
        self.request(command, msg, false).await.map(drop)
    }

    /// Userspace PM: close the subflow `local` → `remote` of connection `token`
    /// (mptcpd `remove_subflow`).
    pub async fn subflow_destroy(
        &self,
        token: u32,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<(), PmError> {
        let command = format!("subflow destroy token {token} {local} -> {remote}");
        let msg = PmMessage::new(
            MPTCP_PM_CMD_SUBFLOW_DESTROY,
            vec![
                PmAttr::Token(token),
                PmAttr::Addr(sock(local).to_attrs()),
                PmAttr::AddrRemote(sock(remote).to_attrs()),
            ],
        );
        self.request(command, msg, false).await.map(drop)
    }

    /// Userspace PM: `MP_PRIO` (backup or not) for the subflow `local` →
    /// `remote` of connection `token` (mptcpd `set_backup`).
    pub async fn set_flags_conn(
        &self,
        token: u32,
        local: IpAddr,
        remote: SocketAddr,
        backup: bool,
    ) -> Result<(), PmError> {
        let mut spec = addr(local);
        spec.flags = Some(if backup { MPTCP_PM_ADDR_FLAG_BACKUP } else { 0 });
        let command = format!(
            "set flags token {token} {local} -> {remote} {}",
            if backup { "backup" } else { "nobackup" }
        );
        let msg = PmMessage::new(
            MPTCP_PM_CMD_SET_FLAGS,
            vec![
                PmAttr::Token(token),
                PmAttr::Addr(spec.to_attrs()),
                PmAttr::AddrRemote(sock(remote).to_attrs()),
            ],
        );
        self.request(command, msg, false).await.map(drop)
    }
}
