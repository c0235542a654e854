//! Receive-side options of our netlink sockets: a larger buffer for the
//! two multicast subscriptions (rtnetlink watch, `mptcp_pm` events: a burst
//! of notifications must fit, or the kernel drops them, `ENOBUFS`), and a
//! timeout for the request sockets (`mptcp_pm` commands, `inet_diag`) so a
//! kernel that never answers cannot hang the caller.

/// `SO_RCVBUFFORCE` (the daemon has `CAP_NET_ADMIN`: past `rmem_max`), else
/// `SO_RCVBUF` (capped by `rmem_max`). An error means a smaller buffer
/// only; callers handle overflow anyway.
pub(crate) fn set_rcvbuf(fd: libc::c_int, bytes: usize) -> std::io::Result<()> {
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: fd is a live socket owned by the caller; the value is a
        // plain c_int of the size we pass.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return Ok(());
        }
    }
    Err(std::io::Error::last_os_error())
}

/// `SO_RCVTIMEO`: a blocking `recv` gives up after `timeout` (`EAGAIN`).
pub(crate) fn set_rcvtimeo(fd: libc::c_int, timeout: std::time::Duration) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: fd is a live socket owned by the caller; the value is a
    // timeval of the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
