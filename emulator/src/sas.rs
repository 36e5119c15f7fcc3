//! Shared Access Signature (SAS) tokens: parsing and verification.
//!
//! A token looks like `SharedAccessSignature sr=<enc(resource)>&sig=<enc(base64(hmac))>&se=<unix
//! seconds>&skn=<enc(key name)>`, fields in any order. The signature is HMAC-SHA256, keyed with the
//! raw key string's UTF-8 bytes, over the `sr` value **exactly as it appears in the token** (still
//! percent-encoded) + `"\n"` + the `se` value. Verifying against the raw `sr` text makes tokens
//! from every client verify, although Python (`quote_plus`), JS (`encodeURIComponent`) and Rust
//! (`form_urlencoded`) encode the resource differently.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::rights::Rights;

/// The scheme word every SAS token starts with.
const SCHEME: &str = "SharedAccessSignature";

/// A named key that may sign tokens (a Service Bus "shared access authorization rule").
#[derive(Clone, PartialEq, Eq)]
pub struct SasRule {
    /// The rule name, sent by clients as `skn` (`SharedAccessKeyName`).
    pub name: String,
    /// The key, used as raw UTF-8 bytes for the HMAC (not base64-decoded).
    pub key: String,
    /// What tokens signed with this key may do.
    pub rights: Rights,
}

impl fmt::Debug for SasRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SasRule")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .field("rights", &self.rights)
            .finish()
    }
}

impl SasRule {
    /// A rule with this name and key and every right (like `RootManageSharedAccessKey`).
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
            rights: Rights::ALL,
        }
    }

    /// The same rule with only `rights`.
    pub fn with_rights(mut self, rights: Rights) -> Self {
        self.rights = rights;
        self
    }
}

/// The fields of a parsed token; `resource` and `key_name` are percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasToken<'a> {
    /// `sr` exactly as it appears in the token (the signed text).
    pub raw_resource: &'a str,
    /// `sr` percent-decoded, e.g. `sb://localhost:5672/queue`.
    pub resource: String,
    /// `sig` percent-decoded: the base64 HMAC.
    pub signature: String,
    /// `se`: expiry in seconds since the Unix epoch.
    pub expiry: u64,
    /// `se` exactly as it appears in the token (the signed text).
    pub raw_expiry: &'a str,
    /// `skn` percent-decoded: the rule that signed the token.
    pub key_name: String,
}

/// Why a token was refused. The `Display` text is what the broker reports to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SasError {
    /// The text is not a `SharedAccessSignature …` token.
    Malformed(String),
    /// No rule with the token's `skn`.
    UnknownKeyName(String),
    /// The HMAC does not match (wrong key, or the token was altered).
    InvalidSignature,
    /// `se` lies in the past.
    Expired {
        /// The token's `se`.
        expiry: u64,
    },
    /// The token was issued for a resource that does not cover the requested audience.
    ResourceMismatch {
        /// The token's decoded `sr`.
        resource: String,
        /// The audience the client asked to authorise.
        audience: String,
    },
}

impl fmt::Display for SasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "InvalidToken: the SAS token is malformed: {why}."),
            Self::UnknownKeyName(name) => write!(
                f,
                "InvalidSignature: the token has an invalid signature (no shared access key named '{name}')."
            ),
            Self::InvalidSignature => write!(f, "InvalidSignature: The token has an invalid signature."),
            Self::Expired { expiry } => {
                write!(f, "ExpiredToken: The token is expired. Expiration time: {expiry} (Unix seconds).")
            }
            Self::ResourceMismatch { resource, audience } => write!(
                f,
                "InvalidAudience: The token audience '{resource}' does not cover '{audience}'."
            ),
        }
    }
}

impl std::error::Error for SasError {}

