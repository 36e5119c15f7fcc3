//! [`AppSettings`]: named string values from `local.settings.toml` `[values]` and the
//! environment (Azure Functions' `local.settings.json` `Values` and app settings).
//! Connection strings and `%Name%` binding expressions are looked up here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, Location, Source};
use super::field_types::{describe_map, MapKind};
use super::suggest::{RejectedKey, TableKeys};

/// App settings: the `[values]` of `local.settings.toml`, overridden by environment
/// variables of the same name. `Debug` shows names only: values hold secrets.
#[derive(Clone)]
pub struct AppSettings {
    file: String,
    file_found: bool,
    file_values: BTreeMap<String, FileValue>,
    env: BTreeMap<String, String>,
}

impl Default for AppSettings {
    /// No file values and no environment; errors name `local.settings.toml` as not found.
    fn default() -> Self {
        AppSettings {
            file: "local.settings.toml".to_owned(),
            file_found: false,
            file_values: BTreeMap::new(),
            env: BTreeMap::new(),
        }
    }
}

#[derive(Clone)]
struct FileValue {
    value: String,
    location: Location,
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingSource {
    /// `local.settings.toml` `[values]`, at this place.
    File(Location),
    /// An environment variable.
    Environment,
}

impl fmt::Display for SettingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingSource::File(location) => write!(f, "{location}"),
            SettingSource::Environment => f.write_str("environment variable"),
        }
    }
}

/// `local.settings.toml`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    /// App settings by name.
    #[serde(default)]
    values: BTreeMap<Spanned<String>, SettingValue>,
}

const SETTINGS_TABLES: &[TableKeys] = &[TableKeys {
    name: "the top level",
    keys: &["values"],
    rejected: &[
        RejectedKey {
            key: "IsEncrypted",
            message: "encrypted settings are not supported",
            hint: "remove `IsEncrypted`; keep secrets out of version control instead",
        },
        RejectedKey {
            key: "ConnectionStrings",
            message: "`ConnectionStrings` is not supported",
            hint: "put the connection string in [values] and name that setting in the \
                   trigger's `connection`",
        },
        RejectedKey {
            key: "Host",
            message: "`Host` is not used in local.settings.toml",
            hint: "host settings go in host.toml",
        },
    ],
    fallback_hint: Some(
        "app settings go in the [values] table: `[values]`, then `Name = \"value\"`",
    ),
}];

impl AppSettings {
    /// Reads `local.settings.toml` from `path`. A missing file is an error when the path was
    /// given `explicit`ly, and means "no file values" otherwise.
    pub fn load(path: &Path, explicit: bool) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        match super::read_config_file(path, explicit)? {
            Some(text) => Self::parse(&text, &name),
            None => Ok(AppSettings {
                file: name,
                ..AppSettings::default()
            }),
        }
    }

    /// Parses the text of a `local.settings.toml`; `file_name` names it in errors.
    pub fn parse(text: &str, file_name: &str) -> Result<Self, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let source = Source {
            name: file_name,
            text,
        };
        let file: SettingsFile =
            toml::from_str(text).map_err(|e| source.toml_error(&e, SETTINGS_TABLES))?;
        let file_values = file
            .values
            .into_iter()
            .map(|(name, value)| {
                let location = source.location(name.span().start);
                let value = FileValue {
                    value: value.0,
                    location,
                };
                (name.into_inner(), value)
            })
            .collect();
        Ok(AppSettings {
            file: file_name.to_owned(),
            file_found: true,
            file_values,
            env: BTreeMap::new(),
        })
    }

    /// Adds environment variables (pass `std::env::vars()`); they win over file values of
    /// the same name.
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.env.extend(vars);
        self
    }

    /// The value of a setting.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .or_else(|| self.file_values.get(name).map(|v| v.value.as_str()))
    }

    /// Where a setting's value comes from.
    pub fn source_of(&self, name: &str) -> Option<SettingSource> {
        if self.env.contains_key(name) {
            return Some(SettingSource::Environment);
        }
        self.file_values
            .get(name)
            .map(|v| SettingSource::File(v.location.clone()))
    }

    /// Every setting name: the file's, then the environment's.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.file_values
            .keys()
            .chain(self.env.keys())
            .map(String::as_str)
    }

    /// Where settings are looked for, for error messages.
    pub fn looked_in(&self) -> String {
        let missing = if self.file_found {
            ""
        } else {
            " (file not found)"
        };
        format!("{} [values]{missing} and environment variables", self.file)
    }
}

