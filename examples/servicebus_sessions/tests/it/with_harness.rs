//! The quickstart's functions in the test harness (`berth_host::testing`): the sample orders
//! go in, and each customer's steps come out in order, once each, while the malformed
//! message is dead-lettered with the reason the extractor gave. The first test is the one
//! the README's "Test your functions" shows (the second checks that it still is).

use berth_host::message_file;
use berth_host::testing::TestHost;

#[tokio::test]
async fn each_customer_s_steps_are_processed_in_order() -> Result<(), Box<dyn std::error::Error>> {
    let mut app = TestHost::with(servicebus_sessions::host()).start().await?;
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-orders.jsonl");
    app.send_all("orders-with-sessions", message_file::read(sample.as_ref())?)
        .await?;
    app.wait_settled(13).await?;

    for customer in ["cust-42", "cust-7", "cust-19"] {
        let steps = app.invocations("process_session_message", customer);
        let expected: Vec<String> = (1..=4).map(|n| format!("{customer}-{n}")).collect();
        assert_eq!(
            steps.message_ids(),
            expected,
            "{customer}: in order, once each"
        );
        assert_eq!(steps.delivery_counts(), [1, 1, 1, 1]);
        assert_eq!(steps.settlements(), ["complete"; 4]);
    }
    let dead = app.dead_letters("orders-with-sessions").await?;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id.as_deref(), Some("cust-99-1"));
    assert_eq!(
        dead[0].dead_letter_reason.as_deref(),
        Some("DeserializationFailed")
    );
    let drained = app.stop().await?;
    assert_eq!(drained.aborted, 0);
    Ok(())
}

#[test]
fn the_readme_shows_the_test_above() {
    let this_file = include_str!("with_harness.rs");
    let start = this_file.find("#[tokio::test]").expect("the test");
    let end = start + this_file[start..].find("\n}\n").expect("its end") + 3;
    let readme = include_str!("../../../../README.md");
    assert!(
        readme.contains(&this_file[start..end]),
        "README.md's \"Test your functions\" must show this file's first test as it is:\n{}",
        &this_file[start..end]
    );
}
