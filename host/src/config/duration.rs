//! Durations as written in config files: `30s`, `1h30m`, ISO 8601 `PT5M`, .NET `00:05:00`.

use std::fmt;
use std::time::Duration;

pub use berth_emulator::duration::{parse_duration, DurationError};

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::field_types::{describe_map, MapKind};

/// The hint shown under every duration error.
pub(crate) const FORMATS_HINT: &str = "write a duration as a string: `\"30s\"`, `\"500ms\"`, \
`\"5m\"`, `\"1h30m\"`, `\"2d\"`, ISO 8601 `\"PT5M\"` / `\"PT0.5S\"`, or .NET `\"00:05:00\"` / \
`\"1.02:00:00\"`";

/// A duration read from a config file. Deserializes from a string in any accepted format,
/// so a bad value is reported by `toml` at its line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    /// The parsed duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl TryFrom<String> for ConfigDuration {
    type Error = DurationError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        parse_duration(&text).map(ConfigDuration)
    }
}

impl std::str::FromStr for ConfigDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_duration(text).map(ConfigDuration)
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl DurationVisitor {
    fn unquoted<E: de::Error>(found: impl fmt::Display) -> E {
        E::custom(format!(
            "a duration must be a quoted string with a unit, found `{found}`\nhint: {FORMATS_HINT}"
        ))
    }
}

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = ConfigDuration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string such as \"30s\"")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        parse_duration(text)
            .map(ConfigDuration)
            .map_err(|e| E::custom(format!("{e}\nhint: {FORMATS_HINT}")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Err(Self::unquoted(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Err(Self::unquoted(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(Self::unquoted(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(E::custom(format!(
            "expected a duration, found boolean `{v}`\nhint: {FORMATS_HINT}"
        )))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(format!(
            "expected a duration, found an array\nhint: {FORMATS_HINT}"
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        match describe_map(map)? {
            MapKind::DateTime(text) => Err(Self::unquoted(text)),
            MapKind::Table => Err(de::Error::custom(format!(
                "expected a duration, found a table\nhint: {FORMATS_HINT}"
            ))),
        }
    }
}

/// `deserialize_with` for a `std::time::Duration` field.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    Deserialize::deserialize(d).map(ConfigDuration::get)
}

/// A duration that must be greater than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PositiveDuration(pub Duration);

impl<'de> Deserialize<'de> for PositiveDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let duration = ConfigDuration::deserialize(d)?.get();
        if duration.is_zero() {
            return Err(de::Error::custom(
                "this duration must be greater than zero\nhint: for example `\"5s\"`",
            ));
        }
        Ok(PositiveDuration(duration))
    }
}

/// `deserialize_with` for a `std::time::Duration` field that must not be zero.
pub(crate) fn deserialize_positive<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    Deserialize::deserialize(d).map(|p: PositiveDuration| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newtype_conversions_agree() {
        let parsed: ConfigDuration = "1h30m".parse().unwrap();
        assert_eq!(parsed.get(), Duration::from_secs(5400));
        assert_eq!(ConfigDuration::try_from("PT1H30M".to_owned()), Ok(parsed));
    }
}
