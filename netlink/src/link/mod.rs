//! rtnetlink link/address watch (in progress).
