use berth::{ApplicationPropertyMap, PropertyValue};

use super::*;

fn props() -> ApplicationPropertyMap {
    [("attempt".to_string(), PropertyValue::Long(2))]
        .into_iter()
        .collect()
}

fn field<'a>(fields: &'a definitions::Fields, key: &str) -> Option<&'a Value> {
    fields.get(&Symbol::from(key))
}

#[test]
fn complete_is_accepted() {
    assert!(matches!(
        outcome(&Settlement::Complete),
        TerminalDeliveryState::Accepted(_)
    ));
}

#[test]
fn abandon_is_modified_and_redeliverable_here() {
    let TerminalDeliveryState::Modified(m) = outcome(&Settlement::Abandon {
        properties_to_modify: props(),
    }) else {
        panic!("abandon must be modified")
    };
    assert_eq!(m.delivery_failed, Some(true));
    assert_eq!(m.undeliverable_here, Some(false));
    let annotations = m.message_annotations.unwrap();
    assert_eq!(field(&annotations, "attempt"), Some(&Value::Long(2)));
    let TerminalDeliveryState::Modified(m) = outcome(&Settlement::abandon()) else {
        panic!("abandon must be modified")
    };
    assert_eq!(m.message_annotations, None);
}

#[test]
fn defer_is_modified_undeliverable_here() {
    let TerminalDeliveryState::Modified(m) = outcome(&Settlement::defer()) else {
        panic!("defer must be modified")
    };
    assert_eq!(m.undeliverable_here, Some(true));
    assert_eq!(m.delivery_failed, None);
}

#[test]
fn dead_letter_is_rejected_with_reason_and_description() {
    let settlement = Settlement::DeadLetter {
        reason: "Poison".into(),
        description: "bad json".into(),
        properties_to_modify: props(),
    };
    let TerminalDeliveryState::Rejected(r) = outcome(&settlement) else {
        panic!("dead-letter must be rejected")
    };
    let error = r.error.unwrap();
    assert_eq!(
        error.condition,
        ErrorCondition::Custom(Symbol::from("com.microsoft:dead-letter"))
    );
    assert_eq!(error.description.as_deref(), Some("bad json"));
    let info = error.info.unwrap();
    assert_eq!(
        field(&info, "DeadLetterReason"),
        Some(&Value::String("Poison".into()))
    );
    assert_eq!(
        field(&info, "DeadLetterErrorDescription"),
        Some(&Value::String("bad json".into()))
    );
    assert_eq!(field(&info, "attempt"), Some(&Value::Long(2)));
}

#[test]
fn update_disposition_bodies() {
    let get =
        |body: &OrderedMap<Value, Value>, k: &str| body.get(&Value::String(k.into())).cloned();
    let token = [1u8; 16];
    let body = update_disposition_body(&Settlement::Complete, token, Some("s1"));
    assert_eq!(
        get(&body, "disposition-status"),
        Some(Value::String("completed".into()))
    );
    assert_eq!(
        get(&body, "lock-tokens"),
        Some(Value::Array(Array::from(vec![Value::Uuid(Uuid::from(
            token
        ))])))
    );
    assert_eq!(get(&body, "session-id"), Some(Value::String("s1".into())));
    assert_eq!(get(&body, "properties-to-modify"), None);

    let body = update_disposition_body(&Settlement::dead_letter("r", "d"), token, None);
    assert_eq!(
        get(&body, "disposition-status"),
        Some(Value::String("suspended".into()))
    );
    assert_eq!(
        get(&body, "deadletter-reason"),
        Some(Value::String("r".into()))
    );
    assert_eq!(
        get(&body, "deadletter-description"),
        Some(Value::String("d".into()))
    );
    assert_eq!(get(&body, "session-id"), None);

    let body = update_disposition_body(
        &Settlement::Defer {
            properties_to_modify: props(),
        },
        token,
        None,
    );
    assert_eq!(
        get(&body, "disposition-status"),
        Some(Value::String("defered".into()))
    );
    let Some(Value::Map(modified)) = get(&body, "properties-to-modify") else {
        panic!("properties-to-modify must be a map")
    };
    assert_eq!(
        modified.get(&Value::String("attempt".into())),
        Some(&Value::Long(2))
    );
    assert_eq!(disposition_status(&Settlement::abandon()), "abandoned");
}
