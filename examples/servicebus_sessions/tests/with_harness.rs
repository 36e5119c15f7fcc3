//! The quickstart's functions in the test harness (`berth_host::testing`): the sample orders
//! go in, and each customer's steps come out in order, once each, while the malformed
//! message is dead-lettered with the reason the extractor gave.
#![allow(clippy::unwrap_used)]

use berth_host::message_file;
use berth_host::testing::TestHost;

const QUEUE: &str = "orders-with-sessions";

#[tokio::test]
async fn each_customer_s_steps_are_processed_in_order() {
    let mut app = TestHost::with(servicebus_sessions::host())
        .start()
        .await
        .unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-orders.jsonl");
    let orders = message_file::read(sample.as_ref()).unwrap();
    app.send_all(QUEUE, orders).await.unwrap();
    app.wait_settled(13).await.unwrap();

    for customer in ["cust-42", "cust-7", "cust-19"] {
        let steps = app.invocations("process_session_message", customer);
        let expected: Vec<String> = (1..=4).map(|n| format!("{customer}-{n}")).collect();
        assert_eq!(
            steps.message_ids(),
            expected,
            "{customer} in order, once each"
        );
        assert_eq!(steps.delivery_counts(), [1, 1, 1, 1]);
        assert_eq!(steps.settlements(), ["complete"; 4]);
        let numbers = steps.sequence_numbers();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    }

    let malformed = app.invocations("process_session_message", "cust-99");
    assert_eq!(malformed.settlements(), ["dead_letter"]);
    let dead = app.dead_letters(QUEUE).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id.as_deref(), Some("cust-99-1"));
    assert_eq!(
        dead[0].dead_letter_reason.as_deref(),
        Some("DeserializationFailed")
    );
    let description = dead[0].dead_letter_error_description.as_deref().unwrap();
    assert!(description.contains("OrderStep"), "{description}");

    let drained = app.stop().await.unwrap();
    assert_eq!((drained.aborted, drained.failed), (0, 0));
}
