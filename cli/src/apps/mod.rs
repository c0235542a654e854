//! Putting unmodified programs on MPTCP from the command line: where the
//! preload library is, and the systemd drop-ins that load it into a
//! service. Pure logic and file handling; no bus.

pub mod dropin;
pub mod library;
