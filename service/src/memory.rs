//! glibc's allocator, set and trimmed for a small daemon that runs for days.

/// One arena (the health and probe threads allocate little; an arena per
/// thread kept ~130 KB each, and a single one also fragments less after a
/// burst of connections: +0.6 instead of +0.9–1.2 MB after 10,000, measured
/// `--no-dbus`),
/// and fixed thresholds. By default glibc raises both after a large block
/// is freed (libbpf's copy of the kernel's BTF, 16 MB): every later block
/// up to that size then comes from the heap, which is not given back below
/// 32 MB — measured ~1 MB of freed heap kept resident.
pub fn tune() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator parameters; called before any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

/// Hands the heap pages freed by the connections' bookkeeping back to the
/// kernel; called when the last connection is gone (the engine's counters
/// going idle). glibc keeps them otherwise (a burst of 10,000 connections
/// left ~2 MB resident for good).
pub fn release_freed() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks and trims glibc's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
