//! Unit tests of `$cbs` put-token and of the grants' rights and expiry.

use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Value};

use super::*;

fn put(audience: &str, kind: &str, token: &str) -> Request {
    let mut properties = OrderedMap::new();
    properties.insert(
        "operation".to_owned(),
        SimpleValue::String("put-token".into()),
    );
    properties.insert("type".to_owned(), SimpleValue::String(kind.into()));
    properties.insert("name".to_owned(), SimpleValue::String(audience.into()));
    Request {
        message_id: None,
        reply_to: None,
        properties,
        body: Value::String(token.into()),
    }
}

fn token(resource: &str, key: &str) -> String {
    let sig = sas::sign(key, resource, "4102444800")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("SharedAccessSignature sr={resource}&sig={sig}&se=4102444800&skn=root")
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_900_000_000)
}

fn allows(auth: &Authorizations, path: &str) -> bool {
    auth.check(path, None, now()).is_ok()
}

fn enforced() -> Authorizations {
    Authorizations::new(Arc::from(vec![SasRule::new("root", "key")]))
}

#[test]
fn valid_token_is_accepted_with_202_and_authorises_its_entity() {
    let mut auth = enforced();
    assert!(!allows(&auth, "q"));
    let outcome = auth.put_token(
        &put(
            "sb://h/q",
            "servicebus.windows.net:sastoken",
            &token("sb%3A%2F%2Fh%2Fq", "key"),
        ),
        now(),
    );
    assert_eq!(outcome, accepted());
    assert!(allows(&auth, "q") && allows(&auth, "Q/$management"));
    assert!(!allows(&auth, "other"));
}

#[test]
fn wrong_key_is_refused_with_401_and_closes() {
    let mut auth = enforced();
    let outcome = auth.put_token(
        &put(
            "sb://h/q",
            "servicebus.windows.net:sastoken",
            &token("sb%3A%2F%2Fh%2Fq", "wrong"),
        ),
        now(),
    );
    assert_eq!(outcome.status.code, 401);
    assert_eq!(
        outcome.status.condition.as_deref(),
        Some("amqp:unauthorized-access")
    );
    assert!(outcome.close);
    assert!(!allows(&auth, "q"));
}

#[test]
fn sas_token_sent_with_type_jwt_is_verified_as_sas() {
    let mut auth = enforced();
    let outcome = auth.put_token(
        &put("sb://h/q", "jwt", &token("sb%3A%2F%2Fh%2Fq", "key")),
        now(),
    );
    assert_eq!(outcome, accepted());
}

#[test]
fn jwt_is_refused_when_keys_are_configured_but_accepted_in_dev_mode() {
    assert_eq!(
        enforced()
            .put_token(&put("sb://h/q", "jwt", "eyJ..."), now())
            .status
            .code,
        401
    );
    let mut dev = Authorizations::new(Arc::from(Vec::new()));
    assert_eq!(
        dev.put_token(&put("sb://h/q", "jwt", "eyJ..."), now()),
        accepted()
    );
    assert!(allows(&dev, "anything"));
}

#[test]
fn dev_jwts_authorise_their_audience_and_bad_ones_get_401() {
    let claims = |aud: &str, exp: u64| serde_json::json!({"aud": aud, "exp": exp});
    let good = dev_jwt::unsigned(&claims("https://servicebus.azure.net", 1_900_000_060));
    let mut auth = enforced().with_dev_jwt(true);
    assert_eq!(
        auth.put_token(&put("sb://h/q", "jwt", &good), now()),
        accepted()
    );
    assert!(allows(&auth, "q") && !allows(&auth, "other"));
    let sas = token("sb%3A%2F%2Fh%2Fother", "key");
    assert_eq!(
        auth.put_token(&put("sb://h/other", "jwt", &sas), now()),
        accepted()
    );

    let expired = dev_jwt::unsigned(&claims("https://servicebus.azure.net", 1_899_999_999));
    let wrong_aud = dev_jwt::unsigned(&claims("https://vault.azure.net", 1_900_000_060));
    for (token, text) in [
        (expired, "ExpiredToken"),
        (wrong_aud, "InvalidAudience"),
        ("a.b.c".to_owned(), "malformed"),
    ] {
        let mut dev = Authorizations::new(Arc::from(Vec::new())).with_dev_jwt(true);
        let outcome = dev.put_token(&put("sb://h/q", "jwt", &token), now());
        assert_eq!(outcome.status.code, 401);
        assert!(outcome.close);
        assert!(
            outcome.status.description.contains(text),
            "{:?}",
            outcome.status
        );
    }
}

