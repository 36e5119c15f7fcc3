//! Shared Access Signature tokens for CBS `put-token`.
//!
//! `SharedAccessSignature sr=<enc(uri)>&sig=<enc(base64(HMAC-SHA256(key, enc(uri) + "\n" + se)))>&se=<unix
//! seconds>&skn=<enc(key name)>`, encoded like Python's `quote_plus`. The HMAC itself is the
//! emulator's [`berth_emulator::sas::sign`], the same function that verifies tokens there, so
//! that there is one implementation of the signature in the workspace; the tests pin it to a
//! vector computed independently.

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::connection_string::Credential;

/// How long a signed token is valid.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A token and when it expires.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SasToken {
    /// The `SharedAccessSignature …` text.
    pub token: String,
    /// Its `se`.
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for SasToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The token for `audience` (`sb://host/entity`) at time `now`: freshly signed for a key,
/// the connection string's own token for a `SharedAccessSignature`.
pub(crate) fn token_for(credential: &Credential, audience: &str, now: SystemTime) -> SasToken {
    match credential {
        Credential::Key { name, key } => {
            let expiry = unix_seconds(now + TOKEN_LIFETIME);
            SasToken {
                token: sign_token(name, key, audience, expiry),
                expires_at: UNIX_EPOCH + Duration::from_secs(expiry),
            }
        }
        Credential::Signature { token, expiry } => SasToken {
            token: token.clone(),
            expires_at: UNIX_EPOCH + Duration::from_secs(*expiry),
        },
    }
}

/// Signs a token for `resource` valid until `expiry` (Unix seconds).
pub(crate) fn sign_token(key_name: &str, key: &str, resource: &str, expiry: u64) -> String {
    let sr = encode(resource);
    let se = expiry.to_string();
    let sig = berth_emulator::sas::sign(key, &sr, &se);
    format!(
        "SharedAccessSignature sr={sr}&sig={}&se={se}&skn={}",
        encode(&sig),
        encode(key_name)
    )
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Percent-encodes like Python's `urllib.parse.quote_plus` (which is also
/// `application/x-www-form-urlencoded`): letters, digits and `_.-~` stay, space becomes `+`,
/// every other byte `%XX`.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed with Python: `quote_plus` + `hmac.new(b"abc+/=key", sr + "\n" + se, sha256)`.
    const PYTHON_VECTOR: &str = "SharedAccessSignature sr=sb%3A%2F%2Fmyns.servicebus.windows.net%2Forders%2FSubscriptions%2Faudit&sig=8pJXlNvBWN4DzzHUoiss7UA4DN0PAezse4dtnYK7O9Y%3D&se=1700000000&skn=Root+Key";

    #[test]
    fn signs_like_the_python_sdk() {
        let token = sign_token(
            "Root Key",
            "abc+/=key",
            "sb://myns.servicebus.windows.net/orders/Subscriptions/audit",
            1_700_000_000,
        );
        assert_eq!(token, PYTHON_VECTOR);
    }

    #[test]
    fn the_emulator_accepts_a_signed_token() {
        let now = SystemTime::now();
        let credential = Credential::Key {
            name: "rule".into(),
            key: "k3y".into(),
        };
        let token = token_for(&credential, "sb://localhost:5672/q", now);
        let rules = [berth_emulator::sas::SasRule::new("rule", "k3y")];
        let verified =
            berth_emulator::sas::verify(&token.token, "sb://localhost:5672/q", &rules, now);
        assert_eq!(verified, Ok("rule"));
        assert_eq!(
            token.expires_at,
            UNIX_EPOCH + Duration::from_secs(unix_seconds(now) + 3600)
        );
    }

    #[test]
    fn a_ready_made_signature_is_used_as_is() {
        let credential = Credential::Signature {
            token: "SharedAccessSignature sr=a&sig=b&se=10&skn=c".into(),
            expiry: 10,
        };
        let token = token_for(&credential, "sb://ns/q", SystemTime::now());
        assert_eq!(token.token, "SharedAccessSignature sr=a&sig=b&se=10&skn=c");
        assert_eq!(token.expires_at, UNIX_EPOCH + Duration::from_secs(10));
        assert!(!format!("{token:?}").contains("sig=b"));
    }
}
