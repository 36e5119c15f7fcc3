//! CBS against a broker that checks SAS signatures: the right key is accepted, a wrong key
//! is refused with the broker's reason.
#![allow(clippy::unwrap_used)]

use berth::Message;
use berth_emulator::broker::Broker;
use berth_emulator::rights::parse_rule;
use berth_host::servicebus::{ConnectionString, ServiceBusClient};

use crate::servicebus_support;
use servicebus_support::*;

#[tokio::test]
async fn tokens_signed_with_the_rule_key_are_accepted_and_others_refused() {
    let broker = Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml(ENTITIES)
        .unwrap()
        .sas_rule("Root", "the-real-key")
        .start()
        .await
        .unwrap();
    let good = client(&broker).await;
    good.sender("plain")
        .send(&Message::with_body("signed"))
        .await
        .unwrap();
    assert_eq!(counts(&broker, "plain").active, 1);

    let wrong = broker
        .connection_string()
        .replace("the-real-key", "a-wrong-key");
    let bad = ServiceBusClient::connect(ConnectionString::parse(&wrong).unwrap())
        .await
        .unwrap();
    let err = bad
        .sender("plain")
        .send(&Message::with_body("unsigned"))
        .await
        .unwrap_err();
    assert!(err.message.contains("refused the token"), "{err}");
    assert_eq!(counts(&broker, "plain").active, 1);
    good.close().await;
    bad.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_rule_s_rights_decide_what_its_tokens_may_do() {
    let broker = Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml(ENTITIES)
        .unwrap()
        .rule(parse_rule("Root=root-key").unwrap())
        .rule(parse_rule("reader=reader-key:Listen").unwrap())
        .rule(parse_rule("writer=writer-key:Send").unwrap())
        .start()
        .await
        .unwrap();
    let as_rule = |name: &str, key: &str| {
        let cs = broker
            .connection_string()
            .replace(
                "SharedAccessKeyName=Root",
                &format!("SharedAccessKeyName={name}"),
            )
            .replace("root-key", key);
        ServiceBusClient::connect(ConnectionString::parse(&cs).unwrap())
    };
    let writer = as_rule("writer", "writer-key").await.unwrap();
    writer
        .sender("plain")
        .send(&Message::with_body("sent with Send"))
        .await
        .unwrap();
    assert_eq!(counts(&broker, "plain").active, 1);
    let err = writer.peek("plain", 1, 10, None).await.unwrap_err();
    assert!(
        err.message.contains("amqp:unauthorized-access")
            && err.message.contains("'Listen' claim(s) are required"),
        "{err}"
    );

    let reader = as_rule("reader", "reader-key").await.unwrap();
    let peeked = reader.peek("plain", 1, 10, None).await.unwrap();
    assert_eq!(peeked.len(), 1, "Listen may peek");
    let err = reader
        .sender("plain")
        .send(&Message::with_body("not allowed"))
        .await
        .unwrap_err();
    assert!(
        err.message.contains("amqp:unauthorized-access")
            && err.message.contains("'Send' claim(s) are required"),
        "{err}"
    );
    assert_eq!(counts(&broker, "plain").active, 1);
    let again = reader.peek("plain", 1, 10, None).await.unwrap();
    assert_eq!(
        again.len(),
        1,
        "the connection still works after the refusal"
    );
    writer.close().await;
    reader.close().await;
    broker.shutdown().await;
}
