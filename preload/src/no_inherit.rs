//! `MPTCP_PRELOAD_NO_INHERIT=1`: the library stays in this program but is
//! taken out of `LD_PRELOAD`, so programs it executes run without it.

/// Environment switch: when set to `1` at start, programs executed by this
/// one do not inherit the library.
pub const NO_INHERIT_ENV: &str = "MPTCP_PRELOAD_NO_INHERIT";

/// The file name the library is installed under.
const LIBRARY_FILE: &str = "libmptcp_preload.so";

/// `LD_PRELOAD` without this library (entries are separated by spaces or
/// colons, as ld.so reads them). `None` when nothing else is left.
pub fn strip_library(ld_preload: &str) -> Option<String> {
    let rest: Vec<&str> = ld_preload
        .split([' ', ':'])
        .filter(|e| !e.is_empty())
        .filter(|e| e.rsplit('/').next() != Some(LIBRARY_FILE))
        .collect();
    (!rest.is_empty()).then(|| rest.join(":"))
}

/// Runs from `.init_array` when the library is loaded, before `main`, while
/// the program is still single-threaded (the only time changing the
/// environment is safe).
extern "C" fn on_load() {
    if std::env::var_os(NO_INHERIT_ENV).is_none_or(|v| v != "1") {
        return;
    }
    // SAFETY: before main, no other thread reads the environment.
    unsafe {
        match std::env::var("LD_PRELOAD")
            .ok()
            .as_deref()
            .and_then(strip_library)
        {
            Some(rest) => std::env::set_var("LD_PRELOAD", rest),
            None => std::env::remove_var("LD_PRELOAD"),
        }
        std::env::remove_var(NO_INHERIT_ENV);
    }
}

#[used]
#[unsafe(link_section = ".init_array")]
static ON_LOAD: extern "C" fn() = on_load;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_library_leaves_ld_preload() {
        let cases = [
            ("/usr/lib/mptcp-policyd/libmptcp_preload.so", None),
            ("libmptcp_preload.so", None),
            (
                "/opt/a.so:/usr/lib/mptcp-policyd/libmptcp_preload.so",
                Some("/opt/a.so"),
            ),
            (
                "/x/libmptcp_preload.so /opt/a.so /opt/b.so",
                Some("/opt/a.so:/opt/b.so"),
            ),
            (
                "/opt/not_libmptcp_preload.so",
                Some("/opt/not_libmptcp_preload.so"),
            ),
            ("", None),
            ("::", None),
        ];
        for (input, want) in cases {
            assert_eq!(strip_library(input).as_deref(), want, "{input:?}");
        }
    }
}
