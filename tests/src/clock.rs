//! CLOCK_MONOTONIC in microseconds: shared by every namespace on the machine,
//! so timestamps from the traffic tools and the harness are comparable.

/// Current CLOCK_MONOTONIC time in microseconds.
pub fn monotonic_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

/// Sleep until the absolute CLOCK_MONOTONIC time `deadline_us`.
pub fn sleep_until_us(deadline_us: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_us / 1_000_000) as libc::time_t,
        tv_nsec: ((deadline_us % 1_000_000) * 1_000) as libc::c_long,
    };
    // SAFETY: valid timespec, null remainder is allowed with TIMER_ABSTIME.
    while unsafe {
        libc::clock_nanosleep(
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &ts,
            std::ptr::null_mut(),
        )
    } == libc::EINTR
    {}
}
