//! MPTCP sockets via libc: `socket(AF_INET/AF_INET6, SOCK_STREAM, IPPROTO_MPTCP)`,
//! handed over to std's `TcpListener`/`TcpStream` once bound or connected.

use anyhow::{Context, Result};
use std::io;
use std::mem::size_of;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// IPPROTO_MPTCP.
pub const IPPROTO_MPTCP: libc::c_int = 262;
/// SOL_MPTCP.
pub const SOL_MPTCP: libc::c_int = 284;
/// MPTCP_INFO getsockopt.
pub const MPTCP_INFO: libc::c_int = 1;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A new MPTCP stream socket of the address family of `addr`.
pub fn mptcp_socket(addr: &SocketAddr) -> Result<OwnedFd> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2); the returned fd is owned by OwnedFd below.
    let fd = check(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            IPPROTO_MPTCP,
        )
    })
    .context("socket(IPPROTO_MPTCP) — is MPTCP enabled (net.mptcp.enabled)?")?;
    // SAFETY: `fd` was just returned by socket(2) and is not owned elsewhere.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn bind(fd: &OwnedFd, addr: &SocketAddr) -> io::Result<()> {
    let (ss, len) = sockaddr(addr);
    // SAFETY: `ss` holds a valid sockaddr of `len` bytes.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &ss as *const _ as *const libc::sockaddr,
            len,
        )
    })?;
    Ok(())
}

fn set_int(fd: &OwnedFd, level: libc::c_int, opt: libc::c_int, val: libc::c_int) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its size.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            &val as *const _ as *const libc::c_void,
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// An MPTCP listener on `addr` (SO_REUSEADDR).
pub fn listen(addr: &SocketAddr) -> Result<TcpListener> {
    let fd = mptcp_socket(addr)?;
    set_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1).context("SO_REUSEADDR")?;
    bind(&fd, addr).with_context(|| format!("bind {addr}"))?;
    // SAFETY: listen(2) on our socket.
    check(unsafe { libc::listen(fd.as_raw_fd(), 4096) }).context("listen")?;
    Ok(TcpListener::from(fd))
}

/// Connect an MPTCP socket to `addr`, optionally from local address `local`.
pub fn connect(addr: &SocketAddr, local: Option<IpAddr>) -> Result<TcpStream> {
    let fd = mptcp_socket(addr)?;
    if let Some(ip) = local {
        bind(&fd, &SocketAddr::new(ip, 0)).with_context(|| format!("bind {ip}"))?;
    }
    let (ss, len) = sockaddr(addr);
    // SAFETY: `ss` holds a valid sockaddr of `len` bytes.
    check(unsafe {
        libc::connect(
            fd.as_raw_fd(),
            &ss as *const _ as *const libc::sockaddr,
            len,
        )
    })
    .with_context(|| format!("connect {addr}"))?;
    Ok(TcpStream::from(fd))
}

/// Starts a non-blocking MPTCP connect to `addr`: the stream is returned
/// at once (connect in progress); wait until it is writable, then check
/// `take_error()`. For opening many connections concurrently.
pub fn connect_nonblocking(addr: &SocketAddr) -> Result<TcpStream> {
    let fd = mptcp_socket(addr)?;
    let stream = TcpStream::from(fd);
    stream.set_nonblocking(true)?;
    let (ss, len) = sockaddr(addr);
    // SAFETY: `ss` holds a valid sockaddr of `len` bytes.
    let rc = unsafe {
        libc::connect(
            stream.as_raw_fd(),
            &ss as *const _ as *const libc::sockaddr,
            len,
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e).with_context(|| format!("connect {addr}"));
        }
    }
    Ok(stream)
}

/// `mptcpi_subflows` from MPTCP_INFO (None if the kernel gives no info,
/// e.g. after a fallback to plain TCP).
pub fn mptcp_subflows(s: &impl AsRawFd) -> Option<u8> {
    let mut buf = [0u8; 256];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: buffer and length describe a live, writable buffer.
    let ret = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            SOL_MPTCP,
            MPTCP_INFO,
            buf.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    };
    (ret == 0 && len > 0).then_some(buf[0])
}