#[test]
fn rights_follow_the_signing_rule_and_claims_are_checked_per_operation() {
    let rules = vec![
        SasRule::new("root", "key"),
        SasRule::new("reader", "r-key").with_rights(Rights::parse("Listen").unwrap()),
    ];
    let mut auth = Authorizations::new(Arc::from(rules));
    let reader = token("sb%3A%2F%2Fh%2Fq", "r-key").replace("skn=root", "skn=reader");
    let put_reader = put("sb://h/q", "servicebus.windows.net:sastoken", &reader);
    assert_eq!(auth.put_token(&put_reader, now()), accepted());
    assert!(auth.check("q", Some(Right::Listen), now()).is_ok());
    assert!(auth.check("q/$management", None, now()).is_ok());
    let denied = auth.check("q", Some(Right::Send), now()).unwrap_err();
    let text = denied.to_string();
    assert!(
        text.contains("Unauthorized access. 'Send' claim(s) are required to perform this operation. Resource: 'sb://h/q'."),
        "{text}"
    );
    assert_eq!(denied.expired_at, None);
    // A fresh token from a rule with more rights replaces the grant.
    let root = put(
        "sb://h/q",
        "servicebus.windows.net:sastoken",
        &token("sb%3A%2F%2Fh%2Fq", "key"),
    );
    assert_eq!(auth.put_token(&root, now()), accepted());
    assert!(auth.check("q", Some(Right::Manage), now()).is_ok());
}

#[test]
fn a_grant_ends_at_its_token_expiry_unless_a_fresh_token_is_put() {
    let mut auth = enforced();
    let soon = |se: u64| {
        let sig = sas::sign("key", "sb%3A%2F%2Fh%2Fq", &se.to_string())
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        format!("SharedAccessSignature sr=sb%3A%2F%2Fh%2Fq&sig={sig}&se={se}&skn=root")
    };
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    let first = put(
        "sb://h/q",
        "servicebus.windows.net:sastoken",
        &soon(1_900_000_010),
    );
    assert_eq!(auth.put_token(&first, now()), accepted());
    assert_eq!(auth.next_expiry(now()), Some(at(1_900_000_010)));
    assert!(auth
        .check("q", Some(Right::Send), at(1_900_000_009))
        .is_ok());
    let lapsed = auth
        .check("q", Some(Right::Send), at(1_900_000_010))
        .unwrap_err();
    assert_eq!(lapsed.expired_at, Some(1_900_000_010));
    assert!(lapsed.to_string().starts_with("ExpiredToken"), "{lapsed}");
    let fresh = put(
        "sb://h/q",
        "servicebus.windows.net:sastoken",
        &soon(1_900_000_100),
    );
    assert_eq!(auth.put_token(&fresh, at(1_900_000_005)), accepted());
    assert!(auth
        .check("q", Some(Right::Send), at(1_900_000_050))
        .is_ok());
    assert_eq!(auth.next_expiry(at(1_900_000_050)), Some(at(1_900_000_100)));
}

#[test]
fn other_operations_are_not_implemented() {
    let mut request = put("a", "servicebus.windows.net:sastoken", "t");
    request.properties.insert(
        "operation".to_owned(),
        SimpleValue::String("delete-token".into()),
    );
    let outcome = enforced().put_token(&request, now());
    assert_eq!(outcome.status.code, 400);
    assert!(!outcome.close);
}
