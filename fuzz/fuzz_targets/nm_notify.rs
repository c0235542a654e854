#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mptcp_policy::fuzz::nm_notify(data));