/// Parses a token without verifying it.
pub fn parse(token: &str) -> Result<SasToken<'_>, SasError> {
    let rest = token
        .trim()
        .strip_prefix(SCHEME)
        .ok_or_else(|| SasError::Malformed(format!("it does not start with '{SCHEME}'")))?;
    if !rest.starts_with(char::is_whitespace) {
        return Err(SasError::Malformed(format!(
            "'{SCHEME}' must be followed by a space"
        )));
    }
    let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
    for pair in rest.trim().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| SasError::Malformed(format!("field '{pair}' has no '='")))?;
        let slot = match name {
            "sr" => &mut sr,
            "sig" => &mut sig,
            "se" => &mut se,
            "skn" => &mut skn,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(SasError::Malformed(format!("field '{name}' appears twice")));
        }
    }
    let missing = |field: &str| SasError::Malformed(format!("field '{field}' is missing"));
    let raw_resource = sr.ok_or_else(|| missing("sr"))?;
    let raw_expiry = se.ok_or_else(|| missing("se"))?;
    let expiry = raw_expiry.parse::<u64>().map_err(|_| {
        SasError::Malformed(format!("'se={raw_expiry}' is not a number of seconds"))
    })?;
    Ok(SasToken {
        raw_resource,
        resource: percent_decode(raw_resource, "sr")?,
        signature: percent_decode(sig.ok_or_else(|| missing("sig"))?, "sig")?,
        expiry,
        raw_expiry,
        key_name: percent_decode(skn.ok_or_else(|| missing("skn"))?, "skn")?,
    })
}

/// Verifies `token` against `rules` at time `now`, and checks that its resource covers
/// `audience` (the put-token `name`; scheme and host are ignored, paths compare
/// case-insensitively, a namespace-level token covers every entity). Returns the rule name.
pub fn verify<'r>(
    token: &str,
    audience: &str,
    rules: &'r [SasRule],
    now: SystemTime,
) -> Result<&'r str, SasError> {
    verify_rule(token, audience, rules, now).map(|(rule, _)| rule.name.as_str())
}

/// Like [`verify`], returning the rule that signed the token and the token's expiry (Unix
/// seconds).
pub fn verify_rule<'r>(
    token: &str,
    audience: &str,
    rules: &'r [SasRule],
    now: SystemTime,
) -> Result<(&'r SasRule, u64), SasError> {
    let parsed = parse(token)?;
    let rule = rules
        .iter()
        .find(|r| r.name == parsed.key_name)
        .ok_or_else(|| SasError::UnknownKeyName(parsed.key_name.clone()))?;
    let expected = sign(&rule.key, parsed.raw_resource, parsed.raw_expiry);
    if !constant_time_eq(expected.as_bytes(), parsed.signature.as_bytes()) {
        return Err(SasError::InvalidSignature);
    }
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if parsed.expiry <= now_secs {
        return Err(SasError::Expired {
            expiry: parsed.expiry,
        });
    }
    if !resource_covers(&parsed.resource, audience) {
        return Err(SasError::ResourceMismatch {
            resource: parsed.resource,
            audience: audience.to_owned(),
        });
    }
    Ok((rule, parsed.expiry))
}

/// The base64 HMAC-SHA256 of `raw_resource + "\n" + raw_expiry` keyed with `key`.
pub fn sign(key: &str, raw_resource: &str, raw_expiry: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(raw_resource.as_bytes());
    mac.update(b"\n");
    mac.update(raw_expiry.as_bytes());
    crate::base64::encode_standard(&mac.finalize().into_bytes())
}

/// Whether a token for `resource` may be used for `audience`: both reduced to their
/// lower-cased entity path (scheme, host and surrounding slashes dropped); an empty resource
/// path (namespace token) covers everything, otherwise the audience must equal it or lie below it.
pub fn resource_covers(resource: &str, audience: &str) -> bool {
    let resource = entity_path(resource);
    let audience = entity_path(audience);
    resource.is_empty()
        || audience == resource
        || (audience.starts_with(&resource)
            && audience.as_bytes().get(resource.len()) == Some(&b'/'))
}

/// `sb://host:port/Topic/Subscriptions/S/` → `topic/subscriptions/s`.
fn entity_path(uri: &str) -> String {
    let path = match uri.split_once("://") {
        Some((_, after_scheme)) => after_scheme.split_once('/').map_or("", |(_, path)| path),
        None => uri,
    };
    path.trim_matches('/').to_ascii_lowercase()
}

/// Decodes `%XX` escapes and `+` (space, as `quote_plus` writes it).
fn percent_decode(text: &str, field: &str) -> Result<String, SasError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        SasError::Malformed(format!("field '{field}' has a bad %-escape"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| SasError::Malformed(format!("field '{field}' is not UTF-8")))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[path = "sas_tests.rs"]
#[allow(clippy::unwrap_used)]
mod tests;
