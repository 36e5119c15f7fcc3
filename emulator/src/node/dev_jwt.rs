//! Development-mode checks of Entra ID (`jwt`) tokens put on `$cbs`.
//!
//! **Development only: the signature is not verified.** A token is accepted when it is a
//! well-formed JWT (three base64url segments, a JSON object header and payload), its `aud`
//! (a string or an array of strings) names Service Bus (`https://servicebus.azure.net`, with
//! or without a trailing `/`), and its `exp` (Unix seconds) lies in the future. This lets a
//! host that uses a token credential run against the emulator and a local fake token
//! endpoint; anyone can mint such a token ([`unsigned`]), so it proves nothing about identity.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::base64;

/// The audience Entra ID writes in tokens issued for Service Bus.
pub const SERVICE_BUS_AUDIENCE: &str = "https://servicebus.azure.net";

/// Why a token was refused (the text goes into the 401 `status-description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three `.`-separated base64url segments with JSON object header and payload.
    Malformed(&'static str),
    /// `aud` is missing or does not name Service Bus.
    Audience(String),
    /// `exp` is missing or not a number.
    NoExpiry,
    /// `exp` has passed.
    Expired {
        /// `exp`, Unix seconds.
        exp: u64,
        /// The broker's clock, Unix seconds.
        now: u64,
    },
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed(why) => write!(f, "InvalidToken: the jwt token is malformed ({why})."),
            JwtError::Audience(aud) => write!(
                f,
                "InvalidAudience: the jwt token's aud is {aud}; expected {SERVICE_BUS_AUDIENCE} (scope {SERVICE_BUS_AUDIENCE}/.default)."
            ),
            JwtError::NoExpiry => f.write_str("InvalidToken: the jwt token has no numeric exp claim."),
            JwtError::Expired { exp, now } => write!(
                f,
                "ExpiredToken: the jwt token expired at {exp} (Unix seconds); the broker's clock is {now}."
            ),
        }
    }
}

impl std::error::Error for JwtError {}

/// The claims of an accepted token that a broker logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevJwt {
    /// `exp`, Unix seconds.
    pub expires_at: u64,
    /// `oid`, else `sub`, else `appid`: who the token says it is (unverified).
    pub subject: Option<String>,
}

/// Checks `token` as described in the module docs, at `now`.
pub fn check(token: &str, now: SystemTime) -> Result<DevJwt, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three '.'-separated segments"));
    };
    decode_object(header).ok_or(JwtError::Malformed("the header is not base64url JSON"))?;
    let claims =
        decode_object(payload).ok_or(JwtError::Malformed("the payload is not base64url JSON"))?;
    check_audience(claims.get("aud"))?;
    let exp = match claims.get("exp") {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or(JwtError::NoExpiry)?,
        _ => return Err(JwtError::NoExpiry),
    };
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if exp <= now {
        return Err(JwtError::Expired { exp, now });
    }
    let subject = ["oid", "sub", "appid"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    Ok(DevJwt {
        expires_at: exp,
        subject,
    })
}

/// Whether `token` looks like a JWT at all (two dots, no spaces): the broker checks such
/// tokens as JWTs and everything else as SAS.
pub fn looks_like_jwt(token: &str) -> bool {
    let token = token.trim();
    token.bytes().filter(|b| *b == b'.').count() == 2 && !token.contains(' ')
}

/// An unsigned JWT (`alg: none`, empty signature segment) with `claims` as its payload: what
/// a local fake token endpoint hands out for this broker's development mode.
pub fn unsigned(claims: &Value) -> String {
    let header = base64::encode_url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64::encode_url(claims.to_string().as_bytes());
    format!("{header}.{payload}.")
}

fn decode_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = base64::decode_url(segment)?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn check_audience(aud: Option<&Value>) -> Result<(), JwtError> {
    let names_service_bus = |a: &str| a.trim_end_matches('/') == SERVICE_BUS_AUDIENCE;
    match aud {
        Some(Value::String(a)) if names_service_bus(a) => Ok(()),
        Some(Value::Array(list))
            if list.iter().filter_map(Value::as_str).any(names_service_bus) =>
        {
            Ok(())
        }
        Some(other) => Err(JwtError::Audience(other.to_string())),
        None => Err(JwtError::Audience("missing".to_owned())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_well_formed_current_token_is_accepted() {
        let token =
            unsigned(&json!({"aud": "https://servicebus.azure.net/", "exp": 2000, "oid": "me"}));
        assert!(looks_like_jwt(&token));
        assert_eq!(
            check(&token, at(1000)),
            Ok(DevJwt {
                expires_at: 2000,
                subject: Some("me".into())
            })
        );
        let listed = unsigned(&json!({"aud": ["x", "https://servicebus.azure.net"], "exp": 2000}));
        assert!(check(&listed, at(1000)).is_ok());
    }

    #[test]
    fn expiry_and_audience_are_checked() {
        let expired = unsigned(&json!({"aud": SERVICE_BUS_AUDIENCE, "exp": 999}));
        assert_eq!(
            check(&expired, at(1000)),
            Err(JwtError::Expired {
                exp: 999,
                now: 1000
            })
        );
        let storage = unsigned(&json!({"aud": "https://storage.azure.com", "exp": 2000}));
        let err = check(&storage, at(1000)).unwrap_err();
        assert!(err.to_string().contains("storage.azure.com"), "{err}");
        let no_exp = unsigned(&json!({"aud": SERVICE_BUS_AUDIENCE}));
        assert_eq!(check(&no_exp, at(1000)), Err(JwtError::NoExpiry));
        let no_aud = unsigned(&json!({"exp": 2000}));
        assert!(matches!(
            check(&no_aud, at(1000)),
            Err(JwtError::Audience(_))
        ));
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        for token in [
            "", "a.b", "a.b.c.d", "eyJ...", "!!.??.x", "e30.W10.", "W10.e30.",
        ] {
            assert!(
                matches!(check(token, at(0)), Err(JwtError::Malformed(_))),
                "{token}"
            );
        }
        assert!(!looks_like_jwt("SharedAccessSignature sr=a.b.c&sig=x"));
    }
}
