use fe2o3_amqp_types::primitives::{OrderedMap, Symbol, Value as Amqp};

use super::*;

fn amqp_map(entries: Vec<(&str, Amqp)>) -> Amqp {
    let mut m = OrderedMap::new();
    for (k, v) in entries {
        m.insert(Amqp::String(k.to_owned()), v);
    }
    Amqp::Map(m)
}

fn request(body: Amqp) -> Request {
    Request {
        message_id: None,
        reply_to: None,
        properties: OrderedMap::new(),
        body,
    }
}

fn add(name: &str, description: Amqp) -> Result<Rule, EntityError> {
    add_rule(&request(amqp_map(vec![
        ("rule-name", Amqp::String(name.into())),
        ("rule-description", description),
    ])))
}

#[test]
fn a_js_correlation_rule_with_nulls_and_properties() {
    let correlation = amqp_map(vec![
        ("correlation-id", Amqp::Null),
        ("message-id", Amqp::Null),
        ("to", Amqp::Null),
        ("reply-to", Amqp::Null),
        ("label", Amqp::String("created".into())),
        ("session-id", Amqp::Null),
        ("reply-to-session-id", Amqp::Null),
        ("content-type", Amqp::Symbol(Symbol::from("application/json"))),
        (
            "properties",
            amqp_map(vec![
                ("color", Amqp::String("red".into())),
                ("qty", Amqp::Int(3)),
            ]),
        ),
    ]);
    let rule = add("by-label", amqp_map(vec![("correlation-filter", correlation)])).unwrap();
    assert_eq!(rule.name, "by-label");
    assert!(rule.action.is_none());
    let Filter::Correlation(c) = rule.filter else {
        panic!("not a correlation filter: {:?}", rule.filter);
    };
    assert_eq!(c.label.as_deref(), Some("created"));
    assert_eq!(c.content_type.as_deref(), Some("application/json"));
    assert_eq!(c.correlation_id, None);
    assert_eq!(
        c.properties,
        vec![
            ("color".to_owned(), Value::String("red".into())),
            ("qty".to_owned(), Value::Long(3)),
        ]
    );
}

#[test]
fn the_dotnet_true_and_false_filters_are_sql_one_equals_one_or_zero() {
    let sql = |e: &str| {
        amqp_map(vec![
            ("sql-filter", amqp_map(vec![("expression", Amqp::String(e.into()))])),
            ("sql-rule-action", Amqp::Null),
            ("rule-name", Amqp::String("ignored".into())),
        ])
    };
    assert!(matches!(add("t", sql("1=1")).unwrap().filter, Filter::True));
    assert!(matches!(add("f", sql("1=0")).unwrap().filter, Filter::False));
}

#[test]
fn malformed_requests_are_argument_errors() {
    let bad = |description: Amqp| {
        let error = add("r", description).unwrap_err();
        assert_eq!((error.status_code(), error.condition()), (400, "com.microsoft:argument-error"));
        error.to_string()
    };
    assert!(bad(Amqp::Null).contains("rule-description"));
    assert!(bad(amqp_map(vec![])).contains("sql-filter"));
    let empty_correlation = amqp_map(vec![("correlation-filter", amqp_map(vec![]))]);
    assert!(bad(empty_correlation).contains("at least one"));
    let label_number = amqp_map(vec![(
        "correlation-filter",
        amqp_map(vec![("label", Amqp::Int(1))]),
    )]);
    assert!(bad(label_number).contains("'label'"));
    let name = add(
        "a/b",
        amqp_map(vec![(
            "correlation-filter",
            amqp_map(vec![("label", Amqp::String("x".into()))]),
        )]),
    )
    .unwrap_err();
    assert!(name.to_string().contains("not valid"), "{name}");
}

#[test]
fn a_refused_sql_expression_says_where() {
    let description = amqp_map(vec![(
        "sql-filter",
        amqp_map(vec![("expression", Amqp::String("color = = 'red'".into()))]),
    )]);
    let error = add("r", description).unwrap_err();
    assert_eq!(error.status_code(), 400);
    let text = error.to_string();
    assert!(text.contains("line 1, column"), "{text}");
}

fn list_of(value: &Amqp) -> (u64, &[Amqp]) {
    match value {
        Amqp::Described(d) => match (&d.descriptor, &d.value) {
            (Descriptor::Code(code), Amqp::List(items)) => (*code, items.as_slice()),
            other => panic!("not a coded list: {other:?}"),
        },
        other => panic!("not described: {other:?}"),
    }
}

#[test]
fn enumerated_rules_are_described_lists() {
    let correlation = CorrelationFilter {
        session_id: Some("s".into()),
        properties: vec![("n".into(), Value::Long(1))],
        ..CorrelationFilter::default()
    };
    let rule = Rule::new("c", Filter::Correlation(correlation), None).unwrap();
    let Amqp::Map(entry) = described(&rule) else {
        panic!("not a map");
    };
    let description = field(&entry, "rule-description").unwrap();
    let (code, fields) = list_of(description);
    assert_eq!(code, RULE_DESCRIPTION);
    assert_eq!(fields[2], Amqp::String("c".into()));
    let (filter_code, filter) = list_of(&fields[0]);
    assert_eq!(filter_code, CORRELATION_FILTER);
    assert_eq!(filter.len(), 9);
    assert_eq!(filter[5], Amqp::String("s".into()));
    assert_eq!(filter[0], Amqp::Null);
    assert_eq!(list_of(&fields[1]), (EMPTY_RULE_ACTION, &[][..]));
    let default = described(&Rule::default_rule());
    let Amqp::Map(entry) = default else { panic!() };
    let (_, fields) = list_of(field(&entry, "rule-description").unwrap());
    assert_eq!(list_of(&fields[0]).0, TRUE_FILTER);
    assert_eq!(fields[2], Amqp::String("$Default".into()));
}
