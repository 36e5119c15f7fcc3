use std::time::{Duration, UNIX_EPOCH};

use super::*;

const KEY_NAME: &str = "RootManageSharedAccessKey";
const KEY: &str = "k3y+/=~*";
const AUDIENCE: &str = "sb://127.0.0.1:5672/my queue/Subscriptions/sub(1)!";
const EXPIRY: u64 = 4_102_444_800;

/// What `azure.servicebus._pyamqp.utils.generate_sas_token` (quote_plus) produced for
/// `AUDIENCE`, `KEY_NAME`, `KEY`, `EXPIRY`.
const PYTHON_TOKEN: &str = "SharedAccessSignature sr=sb%3A%2F%2F127.0.0.1%3A5672%2Fmy+queue%2FSubscriptions%2Fsub%281%29%21&sig=T8EWgQ29rBcxvBuLlU%2Bz6CZT3TMSb0EQowZM0a4jqms%3D&se=4102444800&skn=RootManageSharedAccessKey";
/// What `@azure/core-amqp`'s `createSasTokenProvider` (encodeURIComponent) produced for the same.
const JS_TOKEN: &str = "SharedAccessSignature sr=sb%3A%2F%2F127.0.0.1%3A5672%2Fmy%20queue%2FSubscriptions%2Fsub(1)!&sig=%2BqVU0Gzq9mUS7ykvEcqfW3mlqZ0MjCVJ09HljPSZulU%3D&se=4102444800&skn=RootManageSharedAccessKey";

fn rules() -> Vec<SasRule> {
    vec![
        SasRule::new("listen-only", "other"),
        SasRule::new(KEY_NAME, KEY),
    ]
}

fn before_expiry() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EXPIRY - 10)
}

#[test]
fn parses_python_token_fields() {
    let token = parse(PYTHON_TOKEN).unwrap();
    assert_eq!(token.resource, AUDIENCE);
    assert_eq!(token.key_name, KEY_NAME);
    assert_eq!(token.expiry, EXPIRY);
    assert_eq!(
        token.signature,
        "T8EWgQ29rBcxvBuLlU+z6CZT3TMSb0EQowZM0a4jqms="
    );
}

#[test]
fn python_and_js_tokens_verify_although_encoded_differently() {
    assert_ne!(
        parse(PYTHON_TOKEN).unwrap().raw_resource,
        parse(JS_TOKEN).unwrap().raw_resource
    );
    for token in [PYTHON_TOKEN, JS_TOKEN] {
        assert_eq!(
            verify(token, AUDIENCE, &rules(), before_expiry()),
            Ok(KEY_NAME)
        );
    }
}

#[test]
fn field_order_does_not_matter() {
    let reordered = "SharedAccessSignature skn=RootManageSharedAccessKey&se=4102444800&sig=T8EWgQ29rBcxvBuLlU%2Bz6CZT3TMSb0EQowZM0a4jqms%3D&sr=sb%3A%2F%2F127.0.0.1%3A5672%2Fmy+queue%2FSubscriptions%2Fsub%281%29%21";
    assert_eq!(
        verify(reordered, AUDIENCE, &rules(), before_expiry()),
        Ok(KEY_NAME)
    );
}

#[test]
fn wrong_key_is_an_invalid_signature() {
    let rules = vec![SasRule::new(KEY_NAME, "not-the-key")];
    assert_eq!(
        verify(JS_TOKEN, AUDIENCE, &rules, before_expiry()),
        Err(SasError::InvalidSignature)
    );
}

#[test]
fn tampered_expiry_is_an_invalid_signature() {
    let tampered = PYTHON_TOKEN.replace("se=4102444800", "se=4102444801");
    assert_eq!(
        verify(&tampered, AUDIENCE, &rules(), before_expiry()),
        Err(SasError::InvalidSignature)
    );
}

#[test]
fn unknown_key_name_is_refused() {
    let token = JS_TOKEN.replace("skn=RootManageSharedAccessKey", "skn=Nobody");
    assert_eq!(
        verify(&token, AUDIENCE, &rules(), before_expiry()),
        Err(SasError::UnknownKeyName("Nobody".into()))
    );
}

#[test]
fn expired_token_is_refused() {
    let after = UNIX_EPOCH + Duration::from_secs(EXPIRY + 1);
    assert_eq!(
        verify(PYTHON_TOKEN, AUDIENCE, &rules(), after),
        Err(SasError::Expired { expiry: EXPIRY })
    );
}

#[test]
fn token_for_one_entity_does_not_cover_another() {
    let err = verify(
        PYTHON_TOKEN,
        "sb://127.0.0.1:5672/other",
        &rules(),
        before_expiry(),
    )
    .unwrap_err();
    assert!(matches!(err, SasError::ResourceMismatch { .. }), "{err:?}");
}

#[test]
fn entity_token_covers_its_management_node_and_ignores_scheme_host_and_case() {
    let audience = "amqps://localhost/MY QUEUE/subscriptions/SUB(1)!/$management";
    assert_eq!(
        verify(JS_TOKEN, audience, &rules(), before_expiry()),
        Ok(KEY_NAME)
    );
}

#[test]
fn namespace_token_covers_every_entity() {
    let raw_resource = "sb%3A%2F%2Flocalhost%2F";
    let sig = sign(KEY, raw_resource, "4102444800")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let token =
        format!("SharedAccessSignature sr={raw_resource}&sig={sig}&se=4102444800&skn={KEY_NAME}");
    assert_eq!(
        verify(&token, "sb://localhost/q1", &rules(), before_expiry()),
        Ok(KEY_NAME)
    );
}

#[test]
fn resource_prefix_must_end_at_a_segment() {
    assert!(resource_covers("sb://h/queue", "sb://h/queue/$management"));
    assert!(!resource_covers("sb://h/queue", "sb://h/queue2"));
}

#[test]
fn malformed_tokens_give_clear_errors() {
    let cases = [
        ("Bearer abc", "does not start"),
        ("SharedAccessSignaturesr=x", "followed by a space"),
        ("SharedAccessSignature sr=a&se=1&skn=k", "'sig' is missing"),
        (
            "SharedAccessSignature sr=a&sig=b&se=soon&skn=k",
            "not a number",
        ),
        (
            "SharedAccessSignature sr=%zz&sig=b&se=1&skn=k",
            "bad %-escape",
        ),
        (
            "SharedAccessSignature sr=a&sr=b&sig=b&se=1&skn=k",
            "appears twice",
        ),
        ("SharedAccessSignature sr&sig=b&se=1&skn=k", "has no '='"),
    ];
    for (token, expected) in cases {
        let err = parse(token).unwrap_err();
        assert!(err.to_string().contains(expected), "{token}: {err}");
    }
}

#[test]
fn debug_output_hides_the_key() {
    assert!(!format!("{:?}", SasRule::new("n", "secret-key")).contains("secret-key"));
}
