//! LIKE patterns: `%` is any run of characters (possibly none), `_` exactly one character,
//! and the ESCAPE character (a string of length 1) makes the character after it literal.
//! Matching is ordinal and case-sensitive, on characters. An escape character at the end of
//! the pattern is an error (there is nothing for it to escape).
//!
//! A pattern is compiled once; the common shapes (`abc`, `abc%`, `%abc`, `%abc%`) match with
//! one string comparison, the rest with the classic wildcard matcher that backtracks to the
//! last `%` only (O(text × pattern) at worst, no recursion).

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LikePattern {
    shape: Shape,
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    General(Vec<Part>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Char(char),
    One,
    Many,
}

impl LikePattern {
    /// Compiles `pattern` with an optional escape character.
    pub fn compile(pattern: &str, escape: Option<char>) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if Some(c) == escape {
                match chars.next() {
                    Some(next) => parts.push(Part::Char(next)),
                    None => return Err("the LIKE pattern ends with its escape character".into()),
                }
            } else if c == '%' {
                if parts.last() != Some(&Part::Many) {
                    parts.push(Part::Many);
                }
            } else if c == '_' {
                parts.push(Part::One);
            } else {
                parts.push(Part::Char(c));
            }
        }
        Ok(LikePattern {
            shape: shape_of(parts),
        })
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        match &self.shape {
            Shape::Exact(s) => text == s,
            Shape::Prefix(s) => text.starts_with(s.as_str()),
            Shape::Suffix(s) => text.ends_with(s.as_str()),
            Shape::Contains(s) => text.contains(s.as_str()),
            Shape::General(parts) => wildcard(parts, text),
        }
    }
}

fn shape_of(parts: Vec<Part>) -> Shape {
    let literal = |ps: &[Part]| -> Option<String> {
        ps.iter()
            .map(|p| match p {
                Part::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    };
    let n = parts.len();
    let starts = parts.first() == Some(&Part::Many);
    let ends = n > 1 && parts.last() == Some(&Part::Many);
    let inner = &parts[usize::from(starts)..n - usize::from(ends)];
    match (starts, ends, literal(inner)) {
        (false, false, Some(s)) => Shape::Exact(s),
        (false, true, Some(s)) => Shape::Prefix(s),
        (true, false, Some(s)) => Shape::Suffix(s),
        (true, true, Some(s)) => Shape::Contains(s),
        _ => Shape::General(parts),
    }
}

/// The iterative wildcard match: on a mismatch, resume after the last `%` one character
/// further into the text. `t` is a byte offset, always on a character boundary.
fn wildcard(parts: &[Part], text: &str) -> bool {
    let next = |t: usize| text.get(t..).and_then(|rest| rest.chars().next());
    let (mut p, mut t) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while let Some(c) = next(t) {
        match parts.get(p) {
            Some(Part::Many) => {
                resume = Some((p, t));
                p += 1;
            }
            Some(Part::One) => {
                p += 1;
                t += c.len_utf8();
            }
            Some(Part::Char(want)) if *want == c => {
                p += 1;
                t += c.len_utf8();
            }
            _ => match resume {
                Some((rp, rt)) => {
                    let rt = rt + next(rt).map_or(1, char::len_utf8);
                    resume = Some((rp, rt));
                    p = rp + 1;
                    t = rt;
                }
                None => return false,
            },
        }
    }
    parts.get(p..).unwrap_or(&[]).iter().all(|x| *x == Part::Many)
}
