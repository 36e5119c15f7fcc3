//! Entity definitions from TOML and humane durations.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use berth_emulator::entity::{parse_duration, EntitiesConfig, EntityOptions, Namespace};

#[test]
fn durations_accept_units_iso_and_timespans() {
    let cases = [
        ("60s", 60_000),
        ("5m", 300_000),
        ("1h30m", 5_400_000),
        ("250ms", 250),
        ("1.5s", 1_500),
        ("PT1M", 60_000),
        ("P1DT2H", 93_600_000),
        ("pt0.5s", 500),
        ("00:01:00", 60_000),
        ("1.02:03:04.5", 93_784_500),
    ];
    for (text, ms) in cases {
        assert_eq!(
            parse_duration(text),
            Ok(Duration::from_millis(ms)),
            "{text}"
        );
    }
    for bad in ["", "60", "5 parsecs", "P1Y", "00:61:00", "PT"] {
        let err = parse_duration(bad).unwrap_err();
        assert!(
            err.contains("\"60s\""),
            "the error lists the formats: {err}"
        );
    }
}

#[test]
fn config_parses_queues_topics_and_subscriptions() {
    let text = r#"
        [[queues]]
        name = "orders"
        requires_session = true
        lock_duration = "30s"
        max_delivery_count = 5

        [[queues]]
        name = "plain"

        [[topics]]
        name = "events"
        [[topics.subscriptions]]
        name = "audit"
        default_message_time_to_live = "PT1H"
        dead_lettering_on_message_expiration = true
    "#;
    let config = EntitiesConfig::from_toml(text).unwrap();
    let orders = config.queues[0].options();
    assert!(orders.requires_session);
    assert_eq!(orders.lock_duration, Duration::from_secs(30));
    assert_eq!(orders.max_delivery_count, 5);
    assert_eq!(config.queues[1].options(), EntityOptions::default());
    let audit = config.topics[0].subscriptions[0].options();
    assert_eq!(
        audit.default_message_time_to_live,
        Duration::from_secs(3600)
    );
    assert!(audit.dead_lettering_on_message_expiration);
}

#[test]
fn config_refuses_unknown_keys_and_bad_durations_with_their_line() {
    let err =
        EntitiesConfig::from_toml("[[queues]]\nname = \"a\"\nlock_duraton = \"5s\"\n").unwrap_err();
    assert!(
        err.contains("lock_duraton") && err.contains("line 3"),
        "{err}"
    );
    let err = EntitiesConfig::from_toml("[[queues]]\nname = \"a\"\nlock_duration = \"soon\"\n")
        .unwrap_err();
    assert!(
        err.contains("invalid duration `soon`: expected a number at `soon`")
            && err.contains("line 3"),
        "{err}"
    );
}

#[tokio::test]
async fn apply_config_creates_missing_entities_and_validates_options() {
    let ns = Namespace::in_memory();
    ns.create_queue("orders", EntityOptions::default()).unwrap();
    let config = EntitiesConfig::from_toml(
        "[[queues]]\nname = \"orders\"\n[[queues]]\nname = \"new\"\n[[topics]]\nname = \"t\"\n[[topics.subscriptions]]\nname = \"s\"\n",
    )
    .unwrap();
    ns.apply_config(&config).unwrap().wait().await.unwrap();
    ns.apply_config(&config).unwrap();
    let paths: Vec<String> = ns.entities().into_iter().map(|e| e.path).collect();
    assert_eq!(paths, vec!["new", "orders", "t", "t/Subscriptions/s"]);
    let bad =
        EntitiesConfig::from_toml("[[queues]]\nname = \"x\"\nlock_duration = \"10m\"\n").unwrap();
    assert!(
        ns.apply_config(&bad).is_err(),
        "lock durations above 5 minutes are refused"
    );
    assert!(ns
        .create_queue("bad name!", EntityOptions::default())
        .is_err());
}

#[test]
fn entity_size_can_be_given_in_megabytes_as_service_bus_names_it() {
    let config =
        EntitiesConfig::from_toml("[[queues]]\nname = \"q\"\nmax_size_in_megabytes = 2\n").unwrap();
    assert_eq!(config.queues[0].options().max_size_bytes, 2 << 20);
    let both = "[[topics]]\nname = \"t\"\n[[topics.subscriptions]]\nname = \"s\"\n\
                max_size_bytes = 10\nmax_size_in_megabytes = 1\n";
    let err = EntitiesConfig::from_toml(both).unwrap_err();
    assert!(err.contains("`s`") && err.contains("not both"), "{err}");
}