impl fmt::Debug for AppSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSettings")
            .field("file", &self.file)
            .field("file_found", &self.file_found)
            .field("file_values", &self.file_values.keys().collect::<Vec<_>>())
            .field("env_vars", &self.env.len())
            .finish()
    }
}

/// One `[values]` entry: a string, or an error with a hint on how to quote it.
struct SettingValue(String);

impl<'de> Deserialize<'de> for SettingValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SettingValueVisitor)
    }
}

struct SettingValueVisitor;

impl SettingValueVisitor {
    fn unquoted<E: de::Error>(kind: &str, text: impl fmt::Display) -> E {
        E::custom(format!(
            "app setting values must be strings, found {kind} `{text}`\nhint: quote it: `\"{text}\"`"
        ))
    }

    fn nested<E: de::Error>(kind: &str) -> E {
        E::custom(format!(
            "app setting values must be strings, found {kind}\nhint: settings are flat; \
             write a nested name as one key: `\"Parent:Child\" = \"value\"`"
        ))
    }
}

impl<'de> Visitor<'de> for SettingValueVisitor {
    type Value = SettingValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(SettingValue(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(SettingValue(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Err(Self::unquoted("integer", v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Err(Self::unquoted("integer", v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(Self::unquoted("number", v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Err(Self::unquoted("boolean", v))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(Self::nested("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        match describe_map(map)? {
            MapKind::DateTime(text) => Err(Self::unquoted("date/time", text)),
            MapKind::Table => Err(Self::nested("a table")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_file_values() {
        let text = "[values]\nOrdersQueue = \"from-file\"\nOther = \"x\"\n";
        let settings = AppSettings::parse(text, "local.settings.toml")
            .unwrap()
            .with_env(env(&[("OrdersQueue", "from-env"), ("OnlyEnv", "e")]));
        assert_eq!(settings.get("OrdersQueue"), Some("from-env"));
        assert_eq!(
            settings.source_of("OrdersQueue"),
            Some(SettingSource::Environment)
        );
        assert_eq!(settings.get("Other"), Some("x"));
        let location = Location {
            file: "local.settings.toml".into(),
            line: 3,
            column: 1,
        };
        assert_eq!(
            settings.source_of("Other"),
            Some(SettingSource::File(location))
        );
        assert_eq!(settings.get("OnlyEnv"), Some("e"));
        assert_eq!(settings.get("Missing"), None);
        assert_eq!(settings.source_of("Missing"), None);
    }

    #[test]
    fn names_are_case_sensitive_and_empty_values_count() {
        let settings = AppSettings::default().with_env(env(&[("Queue", "")]));
        assert_eq!(settings.get("Queue"), Some(""));
        assert_eq!(settings.get("queue"), None);
    }

    #[test]
    fn debug_does_not_show_values() {
        let text = "[values]\nConn = \"SharedAccessKey=secret\"\n";
        let settings = AppSettings::parse(text, "l.toml").unwrap();
        let debug = format!("{settings:?}");
        assert!(
            debug.contains("Conn") && !debug.contains("secret"),
            "{debug}"
        );
    }

    #[test]
    fn a_missing_default_file_means_environment_only() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-local.settings.toml");
        let settings = AppSettings::load(&path, false).unwrap();
        assert_eq!(settings.names().count(), 0);
        assert!(settings.looked_in().contains("(file not found)"));
        let err = AppSettings::load(&path, true).unwrap_err();
        assert_eq!(err.message(), "file not found");
    }

    #[test]
    fn unquoted_dates_get_a_quoting_hint() {
        let err = AppSettings::parse("[values]\nStart = 2024-01-01\n", "l.toml").unwrap_err();
        assert_eq!(err.hint(), Some("quote it: `\"2024-01-01\"`"));
        assert_eq!((err.line(), err.column()), (Some(2), Some(9)));
    }
}
