//! CBS against a broker that checks SAS signatures: the right key is accepted, a wrong key
//! is refused with the broker's reason.
#![allow(clippy::unwrap_used)]

use berth::Message;
use berth_emulator::broker::Broker;
use berth_host::servicebus::{ConnectionString, ServiceBusClient};

mod servicebus_support;
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
