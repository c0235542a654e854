//! Policy errors with a `file:line:column` position, and the byte-offset to
//! line/column conversion they need. No I/O here: the text is handed in.

use std::fmt;
use std::ops::Range;

/// One problem found in a policy file.
///
/// `Display` gives `file:line:column: message` (1-based line and column, the
/// column counted in characters), the form editors and compilers use. D-Bus
/// returns [`PolicyError::short`] (`line:column: message`) since the caller
/// knows which text it sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PolicyError {
    /// Name of the source (a file path, or `dbus` for D-Bus changes).
    pub file: String,
    /// 1-based line of the offending text.
    pub line: usize,
    /// 1-based column (in characters) of the offending text.
    pub column: usize,
    /// What is wrong, without position.
    pub message: String,
}

impl PolicyError {
    /// Builds an error at byte offset `span.start` of `text`.
    pub fn at(file: &str, text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, span.start);
        PolicyError {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Source name (file path).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The message without position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `line:column: message`, the form D-Bus `ValidatePolicy` returns.
    pub fn short(&self) -> String {
        format!("{}:{}: {}", self.line, self.column, self.message)
    }

    /// Converts a TOML syntax or shape error (unknown key, wrong type, ...).
    pub(crate) fn from_toml(file: &str, text: &str, err: &toml::de::Error) -> Self {
        let span = err.span().unwrap_or(0..0);
        PolicyError::at(file, text, span, err.message().trim_end())
    }
}

/// Where in which file a value was written; kept so that checks made after
/// merging layers can still point at the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Origin {
    pub fn new(file: &str, text: &str, span: Range<usize>) -> Self {
        let (line, column) = line_column(text, span.start);
        Origin {
            file: file.to_owned(),
            line,
            column,
        }
    }

    pub fn error(&self, message: impl Into<String>) -> PolicyError {
        PolicyError {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
}

/// 1-based (line, column) of byte `offset` in `text`; the column counts
/// characters, so multi-byte UTF-8 does not shift it.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Errors of several files, one per line, for logs.
pub struct ErrorList<'a>(pub &'a [PolicyError]);

impl fmt::Display for ErrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_column_table() {
        let text = "ab\ncé d\n\nx";
        for (offset, want) in [
            (0, (1, 1)),
            (1, (1, 2)),
            (2, (1, 3)),
            (3, (2, 1)),
            (4, (2, 2)),
            (6, (2, 3)), // after the two-byte é: third character
            (9, (3, 1)),
            (10, (4, 1)),
            (99, (4, 2)),
        ] {
            assert_eq!(line_column(text, offset), want, "offset {offset}");
        }
    }
}
