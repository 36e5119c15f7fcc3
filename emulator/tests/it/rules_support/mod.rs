//! What the subscription-rule tests share: encoded messages with a subject and a `color`
//! property, draining a subscription, correlation rules, a topic with one ruled subscription.
#![allow(dead_code, clippy::unwrap_used)]

use berth_emulator::entity::{EntityOptions, Namespace, NewMessage, ReceiveMode};
use berth_emulator::filter::{CorrelationFilter, Filter, Rule, RuleSet, Value};
use fe2o3_amqp_types::messaging::message::__private::{Deserializable, Serializable};
use fe2o3_amqp_types::messaging::{ApplicationProperties, Body, Message, Properties};
use fe2o3_amqp_types::primitives::{SimpleValue, Value as Amqp};

/// An encoded message with body `body`, subject `label` and user property `color`.
pub fn message(body: &str, label: Option<&str>, color: Option<&str>) -> NewMessage {
    let mut app = ApplicationProperties::builder();
    if let Some(color) = color {
        app = app.insert("color", SimpleValue::String(color.into()));
    }
    let message = Message::builder()
        .properties(Properties {
            message_id: Some(String::from(body).into()),
            subject: label.map(str::to_owned),
            ..Properties::default()
        })
        .application_properties(app.build())
        .value(Amqp::String(body.into()))
        .build();
    NewMessage::new(serde_amqp::to_vec(&Serializable(message)).unwrap())
}

pub fn body_of(raw: &[u8]) -> String {
    let m: Deserializable<Message<Body<Amqp>>> = serde_amqp::from_slice(raw).unwrap();
    match m.0.body {
        Body::Value(v) => match v.0 {
            Amqp::String(s) => s,
            other => panic!("unexpected body {other:?}"),
        },
        other => panic!("unexpected body {other:?}"),
    }
}

/// Bodies waiting in a subscription, taken with receive-and-delete.
pub fn drain(ns: &Namespace, path: &str) -> Vec<String> {
    let h = ns.receiver(path).unwrap();
    let mut out = Vec::new();
    while let Some(m) = h.try_receive(ReceiveMode::ReceiveAndDelete, None).unwrap() {
        out.push(body_of(&m.body));
    }
    out
}

pub fn by_label(name: &str, label: &str) -> Rule {
    let filter = Filter::Correlation(CorrelationFilter {
        label: Some(label.into()),
        ..CorrelationFilter::default()
    });
    Rule::new(name, filter, None).unwrap()
}

pub fn by_color(name: &str, color: &str) -> Rule {
    let filter = Filter::Correlation(CorrelationFilter {
        properties: vec![("color".into(), Value::String(color.into()))],
        ..CorrelationFilter::default()
    });
    Rule::new(name, filter, None).unwrap()
}

pub fn names(rules: &[Rule]) -> Vec<&str> {
    rules.iter().map(|r| r.name.as_str()).collect()
}

pub const SUB: &str = "events/Subscriptions/s";

pub fn with_rules(rules: Vec<Rule>) -> Namespace {
    let ns = Namespace::in_memory();
    ns.create_topic("events").unwrap();
    let set = RuleSet::of(rules).unwrap();
    ns.create_subscription_with_rules("events", "s", EntityOptions::default(), set)
        .unwrap();
    ns
}

pub async fn send_three(ns: &Namespace) {
    let sender = ns.sender("events").unwrap();
    sender
        .send_batch(&[
            message("m1", Some("created"), Some("red")),
            message("m2", Some("deleted"), Some("blue")),
            message("m3", None, None),
        ])
        .await
        .unwrap();
}
