//! `policy get`, `policy set FILE`, `policy validate FILE`, `policy reset`.

use std::io::Read;

use serde::Serialize;
use serde_json::json;

use super::{done, out, print_json, Ctx};
use crate::error::{CliError, Kind, Result};

/// Read, replace or validate the policy (TOML)
///
/// 'get' prints the effective policy. 'set' replaces the policy layer kept
/// by the daemon (it is validated first; on errors nothing changes and every
/// error is printed as FILE:line:column: message). 'validate' only checks a
/// file and changes nothing. FILE '-' reads standard input. 'reset' drops
/// every change made over D-Bus (set, set-role, metered, budget): the policy
/// files alone decide again. 'set' and 'reset' need polkit action
/// org.mptcp.policy.configure (administrator).
///
/// Examples:
///   mptcp-policyctl policy get > policy.toml
///   mptcp-policyctl policy validate policy.toml
///   mptcp-policyctl policy set policy.toml
///   generate-policy | mptcp-policyctl policy set -
///   mptcp-policyctl policy reset
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Print the effective policy as TOML
    Get,
    /// Replace the policy with FILE ('-' = stdin)
    Set {
        /// Policy file in TOML, '-' for standard input
        #[arg(value_name = "FILE")]
        file: String,
    },
    /// Check FILE ('-' = stdin) without changing anything; prints
    /// FILE:line:column: message for each error and exits 5 if there is any
    Validate {
        /// Policy file in TOML, '-' for standard input
        #[arg(value_name = "FILE")]
        file: String,
    },
    /// Drop every change made over D-Bus; the policy files decide again
    Reset,
}

impl Args {
    /// Whether the command changes something (polkit may ask).
    pub fn changes(&self) -> bool {
        matches!(
            self.command,
            PolicyCommand::Set { .. } | PolicyCommand::Reset
        )
    }
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    match args.command {
        PolicyCommand::Get => {
            let client = ctx.connect().await?;
            let text = client.calls.get_policy().await?;
            if ctx.json {
                print_json(&json!({ "policy": text }));
            } else {
                out(&text);
            }
            Ok(())
        }
        PolicyCommand::Set { file } => {
            let text = read_input(&file)?;
            let client = ctx.connect().await?;
            client
                .calls
                .set_policy(&text)
                .await
                .map_err(|e| prefix_policy_error(e.into(), &display_name(&file)))?;
            done(
                ctx,
                &format!("policy replaced from {}", display_name(&file)),
                json!({"file": display_name(&file), "applied": true}),
            );
            Ok(())
        }
        PolicyCommand::Reset => {
            let client = ctx.connect().await?;
            client.calls.reset_policy().await?;
            done(
                ctx,
                "changes made over D-Bus dropped: the policy files decide",
                json!({"reset": true}),
            );
            Ok(())
        }
        PolicyCommand::Validate { file } => {
            let text = read_input(&file)?;
            let client = ctx.connect().await?;
            let errors = client.calls.validate_policy(&text).await?;
            let name = display_name(&file);
            let parsed = errors
                .iter()
                .map(|e| PolicyError::parse(e))
                .collect::<Vec<_>>();
            if ctx.json {
                print_json(&json!({
                    "file": name,
                    "valid": parsed.is_empty(),
                    "errors": parsed,
                }));
            } else if parsed.is_empty() {
                out(&format!("{name}: valid"));
            } else {
                let lines = parsed.iter().map(|e| e.render(&name)).collect::<Vec<_>>();
                out(&lines.join("\n"));
            }
            if parsed.is_empty() {
                Ok(())
            } else {
                Err(CliError::new(
                    Kind::InvalidPolicy,
                    format!(
                        "{} error{} in {name}",
                        parsed.len(),
                        if parsed.len() == 1 { "" } else { "s" }
                    ),
                ))
            }
        }
    }
}

