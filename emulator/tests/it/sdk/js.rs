//! The official JS SDK (`@azure/service-bus` 7.9, installed by `scripts/install-sdks`)
//! against the embedded broker: one test per scenario script in `tests/sdk/js/`.

use super::harness::Sdk;
use super::scenarios;

scenario_tests!(Sdk::Js;
    session_roundtrip, abandon, defer, dead_letter, session_state, renew_session_lock, peek,
    schedule_cancel, lock_expiry, session_lock_lost, release_on_close, max_delivery, locked_session, no_session_id, wrong_key, listen_only,
    topic_fanout, receive_and_delete, full_batch, message_properties, session_subscription,
    duplicate_detection, auto_forward, entity_status, filtered_subscriptions, rule_manager,
);

/// Scenarios with SQL filters and actions.
mod sql_rules {
    use super::{scenarios, Sdk};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn filtered_subscriptions_sql() {
        scenarios::filtered_subscriptions_sql(Sdk::Js).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rule_manager_sql() {
        scenarios::rule_manager_sql(Sdk::Js).await;
    }
}
