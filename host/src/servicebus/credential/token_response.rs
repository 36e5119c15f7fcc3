//! Token endpoint responses: Entra ID's OAuth 2.0 (`access_token`, `expires_in` seconds) and
//! the managed identity endpoints' (`expires_on` Unix seconds, numbers written as strings),
//! and the `error` / `error_description` of a refusal.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::AccessToken;

/// Reads a successful response body received at `now`.
pub(crate) fn parse(body: &[u8], now: SystemTime) -> Result<AccessToken, String> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the token response is not JSON ({e})"))?;
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("the token response has no access_token")?;
    let expires_on = match (
        seconds(json.get("expires_on")),
        seconds(json.get("expires_in")),
    ) {
        (Some(on), _) => UNIX_EPOCH + Duration::from_secs(on),
        (None, Some(within)) => now + Duration::from_secs(within),
        (None, None) => {
            return Err("the token response has neither expires_on nor expires_in".to_owned())
        }
    };
    if expires_on <= now {
        return Err("the token response's token has already expired".to_owned());
    }
    Ok(AccessToken::new(token.to_owned(), now, expires_on))
}

/// A one-line description of a refused request: `error: error_description` when the body is
/// an OAuth error, else the start of the body.
pub(crate) fn describe_error(status: u16, body: &[u8]) -> String {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let detail = match (field("error"), field("error_description")) {
        (Some(error), Some(description)) => {
            let first_line = description.lines().next().unwrap_or_default().to_owned();
            format!("{error}: {first_line}")
        }
        (Some(error), None) => error,
        (None, _) => match json
            .as_ref()
            .and_then(|j| j.get("message"))
            .and_then(Value::as_str)
        {
            Some(message) => message.to_owned(),
            None => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        },
    };
    format!("HTTP {status}: {detail}")
}

/// A non-negative whole number of seconds written as a JSON number or numeric string.
fn seconds(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn entra_id_response_uses_expires_in() {
        let body = br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0.x.y"}"#;
        let token = parse(body, at(1000)).unwrap();
        assert_eq!(token.secret(), "eyJ0.x.y");
        assert_eq!(token.expires_on(), at(4599));
    }

    #[test]
    fn managed_identity_response_uses_expires_on_written_as_a_string() {
        let body = br#"{"access_token":"abc","expires_in":"86399","expires_on":"1700086400","resource":"https://servicebus.azure.net","token_type":"Bearer"}"#;
        let token = parse(body, at(1_700_000_000)).unwrap();
        assert_eq!(token.expires_on(), at(1_700_086_400));
        assert!(!format!("{token:?}").contains("abc"));
    }

    #[test]
    fn incomplete_or_expired_responses_are_errors() {
        let cases: [(&[u8], &str); 5] = [
            (b"<html>", "not JSON"),
            (br#"{"expires_in":10}"#, "no access_token"),
            (
                br#"{"access_token":"a"}"#,
                "neither expires_on nor expires_in",
            ),
            (
                br#"{"access_token":"a","expires_on":"999"}"#,
                "already expired",
            ),
            (br#"{"access_token":"a","expires_in":"soon"}"#, "neither"),
        ];
        for (body, expected) in cases {
            let err = parse(body, at(1000)).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn oauth_errors_are_described_on_one_line() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1"}"#;
        assert_eq!(
            describe_error(401, body),
            "HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(describe_error(500, b"boom"), "HTTP 500: boom");
        assert_eq!(
            describe_error(400, br#"{"message":"no identity"}"#),
            "HTTP 400: no identity"
        );
    }
}
