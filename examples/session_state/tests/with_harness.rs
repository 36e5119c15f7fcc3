//! The running totals in the test harness (`berth_host::testing`): day 1's orders go in;
//! each customer's orders are processed in order, a transient failure is abandoned and
//! counted once on its redelivery, the invalid order is dead-lettered with `InvalidOrder`,
//! and the session state the broker holds has every customer's totals. After a restart of
//! the host on the same broker, day 2's orders continue those totals.
#![allow(clippy::unwrap_used)]

use berth_host::message_file;
use berth_host::testing::TestHost;

const QUEUE: &str = "customer-orders";

/// Sends the orders of `file` (in the example's directory).
async fn send_orders(app: &TestHost, file: &str) {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let orders = message_file::read(path.as_ref()).unwrap();
    app.send_all(QUEUE, orders).await.unwrap();
}

/// The session state as the app writes it (JSON), read back by the test.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Totals {
    orders: u32,
    amount_cents: i64,
    items: u32,
}

fn totals(orders: u32, amount_cents: i64, items: u32) -> Option<Totals> {
    Some(Totals {
        orders,
        amount_cents,
        items,
    })
}

#[tokio::test]
async fn totals_count_each_order_once_and_leave_out_the_invalid_one() {
    let mut app = TestHost::with(session_state::host()).start().await.unwrap();
    send_orders(&app, "orders-day-1.jsonl").await;
    // 7 orders settled for good; the two transient ones were abandoned once before.
    app.wait_settled(7).await.unwrap();

    let cust_1 = app.invocations("add_to_totals", "cust-1");
    assert_eq!(
        cust_1.message_ids(),
        [
            "cust-1-o-1",
            "cust-1-o-2",
            "cust-1-o-2",
            "cust-1-o-3",
            "cust-1-o-4"
        ]
    );
    assert_eq!(cust_1.delivery_counts(), [1, 1, 2, 1, 1]);
    assert_eq!(
        cust_1.settlements(),
        ["complete", "abandon", "complete", "dead_letter", "complete"]
    );
    assert_eq!(
        cust_1[1].error.as_deref(),
        Some("order o-2: the payment service timed out")
    );
    let cust_3 = app.invocations("add_to_totals", "cust-3");
    assert_eq!(cust_3.delivery_counts(), [1, 2]);
    assert_eq!(cust_3.settlements(), ["abandon", "complete"]);

    let state = |customer| app.session_state_json::<Totals>(QUEUE, customer).unwrap();
    assert_eq!(state("cust-1"), totals(3, 1250 + 800 + 2000, 2 + 1 + 3));
    assert_eq!(state("cust-2"), totals(2, 999 + 1, 1 + 1));
    assert_eq!(state("cust-3"), totals(1, 4500, 5));
    assert_eq!(state("cust-4"), None, "no order of cust-4 on day 1");

    let dead = app.dead_letters(QUEUE).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id.as_deref(), Some("cust-1-o-3"));
    assert_eq!(dead[0].dead_letter_reason.as_deref(), Some("InvalidOrder"));
    assert_eq!(
        dead[0].dead_letter_error_description.as_deref(),
        Some("order o-3 has a negative amount (-500 cents)")
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_totals_survive_a_restart_of_the_host() {
    let mut app = TestHost::with(session_state::host()).start().await.unwrap();
    send_orders(&app, "orders-day-1.jsonl").await;
    app.wait_settled(7).await.unwrap();

    // A new host (a deployment, a crash) on the same broker: day 2 continues day 1's totals.
    let drained = app.restart(session_state::host()).await.unwrap();
    assert_eq!(drained.aborted, 0);
    send_orders(&app, "orders-day-2.jsonl").await;
    app.wait_settled(7 + 3).await.unwrap();

    let cust_2 = app.invocations("add_to_totals", "cust-2");
    assert_eq!(
        cust_2.message_ids(),
        ["cust-2-o-1", "cust-2-o-2", "cust-2-o-3", "cust-2-o-3"]
    );
    assert_eq!(cust_2.delivery_counts(), [1, 1, 1, 2]);
    let state = |customer| app.session_state_json::<Totals>(QUEUE, customer).unwrap();
    assert_eq!(state("cust-1"), totals(4, 4050 + 950, 6 + 1));
    assert_eq!(state("cust-2"), totals(3, 1000 + 500, 2 + 2));
    assert_eq!(state("cust-3"), totals(1, 4500, 5));
    assert_eq!(state("cust-4"), totals(1, 300, 1));
    app.stop().await.unwrap();
}
