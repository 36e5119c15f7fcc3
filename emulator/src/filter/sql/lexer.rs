//! Splits an expression into tokens, each with the line and column where it starts.
//!
//! Tokens: regular identifiers (a Unicode letter, then letters, digits or `_`), delimited
//! identifiers (`[a ]] b]`, `"a "" b"`), string constants (`'it''s'`), integer and
//! floating-point constants (`12`, `1.5`, `.5`, `101.5E5`), parameters (`@name`) and the
//! operators and punctuation of the grammar. Keywords are identifiers; the parser compares
//! them case-insensitively.

use super::SqlError;

/// Where a token starts: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    /// An error at this position.
    pub fn error(self, reason: impl Into<String>) -> SqlError {
        SqlError {
            line: self.line,
            column: self.column,
            reason: reason.into(),
        }
    }
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A regular identifier or keyword, as written.
    Ident(String),
    /// A `[delimited]` or `"quoted"` identifier, unescaped (never a keyword).
    Delimited(String),
    /// A string constant, unescaped.
    Str(String),
    /// An integer constant's digits (range-checked by the parser, which knows the sign).
    Int(String),
    /// A decimal or approximate-number constant.
    Double(f64),
    /// `@name`, with the `@`.
    Param(String),
    /// An operator or punctuation mark.
    Sym(&'static str),
    /// The end of the text.
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Delimited(s) => format!("identifier [{s}]"),
            Tok::Str(_) => "a string constant".into(),
            Tok::Int(s) => format!("'{s}'"),
            Tok::Double(_) => "a number".into(),
            Tok::Param(s) => format!("'{s}'"),
            Tok::Sym(s) => format!("'{s}'"),
            Tok::Eof => "the end of the expression".into(),
        }
    }
}

const SYMBOLS: [&str; 18] = [
    "<>", "!=", ">=", "<=", "=", ">", "<", "+", "-", "*", "/", "%", "(", ")", ",", ".", ";", "!",
];

/// Splits `text` into tokens; the last one is always [`Tok::Eof`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<(Tok, Pos)>, SqlError> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        at: 0,
        pos: Pos { line: 1, column: 1 },
    };
    let mut out = Vec::new();
    loop {
        lexer.skip_whitespace();
        let start = lexer.pos;
        let Some(c) = lexer.peek(0) else {
            out.push((Tok::Eof, start));
            return Ok(out);
        };
        let tok = if c.is_alphabetic() {
            Tok::Ident(lexer.take_while(is_ident_char))
        } else if c.is_ascii_digit() || (c == '.' && lexer.peek(1).is_some_and(|d| d.is_ascii_digit())) {
            lexer.number(start)?
        } else if c == '\'' {
            Tok::Str(lexer.quoted('\'', '\'', start, "string constant")?)
        } else if c == '[' {
            Tok::Delimited(lexer.quoted('[', ']', start, "delimited identifier")?)
        } else if c == '"' {
            Tok::Delimited(lexer.quoted('"', '"', start, "quoted identifier")?)
        } else if c == '@' {
            lexer.bump();
            let name = lexer.take_while(is_ident_char);
            if name.is_empty() {
                return Err(start.error("a parameter name must follow '@'"));
            }
            Tok::Param(format!("@{name}"))
        } else {
            let sym = SYMBOLS.iter().find(|s| lexer.starts_with(s));
            match sym {
                Some(&"!") | None => {
                    return Err(start.error(format!("unexpected character '{c}'")));
                }
                Some(s) => {
                    for _ in 0..s.len() {
                        lexer.bump();
                    }
                    Tok::Sym(s)
                }
            }
        };
        out.push((tok, start));
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    pos: Pos,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.peek(i) == Some(c))
    }

    /// Consumes one character, keeping the position (`\r\n`, `\n` and `\r` end a line).
    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.at += 1;
        let ends_line = c == '\n' || (c == '\r' && self.peek(0) != Some('\n'));
        if ends_line {
            self.pos.line = self.pos.line.saturating_add(1);
            self.pos.column = 1;
        } else {
            self.pos.column = self.pos.column.saturating_add(1);
        }
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek(0).filter(|&c| keep(c)) {
            out.push(c);
            self.bump();
        }
        out
    }

    /// A constant delimited by `open`/`close`, where a doubled `close` stands for itself.
    fn quoted(&mut self, open: char, close: char, start: Pos, what: &str) -> Result<String, SqlError> {
        debug_assert_eq!(self.peek(0), Some(open));
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(start.error(format!("unterminated {what}"))),
                Some(c) if c == close => {
                    if self.peek(0) == Some(close) {
                        self.bump();
                        out.push(close);
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// `digits`, `digits.digits`, `.digits`, each with an optional exponent.
    fn number(&mut self, start: Pos) -> Result<Tok, SqlError> {
        let mut text = self.take_while(|c| c.is_ascii_digit());
        let mut is_double = false;
        if self.peek(0) == Some('.') {
            is_double = true;
            text.push('.');
            self.bump();
            text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let signed = matches!(self.peek(1), Some('+' | '-'));
            let digit_at = if signed { 2 } else { 1 };
            if self.peek(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                is_double = true;
                text.push('e');
                self.bump();
                if signed {
                    text.extend(self.bump());
                }
                text.push_str(&self.take_while(|c| c.is_ascii_digit()));
            }
        }
        if self.peek(0).is_some_and(|c| is_ident_char(c) || c == '.') {
            return Err(start.error("malformed number"));
        }
        if !is_double {
            return Ok(Tok::Int(text));
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Tok::Double(v)),
            _ => Err(start.error(format!("number '{text}' is out of range"))),
        }
    }
}

/// The position of the character at byte offset `index` of `text`.
pub(crate) fn position_of(text: &str, index: usize) -> Pos {
    let mut lexer = Lexer {
        chars: text.get(..index).unwrap_or(text).chars().collect(),
        at: 0,
        pos: Pos { line: 1, column: 1 },
    };
    while lexer.bump().is_some() {}
    lexer.pos
}
