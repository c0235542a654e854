//! `libmptcp_preload.so`: run an unmodified program with
//! `LD_PRELOAD=/usr/lib/mptcp-policyd/libmptcp_preload.so` and every TCP
//! socket it opens becomes an MPTCP socket (`IPPROTO_MPTCP`, 262).
//!
//! Only `socket()` is intercepted: `socket(AF_INET | AF_INET6, SOCK_STREAM
//! [| SOCK_NONBLOCK | SOCK_CLOEXEC], 0 | IPPROTO_TCP)` is first tried as
//! MPTCP; when that fails for any reason (the kernel lacks MPTCP:
//! `EPROTONOSUPPORT`; `net.mptcp.enabled=0` in the namespace: `ENOPROTOOPT`;
//! a seccomp or LSM rule; ...) the original call is made unchanged, so a
//! program never breaks because of the library. Everything else goes
//! straight to the next `socket` in the link order (`dlsym(RTLD_NEXT)`).
//!
//! Why hand-written: no crate offers an interposer like this, and it needs
//! nothing a crate would add — one exported C symbol, one `dlsym`, no
//! allocation, no locks (so it is safe before `main`, in signal handlers
//! and across `fork`). mptcpd's `mptcpize` is the C original of the idea.
//!
//! Threads: the real `socket` is resolved once with an atomic (racing
//! threads resolve the same address; no lock, no `Once` that a `fork` in
//! another thread could leave locked). `errno` is thread-local in libc.
//!
//! Children: a `fork`ed child is the same program and keeps converting.
//! Programs it `exec`s inherit `LD_PRELOAD` from the environment, so they
//! are converted too — unless [`NO_INHERIT_ENV`] (`MPTCP_PRELOAD_NO_INHERIT=1`)
//! is set when the program starts: then the library removes itself from
//! `LD_PRELOAD` (and the switch) at load time, before `main`, so only this
//! program uses MPTCP and what it starts does not (`mptcp-policyctl run
//! --no-inherit` sets it).

pub mod decision;
mod interpose;
mod no_inherit;

pub use decision::{converts, IPPROTO_MPTCP};
pub use no_inherit::{strip_library, NO_INHERIT_ENV};
