//! `[[emulator.sas_rules]]`: the SAS rules of the embedded broker of `host start`, with their
//! rights, checked while parsing so that a typo is reported with its line.
//!
//! ```toml
//! [emulator]
//! host = "0.0.0.0"
//! [[emulator.sas_rules]]
//! name = "RootManageSharedAccessKey"
//! key = "a-long-random-key"
//! [[emulator.sas_rules]]
//! name = "reader"
//! key = "another-key"
//! rights = ["Listen"]
//! ```

use berth_emulator::rights::{parse_right, Rights};
use berth_emulator::sas::SasRule;
use serde::Deserialize;

/// One `[[emulator.sas_rules]]` table.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SasRuleConfig {
    /// The rule name clients send as `SharedAccessKeyName`.
    pub name: String,
    /// The key clients sign tokens with (`SharedAccessKey`).
    pub key: String,
    /// `["Listen"]`, `["Send"]`, `["Listen", "Send"]` or `["Manage"]` (Manage implies the
    /// others). Default: every right.
    #[serde(default)]
    pub rights: Option<RightsList>,
}

impl std::fmt::Debug for SasRuleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasRuleConfig")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .field("rights", &self.rights)
            .finish()
    }
}

impl SasRuleConfig {
    /// The broker's rule.
    pub fn rule(&self) -> SasRule {
        let rights = self.rights.as_ref().map_or(Rights::ALL, |r| r.0);
        SasRule::new(&self.name, &self.key).with_rights(rights)
    }
}

/// A non-empty list of right names, validated while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct RightsList(pub Rights);

impl TryFrom<Vec<String>> for RightsList {
    type Error = String;
    fn try_from(names: Vec<String>) -> Result<Self, Self::Error> {
        let mut rights = Rights::NONE;
        for name in &names {
            rights = rights.with(parse_right(name)?);
        }
        if rights == Rights::NONE {
            return Err("`rights` is empty; list one or more of Listen, Send, Manage".into());
        }
        Ok(RightsList(rights))
    }
}
