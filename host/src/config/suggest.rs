//! Turning `toml`/`serde` error messages into diagnostics with a useful hint: the closest
//! valid key, the table a key belongs in, or how to write a value of the expected type.

/// The keys of one table of a config file, as `serde` lists them in its errors.
pub(crate) struct TableKeys {
    /// How the table is named in hints, e.g. `[service_bus]`.
    pub name: &'static str,
    /// Its keys, in declaration order (exactly the struct's fields).
    pub keys: &'static [&'static str],
    /// Keys that are deliberately not accepted here, with the message and hint to give.
    pub rejected: &'static [RejectedKey],
    /// The hint for an unknown key close to nothing known.
    pub fallback_hint: Option<&'static str>,
}

/// A key that people will try, and that is refused with an explanation.
pub(crate) struct RejectedKey {
    /// The key.
    pub key: &'static str,
    /// The error message (replaces "unknown field").
    pub message: &'static str,
    /// The hint.
    pub hint: &'static str,
}

/// The message and hint for one error.
pub(crate) struct Diagnosis {
    pub message: String,
    pub hint: Option<String>,
}

/// Splits a `serde` message into message and hint and adds a hint where one can be given.
/// `tables` describes the file so unknown keys can be matched to their table.
pub(crate) fn diagnose(raw: &str, tables: &[TableKeys]) -> Diagnosis {
    let (message, hint) = match raw.split_once("\nhint: ") {
        Some((message, hint)) => (message, Some(hint.to_owned())),
        None => (raw, None),
    };
    let message = message.trim_end().replace('\n', ", ");
    if hint.is_some() {
        return Diagnosis { message, hint };
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return unknown_key(&message, rest, tables);
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (name, expected) = quoted_names(rest);
        let hint = closest(&name, expected.iter().map(String::as_str))
            .map(|near| format!("did you mean `{near}`?"));
        return Diagnosis { message, hint };
    }
    let hint = type_hint(&message).map(str::to_owned);
    Diagnosis { message, hint }
}

/// The first backquoted name in `text`, and the rest of the backquoted names.
fn quoted_names(text: &str) -> (String, Vec<String>) {
    let mut names = text
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter();
    let first = names.next().unwrap_or_default();
    (first, names.collect())
}

fn unknown_key(message: &str, rest: &str, tables: &[TableKeys]) -> Diagnosis {
    let (name, expected) = quoted_names(rest);
    let table = tables.iter().find(|t| {
        t.keys.len() == expected.len() && t.keys.iter().all(|k| expected.iter().any(|e| e == k))
    });
    if let Some(rejected) = table.and_then(|t| t.rejected.iter().find(|r| r.key == name)) {
        return Diagnosis {
            message: rejected.message.to_owned(),
            hint: Some(rejected.hint.to_owned()),
        };
    }
    let hint = if let Some(near) = closest(&name, expected.iter().map(String::as_str)) {
        Some(format!("did you mean `{near}`?"))
    } else {
        let homes: Vec<&str> = tables
            .iter()
            .filter(|t| t.keys.contains(&name.as_str()))
            .map(|t| t.name)
            .collect();
        if homes.is_empty() {
            table.and_then(|t| t.fallback_hint).map(str::to_owned)
        } else {
            Some(format!("`{name}` belongs in {}", homes.join(" or ")))
        }
    };
    Diagnosis {
        message: message.to_owned(),
        hint,
    }
}

/// How to fix a syntax error, or write a value of the type named after "expected" in a
/// serde type error.
fn type_hint(message: &str) -> Option<&'static str> {
    if message.starts_with("invalid string, expected") {
        return Some("a value is missing or unquoted after `=`; write strings in double quotes");
    }
    if message.starts_with("invalid basic string") {
        return Some(
            "end the string with `\"` on the same line (`\"\"\"` starts a multi-line one)",
        );
    }
    if message.contains("duplicate key") {
        return Some("each key and table may be written once; merge the two");
    }
    if !message.starts_with("invalid type: ") && !message.starts_with("invalid value: ") {
        return None;
    }
    let expected = message.rsplit_once(", expected ")?.1;
    Some(match expected {
        "u16" => "write a whole number from 0 to 65535, without quotes",
        "u32" => "write a whole number from 0 to 4294967295, without quotes",
        "a boolean" => "write `true` or `false`, without quotes",
        "a string" | "a borrowed string" => "write the value in double quotes",
        _ => return None,
    })
}

/// The candidate most like `word`, if any is close enough to be a likely typo: a small edit
/// distance (case-insensitive; optimal string alignment over chars, so a swap of neighbours
/// is one edit and `Evn` is one from `env`), or the same `_`-separated words with some left
/// out.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let distance = strsim::osa_distance(&word_lower, &candidate.to_lowercase());
            let longest = word.chars().count().max(candidate.chars().count());
            let close = distance <= (longest / 3).max(1);
            (close || same_words(&word_lower, candidate)).then_some((distance, candidate))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Whether the `_`-separated words of one name are all among the other's.
fn same_words(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split('_')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    let subset = |small: &[String], big: &[String]| {
        !small.is_empty() && small.iter().all(|w| big.contains(w))
    };
    (a.len() > 1 || b.len() > 1) && (subset(&a, &b) || subset(&b, &a))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOBS: [&str; 3] = ["prefetch_count", "max_concurrent_sessions", "auto_complete"];

    #[test]
    fn finds_typos_and_shortened_names() {
        assert_eq!(closest("prefetch_cout", KNOBS), Some("prefetch_count"));
        assert_eq!(
            closest("max_sessions", KNOBS),
            Some("max_concurrent_sessions")
        );
        assert_eq!(
            closest("auto_complete_messages", KNOBS),
            Some("auto_complete")
        );
        assert_eq!(closest("Prefetch_Count", KNOBS), Some("prefetch_count"));
        assert_eq!(closest("colour", KNOBS), None);
        assert_eq!(closest("count", KNOBS), Some("prefetch_count"));
    }

    #[test]
    fn a_swap_of_neighbours_is_one_edit() {
        // Levenshtein would count two edits, too many for a three-letter name.
        assert_eq!(closest("Evn", ["env", "port"]), Some("env"));
        assert_eq!(closest("vne", ["env", "port"]), None);
    }

    #[test]
    fn splits_custom_hints_and_joins_lines() {
        let d = diagnose("bad thing\nhint: do this", &[]);
        assert_eq!(
            (d.message.as_str(), d.hint.as_deref()),
            ("bad thing", Some("do this"))
        );
        let d = diagnose("invalid table header\nexpected `.`, `]`", &[]);
        assert_eq!(d.message, "invalid table header, expected `.`, `]`");
        assert_eq!(d.hint, None);
    }

    #[test]
    fn hints_how_to_write_the_expected_type() {
        let d = diagnose("invalid type: string \"x\", expected u32", &[]);
        assert_eq!(
            d.hint.as_deref(),
            Some("write a whole number from 0 to 4294967295, without quotes")
        );
    }
}
