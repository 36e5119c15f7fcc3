//! The topic's subscriptions in the test harness (`berth_host::testing`): the sample order
//! events are published to the topic once, and each subscription's function sees every
//! order's events, in order, once each, independently of the other.
#![allow(clippy::unwrap_used)]

use berth_host::message_file;
use berth_host::testing::TestHost;

#[tokio::test]
async fn every_subscription_sees_each_order_s_events_in_order() {
    let mut app = TestHost::with(topic_sessions::host())
        .start()
        .await
        .unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-order-events.jsonl");
    app.send_all("orders", message_file::read(sample.as_ref()).unwrap())
        .await
        .unwrap();
    // 12 events, each copied to both subscriptions.
    app.wait_settled(24).await.unwrap();

    for function in ["bill_order", "ship_order"] {
        for order in ["order-1001", "order-1002", "order-1003"] {
            let events = app.invocations(function, order);
            let expected: Vec<String> = (1..=4).map(|n| format!("{order}-{n}")).collect();
            assert_eq!(events.message_ids(), expected, "{function} {order}");
            assert_eq!(events.settlements(), ["complete"; 4], "{function} {order}");
            assert_eq!(events.delivery_counts(), [1; 4], "{function} {order}");
        }
        assert_eq!(app.invocations_of(function).len(), 12, "{function}");
    }
    // Both copies of a message carry the topic's sequence number.
    assert_eq!(
        app.invocations("bill_order", "order-1002")
            .sequence_numbers(),
        app.invocations("ship_order", "order-1002")
            .sequence_numbers()
    );
    for subscription in [
        "orders/Subscriptions/billing",
        "orders/Subscriptions/shipping",
    ] {
        assert!(app.dead_letters(subscription).await.unwrap().is_empty());
        assert!(app.peek(subscription).await.unwrap().is_empty());
    }
    app.stop().await.unwrap();
}
