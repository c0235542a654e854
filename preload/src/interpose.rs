//! The exported `socket` symbol that shadows libc's.

use std::sync::atomic::{AtomicUsize, Ordering};

use libc::c_int;

use crate::decision::{converts, IPPROTO_MPTCP};

type SocketFn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;

/// Address of the next `socket` (libc's, or another preload's); 0 until
/// first use. Racing threads store the same value, so no lock is needed.
static REAL_SOCKET: AtomicUsize = AtomicUsize::new(0);

fn real_socket() -> Option<SocketFn> {
    let mut addr = REAL_SOCKET.load(Ordering::Acquire);
    if addr == 0 {
        // SAFETY: dlsym is thread-safe; the name is a NUL-terminated literal.
        let sym = unsafe { libc::dlsym(libc::RTLD_NEXT, c"socket".as_ptr()) };
        addr = sym as usize;
        REAL_SOCKET.store(addr, Ordering::Release);
    }
    if addr == 0 {
        return None;
    }
    // SAFETY: the address is libc's `socket` (or an interposer's with the
    // same C signature), found by its name.
    Some(unsafe { std::mem::transmute::<usize, SocketFn>(addr) })
}

/// `socket(2)`: TCP becomes MPTCP when the kernel allows it; any other call
/// and any failure of the MPTCP attempt go to the real `socket` unchanged.
///
/// # Safety
/// Same contract as libc's `socket`; called by C code through the dynamic
/// linker.
#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let Some(real) = real_socket() else {
        // No next `socket` in the process: nothing sane to call.
        // SAFETY: errno location is valid for the calling thread.
        unsafe { *libc::__errno_location() = libc::ENOSYS };
        return -1;
    };
    if converts(domain, ty, protocol) {
        // SAFETY: plain call of the real socket with integer arguments.
        let fd = unsafe { real(domain, ty, IPPROTO_MPTCP) };
        if fd >= 0 {
            return fd;
        }
        // Fall back on every error: the retry sets errno for the caller
        // when it fails too, so the program sees what it would have seen.
    }
    // SAFETY: as above.
    unsafe { real(domain, ty, protocol) }
}
