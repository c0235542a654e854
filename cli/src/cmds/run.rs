//! `run [--no-inherit] -- CMD ARGS...`: runs a program with the preload
//! library, in place of this process.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use crate::apps::library;
use crate::error::{CliError, Result};

/// Run a program on MPTCP with the preload library
///
/// Runs CMD with LD_PRELOAD set to libmptcp_preload.so: every TCP socket the
/// program opens (socket(AF_INET or AF_INET6, SOCK_STREAM, 0 or
/// IPPROTO_TCP)) is created as an MPTCP socket instead. When the kernel
/// refuses MPTCP (net.mptcp.enabled=0, no MPTCP in the kernel, a seccomp or
/// LSM rule) the socket is created as plain TCP, so the program works
/// either way; a server without MPTCP makes the connection fall back to
/// TCP by itself. GODEBUG=multipathtcp=1 is added for Go programs, which
/// do not use libc's socket(). No daemon and no privileges are needed.
///
/// Programs started by CMD inherit the library (LD_PRELOAD stays in the
/// environment); --no-inherit sets MPTCP_PRELOAD_NO_INHERIT=1, and the
/// library then removes itself from the environment when CMD starts, so
/// only CMD uses MPTCP (forked copies of CMD itself still do). Set-uid
/// programs and statically linked ones ignore LD_PRELOAD.
///
/// The library is looked up in this order: --library, MPTCP_PRELOAD_LIBRARY,
/// /usr/lib/mptcp-policyd/libmptcp_preload.so, then next to this
/// executable (../lib/mptcp-policyd/ and the same directory).
///
/// CMD replaces this process (exec): its exit status is the command's.
/// When CMD cannot be started the status is 1.
///
/// Examples:
///   mptcp-policyctl run -- curl https://example.org
///   mptcp-policyctl run --no-inherit -- ./backup.sh
///   ss -Mi    # in another terminal: the MPTCP connections and subflows
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Programs started by CMD run without the library
    #[arg(long)]
    pub no_inherit: bool,
    /// The preload library to use
    #[arg(long, value_name = "FILE")]
    pub library: Option<PathBuf>,
    /// The program and its arguments
    #[arg(
        value_name = "CMD",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// `LD_PRELOAD` with the library first (kept once), other entries after.
pub fn ld_preload(library: &str, existing: Option<&str>) -> String {
    let others = existing
        .unwrap_or("")
        .split([' ', ':'])
        .filter(|e| !e.is_empty() && *e != library);
    std::iter::once(library)
        .chain(others)
        .collect::<Vec<_>>()
        .join(":")
}

/// `GODEBUG` with `multipathtcp=1` (an existing multipathtcp setting is
/// replaced, other settings kept).
pub fn godebug(existing: Option<&str>) -> String {
    existing
        .unwrap_or("")
        .split(',')
        .filter(|e| !e.is_empty() && !e.starts_with("multipathtcp="))
        .chain(std::iter::once("multipathtcp=1"))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn run(args: Args) -> Result<()> {
    let lib = library::find(args.library.as_deref())?;
    let lib = lib
        .to_str()
        .ok_or_else(|| CliError::invalid(format!("library path {} is not UTF-8", lib.display())))?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| CliError::invalid("no command given"))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(rest)
        .env(
            "LD_PRELOAD",
            ld_preload(lib, std::env::var("LD_PRELOAD").ok().as_deref()),
        )
        .env("GODEBUG", godebug(std::env::var("GODEBUG").ok().as_deref()));
    if args.no_inherit {
        cmd.env("MPTCP_PRELOAD_NO_INHERIT", "1");
    } else {
        cmd.env_remove("MPTCP_PRELOAD_NO_INHERIT");
    }
    // exec only returns on failure.
    let e = cmd.exec();
    Err(CliError::failed(format!(
        "cannot run {}: {e}",
        program.to_string_lossy()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_comes_first_once_and_other_preloads_stay() {
        let lib = "/usr/lib/mptcp-policyd/libmptcp_preload.so";
        let cases = [
            (None, lib.to_string()),
            (Some(""), lib.to_string()),
            (Some("/opt/a.so"), format!("{lib}:/opt/a.so")),
            (
                Some("/opt/a.so /opt/b.so"),
                format!("{lib}:/opt/a.so:/opt/b.so"),
            ),
            (Some(lib), lib.to_string()),
        ];
        for (existing, want) in cases {
            assert_eq!(ld_preload(lib, existing), want, "{existing:?}");
        }
    }

    #[test]
    fn go_gets_multipathtcp_and_keeps_other_settings() {
        let cases = [
            (None, "multipathtcp=1"),
            (Some("http2client=0"), "http2client=0,multipathtcp=1"),
            (Some("multipathtcp=0,x=1"), "x=1,multipathtcp=1"),
        ];
        for (existing, want) in cases {
            assert_eq!(godebug(existing), want, "{existing:?}");
        }
    }
}
