//! `man`: the roff man page, generated from the same clap definitions.

use clap::CommandFactory;

use super::Cli;
use crate::error::{CliError, Result, EXIT_CODES_HELP};

/// Print the man page (roff) to stdout
///
/// Examples:
///   mptcp-policyctl man | man -l -
///   mptcp-policyctl man > /usr/share/man/man1/mptcp-policyctl.1
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {}

/// Escapes text for a roff no-fill block.
fn roff_escape(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The whole page: clap_mangen's title, name, synopsis, description and
/// options, then every command's full help (examples included), then the
/// exit status table, environment and version.
pub fn page() -> Result<String> {
    let mut cmd = Cli::command();
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone()).section("1");
    let io = |e: std::io::Error| CliError::failed(format!("man page: {e}"));
    let mut buf = Vec::new();
    man.render_title(&mut buf).map_err(io)?;
    man.render_name_section(&mut buf).map_err(io)?;
    man.render_synopsis_section(&mut buf).map_err(io)?;
    man.render_description_section(&mut buf).map_err(io)?;
    man.render_options_section(&mut buf).map_err(io)?;
    let mut text = String::from_utf8(buf).map_err(|e| CliError::failed(e.to_string()))?;

    text.push_str(".SH COMMANDS\n");
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let name = sub.get_name().to_string();
        // The global options are in OPTIONS above; do not repeat them.
        let mut sub = sub
            .clone()
            .mut_arg("json", |a| a.hide(true))
            .mut_arg("no_ask", |a| a.hide(true))
            .mut_arg("help", |a| a.hide(true))
            .mut_arg("version", |a| a.hide(true));
        let help = sub.render_long_help().to_string();
        text.push_str(&format!(
            ".SS \"mptcp-policyctl {name}\"\n.nf\n{}\n.fi\n",
            roff_escape(help.trim_end())
        ));
    }

    text.push_str(".SH \"EXIT STATUS\"\n");
    for line in EXIT_CODES_HELP.lines().skip(1) {
        let line = line.trim_start();
        match line.split_once("  ") {
            Some((code, what)) if code.chars().all(|c| c.is_ascii_digit()) => {
                text.push_str(&format!(".TP\n.B {code}\n{}\n", roff_escape(what)));
            }
            _ => text.push_str(&format!("{}\n", roff_escape(line))),
        }
    }
    text.push_str(
        ".SH ENVIRONMENT\n.TP\n.B DBUS_SYSTEM_BUS_ADDRESS\n\
         Address of the system bus (default: the standard system bus socket).\n\
         .SH \"SEE ALSO\"\n\\fBmptcp-policyd\\fR(8), \\fBip-mptcp\\fR(8), \\fBbusctl\\fR(1), \
         \\fBpolkit\\fR(8)\n",
    );
    let mut buf = Vec::new();
    man.render_version_section(&mut buf).map_err(io)?;
    text.push_str(&String::from_utf8_lossy(&buf));
    Ok(text)
}

pub fn run(_args: Args) -> Result<()> {
    super::out(&page()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_has_every_command_and_the_exit_codes() {
        let page = page().expect("page");
        assert!(page.contains("\n.TH mptcp-policyctl 1 "));
        for s in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH COMMANDS",
            "mptcp-policyctl set-role",
            "mptcp-policyctl monitor",
            "mptcp-policyctl policy",
            ".SH \"EXIT STATUS\"",
            ".B 3\n",
            "DBUS_SYSTEM_BUS_ADDRESS",
            "budget wwan0 2GiB monthly",
            "mptcp-policyctl run",
            "mptcp-policyctl enable",
            "50-mptcp.conf",
            "MPTCP_PRELOAD_NO_INHERIT",
        ] {
            assert!(page.contains(s), "missing {s}");
        }
        assert!(!page.contains("\n.SH EXTRA"));
    }

    #[test]
    fn roff_control_characters_are_escaped() {
        assert_eq!(roff_escape(".x\n'y\na\\b"), "\\&.x\n\\&'y\na\\eb");
    }
}
