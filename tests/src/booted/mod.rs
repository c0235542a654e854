//! A Debian 12 system booted with systemd as PID 1 in a container
//! (`systemd-nspawn --boot`), for the tests that prove the packages work
//! the way an administrator installs them: [`rootfs`] makes (and caches) the
//! root file system with mmdebstrap, [`Container`] boots it inside a network
//! namespace the test prepared and runs commands in it; everything is
//! stopped and removed on drop, also when a test fails.

mod cgroup;
mod container;
pub mod packages;
pub mod rootfs;

pub use container::Container;
pub use packages::System;
