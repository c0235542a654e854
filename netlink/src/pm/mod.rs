//! mptcp_pm generic netlink client (in progress).
