//! What a SAS rule may do: the Service Bus claims `Listen`, `Send` and `Manage`.
//!
//! As in Azure, `Manage` implies `Send` and `Listen`. Each operation needs one claim: sending
//! (sender links, `schedule-message`, `cancel-scheduled-message`) needs `Send`; receiving
//! (receiver links and their settlements, peek, lock renewal, session state,
//! receive-by-sequence-number, `update-disposition`, session listing) needs `Listen`; rule
//! management on `$management` and the admin HTTP API need `Manage`.
//!
//! Rules are written `NAME=KEY` (every right, like `RootManageSharedAccessKey`) or
//! `NAME=KEY:Listen,Send` ([`parse_rule`]): the text after the key's last `:` is the rights.

use std::fmt;

use crate::sas::SasRule;

/// One claim a token may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// Receive, peek, settle, renew locks, read and write session state.
    Listen,
    /// Send and schedule messages.
    Send,
    /// Manage entities and rules; implies `Listen` and `Send`.
    Manage,
}

impl Right {
    /// The claim's name as Azure writes it.
    pub fn name(self) -> &'static str {
        match self {
            Right::Listen => "Listen",
            Right::Send => "Send",
            Right::Manage => "Manage",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Right::Listen => 1,
            Right::Send => 2,
            Right::Manage => 4,
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Right`]s.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights(u8);

impl Rights {
    /// Every right (`Manage`, hence `Listen` and `Send` too).
    pub const ALL: Rights = Rights(7);
    /// No right at all.
    pub const NONE: Rights = Rights(0);

    /// These rights plus `right` (`Manage` brings `Listen` and `Send`).
    pub fn with(self, right: Right) -> Rights {
        match right {
            Right::Manage => Rights::ALL,
            other => Rights(self.0 | other.bit()),
        }
    }

    /// Whether `right` is granted.
    pub fn allows(self, right: Right) -> bool {
        self.0 & right.bit() != 0
    }

    /// Parses `Listen,Send` (case-insensitive, spaces allowed; empty items ignored).
    pub fn parse(text: &str) -> Result<Rights, String> {
        let mut rights = Rights::NONE;
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            rights = rights.with(parse_right(word)?);
        }
        if rights == Rights::NONE {
            return Err("no rights given; expected one or more of Listen, Send, Manage".into());
        }
        Ok(rights)
    }
}

/// One right's name (case-insensitive).
pub fn parse_right(word: &str) -> Result<Right, String> {
    [Right::Listen, Right::Send, Right::Manage]
        .into_iter()
        .find(|r| r.name().eq_ignore_ascii_case(word))
        .ok_or_else(|| format!("unknown right `{word}`; expected Listen, Send or Manage"))
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.allows(Right::Manage) {
            return f.write_str("Manage,Listen,Send");
        }
        let names: Vec<&str> = [Right::Listen, Right::Send]
            .into_iter()
            .filter(|r| self.allows(*r))
            .map(Right::name)
            .collect();
        f.write_str(&names.join(","))
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights({self})")
    }
}

/// Parses `NAME=KEY` (every right) or `NAME=KEY:RIGHTS` (`RIGHTS` as in [`Rights::parse`]).
/// A key that itself contains `:` must be written with its rights (`NAME=a:b:Manage`).
pub fn parse_rule(text: &str) -> Result<SasRule, String> {
    let Some((name, rest)) = text.split_once('=') else {
        return Err(format!(
            "`{text}`: expected NAME=KEY or NAME=KEY:RIGHTS (RIGHTS: Listen, Send, Manage, comma-separated)"
        ));
    };
    let (key, rights) = match rest.rsplit_once(':') {
        Some((key, rights)) => (
            key,
            Rights::parse(rights).map_err(|e| format!("`{name}=…:{rights}`: {e}"))?,
        ),
        None => (rest, Rights::ALL),
    };
    if name.trim().is_empty() || key.is_empty() {
        return Err(format!(
            "`{name}=…`: the rule name and the key must not be empty"
        ));
    }
    Ok(SasRule::new(name.trim(), key).with_rights(rights))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn manage_implies_listen_and_send() {
        let manage = Rights::NONE.with(Right::Manage);
        assert!(manage.allows(Right::Listen) && manage.allows(Right::Send));
        let listen = Rights::parse("listen").unwrap();
        assert!(listen.allows(Right::Listen));
        assert!(!listen.allows(Right::Send) && !listen.allows(Right::Manage));
        assert_eq!(
            Rights::parse(" Send , Listen ").unwrap().to_string(),
            "Listen,Send"
        );
    }

    #[test]
    fn rules_parse_with_and_without_rights() {
        let all = parse_rule("Root=abc+/=").unwrap();
        assert_eq!((all.name.as_str(), all.key.as_str()), ("Root", "abc+/="));
        assert_eq!(all.rights, Rights::ALL);
        let listen = parse_rule("reader=k3y=:Listen").unwrap();
        assert_eq!(listen.key, "k3y=");
        assert_eq!(listen.rights, Rights::parse("Listen").unwrap());
        let colon = parse_rule("n=a:b:Manage").unwrap();
        assert_eq!((colon.key.as_str(), colon.rights), ("a:b", Rights::ALL));
    }

    #[test]
    fn bad_rules_say_what_is_expected() {
        assert!(parse_rule("no-equals").unwrap_err().contains("NAME=KEY"));
        assert!(parse_rule("n=k:Read")
            .unwrap_err()
            .contains("Listen, Send or Manage"));
        assert!(parse_rule("n=k:").unwrap_err().contains("no rights"));
        assert!(parse_rule("=k").unwrap_err().contains("must not be empty"));
        assert!(parse_rule("n=:Send")
            .unwrap_err()
            .contains("must not be empty"));
    }
}
