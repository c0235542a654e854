//! Records real kernel datagrams as fuzz seeds (`fuzz/corpus/<target>/`):
//! rtnetlink link and address dumps, `mptcp_pm` replies (endpoint dump,
//! limits, an error), `mptcp_pm` events of one MPTCP connection, and the
//! `inet_diag` subflow dump while it is open. Run by
//! `scripts/fuzz-capture.sh` inside a throwaway namespace (never on the
//! host's own): `fuzz_capture OUTDIR 'CLIENT COMMAND'`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkSerializable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, IPPROTO_TCP};
use netlink_sys::protocols::{NETLINK_GENERIC, NETLINK_ROUTE, NETLINK_SOCK_DIAG};
use netlink_sys::{Socket, SocketAddr};

use mptcp_policy_netlink::pm::constants::*;
use mptcp_policy_netlink::pm::{AddressAttr, PmAttr, PmHandle, PmMessage};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn bytes<T: NetlinkSerializable + Into<T> + std::fmt::Debug>(
    mut msg: NetlinkMessage<T>,
    flags: u16,
) -> Vec<u8>
where
    NetlinkMessage<T>: netlink_packet_core::Emitable,
{
    msg.header.flags = flags;
    msg.header.sequence_number = 1;
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

fn socket(proto: isize) -> Res<Socket> {
    let mut s = Socket::new(proto)?;
    s.bind_auto()?;
    s.connect(&SocketAddr::new(0, 0))?;
    s.set_non_blocking(false)?;
    Ok(s)
}

/// Sends `req`, saves every datagram of the answer as `dir/NAME-N` up to
/// the one holding the ACK, the error or the end of the dump.
fn exchange(s: &Socket, req: &[u8], dir: &Path, name: &str) -> Res<()> {
    s.send(req, 0)?;
    for n in 0.. {
        let (buf, _) = s.recv_from_full()?;
        std::fs::write(dir.join(format!("{name}-{n}")), &buf)?;
        if buf.len() < 16 || has_end(&buf) {
            break;
        }
    }
    Ok(())
}

/// Whether a message of the datagram is `NLMSG_ERROR` (also an ACK) or
/// `NLMSG_DONE`: the last one of an answer.
fn has_end(buf: &[u8]) -> bool {
    let mut rest = buf;
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if matches!(u16::from_ne_bytes([rest[4], rest[5]]), 2 | 3) {
            return true;
        }
        if len < 16 || len > rest.len() {
            return true;
        }
        rest = &rest[((len + 3) & !3).min(rest.len())..];
    }
    false
}

fn genl(family: u16, msg: PmMessage, flags: u16) -> Vec<u8> {
    let mut g = GenlMessage::from_payload(msg);
    g.set_resolved_family_id(family);
    g.finalize();
    bytes(NetlinkMessage::from(g), flags)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let (out, client) = match &args[..] {
        [_, out, client] => (PathBuf::from(out), client.clone()),
        _ => return Err("usage: fuzz_capture OUTDIR 'CLIENT COMMAND'".into()),
    };
    let dir = |t: &str| -> Res<PathBuf> {
        let d = out.join(t);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    };

    let route = socket(NETLINK_ROUTE)?;
    let get_link = RouteNetlinkMessage::GetLink(LinkMessage::default());
    let req = bytes(
        NetlinkMessage::new(NetlinkHeader::default(), get_link.into()),
        NLM_F_REQUEST | NLM_F_DUMP,
    );
    exchange(&route, &req, &dir("rtnetlink")?, "link-dump")?;
    let get_addr = RouteNetlinkMessage::GetAddress(AddressMessage::default());
    let req = bytes(
        NetlinkMessage::new(NetlinkHeader::default(), get_addr.into()),
        NLM_F_REQUEST | NLM_F_DUMP,
    );
    exchange(&route, &req, &dir("rtnetlink")?, "addr-dump")?;

    let pm = PmHandle::connect().await?;
    let family = pm.family().id;
    let group = *pm
        .family()
        .groups
        .get(MPTCP_PM_EV_GRP_NAME)
        .ok_or("no event group")?;
    let g = socket(NETLINK_GENERIC)?;
    let d = dir("pm_reply")?;
    let dump = PmMessage::new(MPTCP_PM_CMD_GET_ADDR, vec![]);
    exchange(
        &g,
        &genl(family, dump, NLM_F_REQUEST | NLM_F_DUMP),
        &d,
        "endpoint-dump",
    )?;
    let limits = PmMessage::new(MPTCP_PM_CMD_GET_LIMITS, vec![]);
    exchange(
        &g,
        &genl(family, limits, NLM_F_REQUEST | NLM_F_ACK),
        &d,
        "limits",
    )?;
    let missing = PmAttr::Addr(vec![AddressAttr::Id(200)]);
    let get = PmMessage::new(MPTCP_PM_CMD_GET_ADDR, vec![missing]);
    exchange(
        &g,
        &genl(family, get, NLM_F_REQUEST | NLM_F_ACK),
        &d,
        "get-missing",
    )?;

    let mut ev = Socket::new(NETLINK_GENERIC)?;
    ev.bind_auto()?;
    ev.add_membership(group)?;
    ev.set_non_blocking(true)?;
    let mut child = Command::new("sh").arg("-c").arg(&client).spawn()?;
    std::thread::sleep(Duration::from_millis(800));
    let diag = socket(NETLINK_SOCK_DIAG)?;
    let states =
        StateFlags::all() - StateFlags::LISTEN - StateFlags::TIME_WAIT - StateFlags::SYN_RECV;
    let req = SockDiagMessage::InetRequest(InetRequest {
        family: AF_INET,
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::INFO,
        states,
        socket_id: SocketId::new_v4(),
    });
    let req = bytes(
        NetlinkMessage::new(NetlinkHeader::default(), req.into()),
        NLM_F_REQUEST | NLM_F_DUMP,
    );
    exchange(&diag, &req, &dir("inet_diag")?, "subflow-dump")?;
    child.wait()?;
    let d = dir("pm_event")?;
    let (start, mut n) = (Instant::now(), 0);
    while start.elapsed() < Duration::from_secs(2) {
        match ev.recv_from_full() {
            Ok((buf, _)) => {
                std::fs::write(d.join(format!("event-{n}")), &buf)?;
                n += 1;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    println!("recorded {n} event datagrams into {}", out.display());
    Ok(())
}
