//! Looks the `mptcp_pm` family up through `nlctrl` (`CTRL_CMD_GETFAMILY`):
//! its id and its multicast groups (which `genetlink` 0.3's resolver does not
//! give us reliably), so both the command handle and the event socket share it.

use std::collections::HashMap;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, McastGrpAttrs};
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;

use super::constants::MPTCP_PM_NAME;
use super::error::PmError;
use super::request_socket::RequestSocket;

/// What nlctrl knows about `mptcp_pm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmFamily {
    /// The dynamic generic-netlink family id (nlmsg type).
    pub id: u16,
    /// Multicast group name to id.
    pub groups: HashMap<String, u32>,
}

/// Asks nlctrl for `mptcp_pm`; `ENOENT` becomes [`PmError::FamilyNotFound`].
pub(crate) fn lookup_family(socket: &RequestSocket) -> Result<PmFamily, PmError> {
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(MPTCP_PM_NAME.to_owned())],
    });
    genl.finalize();
    let mut msg = NetlinkMessage::from(genl);
    // With an ACK after the answer: it marks the end.
    msg.header.flags = NLM_F_REQUEST | NLM_F_ACK;

    let mut family: Option<PmFamily> = None;
    for reply in socket.request(msg)? {
        match reply.payload {
            NetlinkPayload::InnerMessage(genl) => {
                family = Some(family_from_attrs(genl.payload.nlas)?);
            }
            NetlinkPayload::Error(e) if e.code.is_some() => {
                return Err(if e.raw_code().abs() == libc::ENOENT {
                    PmError::FamilyNotFound
                } else {
                    super::error::kernel_error("nlctrl getfamily mptcp_pm", &reply.header, &e)
                });
            }
            _ => {}
        }
    }
    family.ok_or(PmError::FamilyNotFound)
}

fn family_from_attrs(nlas: Vec<GenlCtrlAttrs>) -> Result<PmFamily, PmError> {
    let mut id = None;
    let mut groups = HashMap::new();
    for nla in nlas {
        match nla {
            GenlCtrlAttrs::FamilyId(v) => id = Some(v),
            GenlCtrlAttrs::McastGroups(list) => {
                for group in list {
                    let mut name = None;
                    let mut gid = None;
                    for a in group {
                        match a {
                            McastGrpAttrs::Name(n) => name = Some(n),
                            McastGrpAttrs::Id(i) => gid = Some(i),
                        }
                    }
                    if let (Some(n), Some(i)) = (name, gid) {
                        groups.insert(n, i);
                    }
                }
            }
            _ => {}
        }
    }
    let id = id.ok_or_else(|| PmError::Decode("nlctrl reply without family id".into()))?;
    Ok(PmFamily { id, groups })
}
