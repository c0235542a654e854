#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mptcp_policy_netlink::fuzz::pm_event(data));
