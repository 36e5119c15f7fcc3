//! Binding expressions: `%Name%` in a trigger attribute (`queue = "orders-%Env%"`) is
//! replaced by the app setting `Name`, as in Azure Functions.

use std::fmt;

use super::app_settings::AppSettings;
use super::suggest::closest;

/// Replaces every `%Name%` in `value` by the app setting `Name`. Text outside `%...%` is
/// kept; substituted values are not expanded again. `%%` and an unmatched `%` are errors.
pub fn resolve(value: &str, settings: &AppSettings) -> Result<String, BindingError> {
    if !value.contains('%') {
        return Ok(value.to_owned());
    }
    let error = |kind| BindingError {
        expression: value.to_owned(),
        kind,
    };
    let mut resolved = String::with_capacity(value.len());
    let mut offset = 0;
    while let Some(start) = value[offset..].find('%').map(|i| offset + i) {
        resolved.push_str(&value[offset..start]);
        let name_start = start + 1;
        let Some(end) = value[name_start..].find('%').map(|i| name_start + i) else {
            return Err(error(BindingErrorKind::Unterminated { offset: start }));
        };
        let name = &value[name_start..end];
        if name.is_empty() {
            return Err(error(BindingErrorKind::EmptyName { offset: start }));
        }
        let Some(setting) = settings.get(name) else {
            return Err(error(BindingErrorKind::UnknownSetting {
                name: name.to_owned(),
                looked_in: settings.looked_in(),
                suggestion: closest(name, settings.names()).map(str::to_owned),
            }));
        };
        resolved.push_str(setting);
        offset = end + 1;
    }
    resolved.push_str(&value[offset..]);
    Ok(resolved)
}

/// A binding expression that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingError {
    /// The whole value, as written.
    pub expression: String,
    /// What went wrong.
    pub kind: BindingErrorKind,
}

/// What went wrong in a binding expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingErrorKind {
    /// `%%`: a reference without a name, at this byte offset.
    EmptyName {
        /// Byte offset of the first `%`.
        offset: usize,
    },
    /// A `%` without its closing `%`, at this byte offset.
    Unterminated {
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// No app setting has this name.
    UnknownSetting {
        /// The setting name between the `%`s.
        name: String,
        /// Where it was looked for (see [`AppSettings::looked_in`]).
        looked_in: String,
        /// A defined setting with a similar name.
        suggestion: Option<String>,
    },
}

impl fmt::Display for BindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expression = &self.expression;
        match &self.kind {
            BindingErrorKind::EmptyName { offset } => write!(
                f,
                "`%%` at byte {offset} of `{expression}` names no app setting \
                 (write `%SettingName%`)"
            ),
            BindingErrorKind::Unterminated { offset } => write!(
                f,
                "unmatched `%` at byte {offset} of `{expression}` \
                 (write `%SettingName%`)"
            ),
            BindingErrorKind::UnknownSetting {
                name,
                looked_in,
                suggestion,
            } => {
                write!(
                    f,
                    "app setting `{name}` (used in `{expression}`) is not defined; \
                     looked in {looked_in}"
                )?;
                match suggestion {
                    Some(near) => write!(f, "; did you mean `{near}`?"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for BindingError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AppSettings {
        let text = "[values]\nEnv = \"dev\"\nOrdersQueue = \"orders\"\nPct = \"100%\"\n";
        AppSettings::parse(text, "local.settings.toml")
            .unwrap()
            .with_env([("Region".to_owned(), "weu".to_owned())])
    }

    #[test]
    fn replaces_every_reference() {
        let s = settings();
        assert_eq!(resolve("orders", &s).unwrap(), "orders");
        assert_eq!(resolve("%OrdersQueue%", &s).unwrap(), "orders");
        assert_eq!(resolve("orders-%Env%", &s).unwrap(), "orders-dev");
        assert_eq!(resolve("%Env%-%Region%/x", &s).unwrap(), "dev-weu/x");
        assert_eq!(resolve("%Env%%Env%", &s).unwrap(), "devdev");
        assert_eq!(resolve("", &s).unwrap(), "");
    }

    #[test]
    fn substituted_values_are_not_expanded_again() {
        assert_eq!(resolve("p-%Pct%", &settings()).unwrap(), "p-100%");
    }

    #[test]
    fn empty_and_unterminated_references_are_errors() {
        let s = settings();
        let err = resolve("a%%b", &s).unwrap_err();
        assert_eq!(err.kind, BindingErrorKind::EmptyName { offset: 1 });
        let err = resolve("%Env%-50%", &s).unwrap_err();
        assert_eq!(err.kind, BindingErrorKind::Unterminated { offset: 8 });
        assert_eq!(
            err.to_string(),
            "unmatched `%` at byte 8 of `%Env%-50%` (write `%SettingName%`)"
        );
    }

    #[test]
    fn unknown_settings_name_the_places_searched() {
        let err = resolve("orders-%Evn%", &settings()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "app setting `Evn` (used in `orders-%Evn%`) is not defined; looked in \
             local.settings.toml [values] and environment variables; did you mean `Env`?"
        );
        let err = resolve("%Nothing%", &AppSettings::default()).unwrap_err();
        assert!(matches!(
            err.kind,
            BindingErrorKind::UnknownSetting { ref name, suggestion: None, .. } if name == "Nothing"
        ));
    }
}
