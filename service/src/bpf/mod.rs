//! The kernel's BPF path to MPTCP for unmodified programs: a `fmod_ret`
//! program on `update_socket_protocol` (kernel >= 6.6) turns the TCP
//! sockets of processes in enabled cgroups into MPTCP sockets, no
//! `LD_PRELOAD` needed.
//!
//! * [`object`]: the compiled object (built by `build.rs`) and its names.
//! * [`cgroups`]: cgroup v2 paths and ids (validation is pure; ids are the
//!   inode numbers of the cgroup directories).
//! * [`loader`]: load + attach with libbpf-rs, the map of enabled ids; the
//!   load (at the first enabled app) doubles as the probe and says why it
//!   failed.

pub mod cgroups;
pub mod loader;
pub mod object;

pub use loader::{BpfStatus, Mptcpify};

#[cfg(test)]
mod kernel_truth;
