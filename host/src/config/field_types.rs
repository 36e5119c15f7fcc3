//! Checked value types shared by the config files: counts of at least one, log filters, and
//! telling an unquoted TOML date/time apart from a table.

use serde::de::{self, Deserialize, Deserializer, MapAccess};

use super::suggest::closest;

/// The key under which `toml` hands over a date/time value.
const DATETIME_FIELD: &str = "$__toml_private_datetime";

/// What a TOML map value really was.
pub(crate) enum MapKind {
    /// An unquoted date or time such as `00:05:00`, with its text.
    DateTime(String),
    /// A table.
    Table,
}

/// Looks at the first key of a map handed to a visitor to tell date/times from tables.
pub(crate) fn describe_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<MapKind, A::Error> {
    match map.next_key::<String>()? {
        Some(key) if key == DATETIME_FIELD => Ok(MapKind::DateTime(map.next_value::<String>()?)),
        _ => Ok(MapKind::Table),
    }
}

/// A count that must be at least 1 (a limit of 0 would stop all processing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AtLeastOne(pub u32);

impl<'de> Deserialize<'de> for AtLeastOne {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = u32::deserialize(d)?;
        if value == 0 {
            return Err(de::Error::custom(
                "must be at least 1, found 0\nhint: 0 would mean nothing is ever processed; \
                 use 1 to process one at a time",
            ));
        }
        Ok(AtLeastOne(value))
    }
}

/// `deserialize_with` for a `u32` field that must be at least 1.
pub(crate) fn deserialize_at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    AtLeastOne::deserialize(d).map(|v| v.0)
}

/// A string that must not be empty or blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NonEmpty(pub String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        if value.trim().is_empty() {
            return Err(de::Error::custom(
                "must not be empty\nhint: remove the key to keep the default",
            ));
        }
        Ok(NonEmpty(value))
    }
}

/// `deserialize_with` for a `String` field that must not be empty.
pub(crate) fn deserialize_non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    NonEmpty::deserialize(d).map(|v| v.0)
}

const ADDRESS_HINT: &str = "write an IP address and a port in quotes, e.g. `\"0.0.0.0:8080\"` \
(all interfaces) or `\"127.0.0.1:8080\"`; host names are not resolved";

/// `deserialize_with` for an optional socket address such as `"0.0.0.0:8080"`.
pub(crate) fn deserialize_optional_socket_address<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<std::net::SocketAddr>, D::Error> {
    struct Address;
    impl de::Visitor<'_> for Address {
        type Value = std::net::SocketAddr;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a socket address such as \"0.0.0.0:8080\"")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            text.trim().parse().map_err(|_| {
                E::custom(format!(
                    "`{text}` is not an IP address with a port\nhint: {ADDRESS_HINT}"
                ))
            })
        }

        fn visit_i64<E: de::Error>(self, port: i64) -> Result<Self::Value, E> {
            Err(E::custom(format!(
                "expected an address with a port, found the number {port}\nhint: {ADDRESS_HINT}"
            )))
        }
    }
    d.deserialize_any(Address).map(Some)
}

/// The levels a bare log directive may name.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

const FILTER_HINT: &str = "write a level (`\"info\"`), or comma-separated directives such as \
`\"info,berth_host=debug\"`";

/// `deserialize_with` for `logging.level`: a valid `tracing` `EnvFilter` string.
pub(crate) fn deserialize_log_filter<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    check_log_filter(&text).map_err(de::Error::custom)?;
    Ok(text)
}

/// Checks a filter string; the error text may carry a `\nhint: ` part.
fn check_log_filter(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(
            "the log filter is empty\nhint: write a level such as `\"info\"`, or `\"off\"` to \
             disable logging"
                .to_owned(),
        );
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(text) {
        return Err(format!(
            "invalid log filter `{text}`: {e}\nhint: {FILTER_HINT}"
        ));
    }
    for directive in text.split(',').map(str::trim) {
        let bare_word = !directive.is_empty() && directive.chars().all(|c| c.is_alphabetic());
        let lower = directive.to_ascii_lowercase();
        if !bare_word || LEVELS.contains(&lower.as_str()) {
            continue;
        }
        let near = closest(&lower, LEVELS).or_else(|| {
            LEVELS
                .iter()
                .copied()
                .find(|level| lower.starts_with(level))
        });
        if let Some(level) = near {
            return Err(format!(
                "`{directive}` is not a log level; as written it would name a log target\n\
                 hint: did you mean `{level}`? (to filter a target write `{directive}=info`)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_log_filter;

    #[test]
    fn accepts_levels_and_directives() {
        for ok in [
            "info",
            "WARN",
            "off",
            "info,berth_host=debug",
            "berth=trace",
        ] {
            assert_eq!(check_log_filter(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_empty_and_misspelt_levels() {
        assert!(check_log_filter(" ")
            .unwrap_err()
            .starts_with("the log filter is empty"));
        let err = check_log_filter("debg").unwrap_err();
        assert!(err.contains("did you mean `debug`?"), "{err}");
        let err = check_log_filter("info,warning").unwrap_err();
        assert!(err.contains("did you mean `warn`?"), "{err}");
    }

    #[test]
    fn rejects_bad_directive_syntax() {
        let err = check_log_filter("berth=loud").unwrap_err();
        assert!(err.starts_with("invalid log filter `berth=loud`"), "{err}");
    }
}
