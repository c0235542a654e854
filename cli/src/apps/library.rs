//! Where `libmptcp_preload.so` is: `--library`, then `MPTCP_PRELOAD_LIBRARY`,
//! then the install path, then beside this executable (`$PREFIX/bin/../lib/
//! mptcp-policyd/`, or the same directory in a cargo build tree).

use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};

/// The library's file name.
pub const LIBRARY_FILE: &str = "libmptcp_preload.so";
/// Where scripts/install.sh puts it (PREFIX=/usr).
pub const INSTALLED_LIBRARY: &str = "/usr/lib/mptcp-policyd/libmptcp_preload.so";
/// Environment variable naming the library (tests, unusual installs).
pub const LIBRARY_ENV: &str = "MPTCP_PRELOAD_LIBRARY";

/// The places looked at, in order, when no path is given explicitly.
pub fn candidates(exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from(INSTALLED_LIBRARY)];
    if let Some(dir) = exe.and_then(Path::parent) {
        out.push(dir.join("../lib/mptcp-policyd").join(LIBRARY_FILE));
        out.push(dir.join(LIBRARY_FILE));
    }
    out
}

/// Resolves the library: an explicit path (flag or environment) must
/// exist; otherwise the first candidate that exists. The result is
/// absolute (ld.so and systemd want that).
pub fn find(explicit: Option<&Path>) -> Result<PathBuf> {
    let from_env = std::env::var_os(LIBRARY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if let Some(path) = explicit.map(Path::to_path_buf).or(from_env) {
        return absolute_file(&path).ok_or_else(|| {
            CliError::invalid(format!(
                "preload library {} does not exist or is not a file",
                path.display()
            ))
        });
    }
    let exe = std::env::current_exe().ok();
    let tried = candidates(exe.as_deref());
    tried.iter().find_map(|p| absolute_file(p)).ok_or_else(|| {
        CliError::failed(format!(
            "the preload library {LIBRARY_FILE} is not installed (looked at {}); \
                 install it with scripts/install.sh, or name it with --library or {LIBRARY_ENV}",
            tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

fn absolute_file(path: &Path) -> Option<PathBuf> {
    let canonical = std::fs::canonicalize(path).ok()?;
    canonical.is_file().then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_path_first_then_beside_the_executable() {
        let c = candidates(Some(Path::new("/opt/mp/bin/mptcp-policyctl")));
        assert_eq!(
            c,
            [
                PathBuf::from(INSTALLED_LIBRARY),
                PathBuf::from("/opt/mp/bin/../lib/mptcp-policyd/libmptcp_preload.so"),
                PathBuf::from("/opt/mp/bin/libmptcp_preload.so"),
            ]
        );
        assert_eq!(candidates(None), [PathBuf::from(INSTALLED_LIBRARY)]);
    }

    #[test]
    fn an_explicit_path_must_exist() {
        let e = find(Some(Path::new("/nonexistent/libmptcp_preload.so"))).expect_err("missing");
        assert_eq!(e.exit_code(), 5);
        assert!(
            e.message.contains("/nonexistent/libmptcp_preload.so"),
            "{}",
            e.message
        );
        let e = find(Some(Path::new("/"))).expect_err("a directory");
        assert!(e.message.contains("not a file"), "{}", e.message);
    }
}