fn display_name(file: &str) -> String {
    if file == "-" {
        "<stdin>".into()
    } else {
        file.to_string()
    }
}

/// Reads FILE or stdin as UTF-8.
pub fn read_input(file: &str) -> Result<String> {
    let mut bytes = Vec::new();
    let res = if file == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    res.map_err(|e| CliError::failed(format!("cannot read {}: {e}", display_name(file))))?;
    String::from_utf8(bytes).map_err(|e| {
        CliError::invalid(format!(
            "{} is not UTF-8 text (byte {})",
            display_name(file),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// One validation error: `line:column: message` from the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl PolicyError {
    /// Splits `line:column: message`; anything else is kept whole.
    pub fn parse(s: &str) -> Self {
        let mut parts = s.splitn(3, ':');
        if let (Some(l), Some(c), Some(m)) = (parts.next(), parts.next(), parts.next()) {
            if let (Ok(line), Ok(column)) = (l.trim().parse(), c.trim().parse()) {
                return PolicyError {
                    line: Some(line),
                    column: Some(column),
                    message: m.trim_start().to_string(),
                };
            }
        }
        PolicyError {
            line: None,
            column: None,
            message: s.to_string(),
        }
    }

    /// `FILE:line:column: message` (or `FILE: message` without a position).
    pub fn render(&self, file: &str) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}: {}", self.message),
            _ => format!("{file}: {}", self.message),
        }
    }
}

/// The daemon's `InvalidPolicy` message lists `line:column: problem`, one
/// per line; put the file name in front of each so editors can jump there.
pub fn prefix_policy_error(mut e: CliError, file: &str) -> CliError {
    if e.kind == Kind::InvalidPolicy {
        let lines = e
            .message
            .lines()
            .map(|l| {
                let p = PolicyError::parse(l);
                if p.line.is_some() {
                    p.render(file)
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>();
        e.message = if lines.len() > 1 {
            format!("\n{}", lines.join("\n"))
        } else {
            lines.join("\n")
        };
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_get_the_file_name() {
        let e = PolicyError::parse("3:7: unknown field `rol`, expected `role`");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.column, Some(7));
        assert_eq!(
            e.render("p.toml"),
            "p.toml:3:7: unknown field `rol`, expected `role`"
        );
        let e = PolicyError::parse("no interface entries: nothing to do");
        assert_eq!(e.line, None);
        assert_eq!(
            e.render("p.toml"),
            "p.toml: no interface entries: nothing to do"
        );
        let j = serde_json::to_value(PolicyError::parse("1:2: x")).expect("json");
        assert_eq!(j, json!({"line": 1, "column": 2, "message": "x"}));
    }

    #[test]
    fn invalid_policy_errors_from_set_are_prefixed() {
        let e = CliError::from(mptcp_policy_dbus::Error::InvalidPolicy(
            "2:1: missing field `role`\n5:9: bad period".into(),
        ));
        let e = prefix_policy_error(e, "p.toml");
        assert_eq!(e.exit_code(), 5);
        assert_eq!(
            e.message,
            "\np.toml:2:1: missing field `role`\np.toml:5:9: bad period"
        );
        let other = CliError::from(mptcp_policy_dbus::Error::NotAuthorized("no".into()));
        assert_eq!(prefix_policy_error(other.clone(), "p.toml"), other);
    }

    #[test]
    fn unreadable_and_binary_files_are_errors() {
        let e = read_input("/nonexistent/policy.toml").expect_err("missing");
        assert_eq!(e.exit_code(), 1);
        assert!(e.message.contains("/nonexistent/policy.toml"));
        let path = std::env::temp_dir().join(format!("policyctl-bin-{}", std::process::id()));
        std::fs::write(&path, b"a = \xff\n").expect("write");
        let e = read_input(path.to_str().expect("utf8")).expect_err("binary");
        assert_eq!(e.exit_code(), 5);
        let _ = std::fs::remove_file(&path);
    }
}
