//! A quick pass over the daemon's usual command lines, without building
//! clap's command (see [`super::parse`] for why). It knows the same
//! arguments as [`Args`] and answers only when the answer is certain: for
//! `--help`, `--version`, a short option, a positional argument, an unknown
//! or repeated option, an empty or dash-led value, a number that is not
//! plain digits, options that conflict, or an empty `STATE_DIRECTORY`, it
//! returns `None` and clap parses (and prints its message).

use std::ffi::OsString;
use std::path::PathBuf;

use lexopt::{Arg, Parser};

use super::Args;

/// `argv` without the program name; `state_directory` is the environment's
/// `STATE_DIRECTORY`, which `--state-dir` overrides.
pub fn parse(
    argv: impl IntoIterator<Item = OsString>,
    state_directory: Option<OsString>,
) -> Option<Args> {
    let mut args = Args {
        config: None,
        dry_run: false,
        no_dbus: false,
        event_buffer: mptcp_policy_netlink::pm::EVENT_RCVBUF,
        clean_up: false,
        man: false,
        check: false,
        state_dir: None,
        vendor_dir: mptcp_policy::VENDOR_DIR.into(),
        admin_file: mptcp_policy::ADMIN_FILE.into(),
        admin_dir: mptcp_policy::ADMIN_DIR.into(),
        cgroup_root: None,
    };
    let mut seen: Vec<String> = Vec::new();
    let mut parser = Parser::from_args(argv);
    while let Some(arg) = parser.next().ok()? {
        let Arg::Long(name) = arg else {
            return None;
        };
        let name = name.to_string();
        if seen.contains(&name) {
            return None;
        }
        match name.as_str() {
            "config" => args.config = Some(path(&mut parser)?),
            "dry-run" => args.dry_run = true,
            "no-dbus" => args.no_dbus = true,
            "event-buffer" => args.event_buffer = number(&mut parser)?,
            "clean-up" => args.clean_up = true,
            "man" => args.man = true,
            "check" => args.check = true,
            "state-dir" => args.state_dir = Some(path(&mut parser)?),
            "vendor-dir" => args.vendor_dir = path(&mut parser)?,
            "admin-file" => args.admin_file = path(&mut parser)?,
            "admin-dir" => args.admin_dir = path(&mut parser)?,
            "cgroup-root" => args.cgroup_root = Some(path(&mut parser)?),
            _ => return None,
        }
        seen.push(name);
    }
    if args.clean_up && (args.check || args.dry_run) {
        return None;
    }
    if args.state_dir.is_none() {
        match state_directory {
            Some(dir) if dir.is_empty() => return None,
            Some(dir) => args.state_dir = Some(dir.into()),
            None => {}
        }
    }
    Some(args)
}

/// An option's value as clap's `PathBuf` parser takes it: not empty, and
/// (clap's default) not starting with a dash.
fn path(parser: &mut Parser) -> Option<PathBuf> {
    let value = parser.value().ok()?;
    let led_by_dash = value.as_encoded_bytes().first() == Some(&b'-');
    (!value.is_empty() && !led_by_dash).then(|| value.into())
}

/// A count in plain decimal digits (clap's answer to `+5` or ` 5` is its
/// own to give).
fn number(parser: &mut Parser) -> Option<usize> {
    let value = parser.value().ok()?.into_string().ok()?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser as _};

    use super::*;

    fn os(argv: &[&str]) -> Vec<OsString> {
        argv.iter().map(OsString::from).collect()
    }

    fn clap(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("mptcp-policyd").chain(argv.iter().copied()))
    }

    /// Wherever the quick pass answers, clap gives the same `Args`; the
    /// lines it leaves to clap include clap's errors. (STATE_DIRECTORY is
    /// not set where the tests run, so clap sees no environment.)
    #[test]
    fn answers_like_clap_or_not_at_all() {
        let answered: &[&[&str]] = &[
            &[],
            &[
                "--config",
                "/tmp/p.toml",
                "--no-dbus",
                "--state-dir",
                "/tmp/s",
            ],
            &["--config=/tmp/p.toml", "--dry-run"],
            &["--event-buffer", "4096", "--no-dbus"],
            &["--event-buffer=0"],
            &["--clean-up", "--state-dir", "/var/lib/x"],
            &["--check", "--config", "relative.toml"],
            &[
                "--vendor-dir",
                "/v",
                "--admin-file",
                "/a.toml",
                "--admin-dir",
                "/d",
            ],
            &["--cgroup-root", "/sys/fs/cgroup", "--man"],
        ];
        for argv in answered {
            let quick = parse(os(argv), None);
            assert!(quick.is_some(), "quick pass declined {argv:?}");
            assert_eq!(quick, clap(argv).ok(), "{argv:?}");
        }
        // Declined, and clap's answer is an error or help/version text.
        let to_clap: &[&[&str]] = &[
            &["--help"],
            &["-h"],
            &["--version"],
            &["-V"],
            &["positional"],
            &["--no-such-option"],
            &["--no-dbus", "--no-dbus"],
            &["--config", "a.toml", "--config", "b.toml"],
            &["--config"],
            &["--config", ""],
            &["--config", "--no-dbus"],
            &["--no-dbus=yes"],
            &["--event-buffer", "-1"],
            &["--event-buffer", "lots"],
            &["--event-buffer", "99999999999999999999999999"],
            &["--clean-up", "--check"],
            &["--clean-up", "--dry-run"],
            &["--", "--no-dbus"],
            &["--conf", "a.toml"],
        ];
        for argv in to_clap {
            assert_eq!(parse(os(argv), None), None, "quick pass answered {argv:?}");
            assert!(clap(argv).is_err(), "clap accepted {argv:?}");
        }
        // Declined although clap takes them: rare spellings, clap's call.
        for argv in [&["--config=-x"][..], &["--event-buffer", "+5"]] {
            assert_eq!(parse(os(argv), None), None, "quick pass answered {argv:?}");
            assert!(clap(argv).is_ok(), "clap refused {argv:?}");
        }
    }

    /// Every argument clap defines is known to the quick pass, with the
    /// same meaning: an argument added to `Args` and not here fails.
    #[test]
    fn knows_every_argument_clap_defines() {
        let command = Args::command();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let option = format!("--{long}");
            let argv: Vec<&str> = if arg.get_action().takes_values() {
                let value = if long == "event-buffer" {
                    "123"
                } else {
                    "/some/where"
                };
                vec![option.as_str(), value]
            } else {
                vec![option.as_str()]
            };
            let quick = parse(os(&argv), None);
            assert!(quick.is_some(), "quick pass does not know {option}");
            assert_eq!(quick, clap(&argv).ok(), "{option}");
        }
    }

    #[test]
    fn state_directory_from_the_environment() {
        let from_env = parse(os(&[]), Some("/run/s".into())).expect("parsed");
        assert_eq!(from_env.state_dir, Some(PathBuf::from("/run/s")));
        let given = parse(os(&["--state-dir", "/x"]), Some("/run/s".into())).expect("parsed");
        assert_eq!(given.state_dir, Some(PathBuf::from("/x")));
        // clap refuses an empty value: its message, not a guess.
        assert_eq!(parse(os(&[]), Some("".into())), None);
    }
}
