//! [`ConfigError`]: a problem in a config file, shown like a compiler diagnostic, with the
//! offending line, a caret under the offending text, and a hint.

use std::fmt;
use std::ops::Range;

use super::suggest::{diagnose, TableKeys};

/// A place in a config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file, as it was named when loaded (a path, or the name given to `parse`).
    pub file: String,
    /// The 1-based line; 0 when unknown.
    pub line: usize,
    /// The 1-based column, in characters; 0 when unknown.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// A configuration problem: which file, where in it, what is wrong, and what to do.
///
/// `Display` reads like a compiler diagnostic:
///
/// ```text
/// host.toml:12:1: unknown field `max_sessions`, expected one of ...
///    |
/// 12 | max_sessions = 3
///    | ^^^^^^^^^^^^
///    = hint: did you mean `max_concurrent_sessions`?
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(Box<Diagnostic>);

/// The parts of a [`ConfigError`] (boxed: errors are rare, results should stay small).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Diagnostic {
    location: Location,
    message: String,
    snippet: Option<Snippet>,
    hint: Option<String>,
}

/// The offending source line and where to put the carets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snippet {
    text: String,
    indent: String,
    carets: usize,
}

impl ConfigError {
    /// An error at a known place, without a source excerpt.
    pub fn at(location: &Location, message: impl Into<String>, hint: Option<String>) -> Self {
        ConfigError(Box::new(Diagnostic {
            location: location.clone(),
            message: message.into(),
            snippet: None,
            hint,
        }))
    }

    /// An error about a whole file (it cannot be read, for example).
    pub fn in_file(
        file: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        let location = Location {
            file: file.into(),
            line: 0,
            column: 0,
        };
        Self::at(&location, message, hint)
    }

    /// The file the error is in.
    pub fn file(&self) -> &str {
        &self.0.location.file
    }

    /// The 1-based line, when the error has a place in the file.
    pub fn line(&self) -> Option<usize> {
        (self.0.location.line > 0).then_some(self.0.location.line)
    }

    /// The 1-based column (in characters), when the error has a place in the file.
    pub fn column(&self) -> Option<usize> {
        (self.0.location.line > 0).then_some(self.0.location.column)
    }

    /// The message, without location, excerpt or hint.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The hint, if there is one.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = &self.0;
        write!(f, "{}: {}", error.location, error.message)?;
        let number = error.location.line.to_string();
        let pad = " ".repeat(number.len());
        if let Some(snippet) = &error.snippet {
            write!(f, "\n{pad} |\n{number} | {}", snippet.text)?;
            write!(
                f,
                "\n{pad} | {}{}",
                snippet.indent,
                "^".repeat(snippet.carets)
            )?;
        }
        if let Some(hint) = &error.hint {
            let pad = if error.snippet.is_some() {
                pad.as_str()
            } else {
                " "
            };
            write!(f, "\n{pad} = hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// A config file's text with its name, for turning byte spans into diagnostics.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    /// The file name shown in diagnostics.
    pub name: &'a str,
    /// The whole text.
    pub text: &'a str,
}

impl Source<'_> {
    /// The location of a byte offset (clamped into the text).
    pub fn location(&self, offset: usize) -> Location {
        let offset = self.clamp(offset);
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            file: self.name.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// An error with a caret under `span`.
    pub fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> ConfigError {
        let start = self.clamp(span.start);
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = self.text[line_start..line_end].trim_end_matches('\r');
        let prefix = &self.text[line_start..start.min(line_start + line.len())];
        let end = self.clamp(span.end.max(start)).min(line_start + line.len());
        let indent = prefix
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        ConfigError(Box::new(Diagnostic {
            location: self.location(start),
            message: message.into(),
            snippet: Some(Snippet {
                text: line.to_owned(),
                indent,
                carets: self.text[start.min(end)..end].chars().count().max(1),
            }),
            hint,
        }))
    }

    /// Translates a `toml` error, using `tables` to hint at unknown keys.
    pub fn toml_error(&self, error: &toml::de::Error, tables: &[TableKeys]) -> ConfigError {
        let diagnosis = diagnose(error.message(), tables);
        match error.span() {
            Some(span) => self.error(span, diagnosis.message, diagnosis.hint),
            None => ConfigError::in_file(self.name, diagnosis.message, diagnosis.hint),
        }
    }

    /// A valid char-boundary offset; an offset at the very end of a text ending in a newline
    /// moves onto that newline, so it points at the last line rather than past it.
    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        if offset == self.text.len() && self.text.ends_with('\n') {
            offset -= 1;
        }
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_caret_and_hint() {
        let text = "a = 1\n\tbad_key = 2\n";
        let source = Source {
            name: "x.toml",
            text,
        };
        let err = source.error(7..14, "unknown field `bad_key`", Some("remove it".into()));
        assert_eq!((err.line(), err.column()), (Some(2), Some(2)));
        assert_eq!(
            err.to_string(),
            "x.toml:2:2: unknown field `bad_key`\n  |\n2 | \tbad_key = 2\n  | \t^^^^^^^\n  = hint: remove it"
        );
    }

    #[test]
    fn counts_columns_in_characters_and_clamps_spans() {
        let text = "k = \"é\" x";
        let source = Source { name: "f", text };
        let err = source.error(9..200, "m", None);
        assert_eq!(err.column(), Some(9));
        assert_eq!(
            err.to_string(),
            "f:1:9: m\n  |\n1 | k = \"é\" x\n  |         ^"
        );
    }

    #[test]
    fn end_of_file_points_at_the_last_line() {
        let source = Source {
            name: "f",
            text: "[a\n",
        };
        let location = source.location(3);
        assert_eq!((location.line, location.column), (1, 3));
    }

    #[test]
    fn file_level_errors_have_no_position() {
        let err =
            ConfigError::in_file("host.toml", "file not found", Some("check the path".into()));
        assert_eq!((err.line(), err.column()), (None, None));
        assert_eq!(
            err.to_string(),
            "host.toml: file not found\n  = hint: check the path"
        );
    }
}
