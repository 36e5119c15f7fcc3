//! Subscription rules below the wire: fan-out by correlation, true and false filters (and SQL
//! ones once the SQL language lands), rule management and its errors, the entities TOML, and
//! rules surviving a durable restart and a compaction.
#![allow(clippy::unwrap_used)] // tests may unwrap

use crate::rules_support;

use berth_emulator::entity::{EntitiesConfig, EntityError, EntityOptions, Namespace, ReceiveMode};
use berth_emulator::filter::{Action, Filter, Rule, RuleSet, DEFAULT_RULE_NAME};
use fe2o3_amqp_types::messaging::message::__private::Deserializable;
use fe2o3_amqp_types::messaging::{Body, Message};
use fe2o3_amqp_types::primitives::{SimpleValue, Value as Amqp};
use rules_support::{
    body_of, by_color, by_label, drain, message, names, send_three, with_rules, SUB,
};

#[tokio::test]
async fn a_new_subscription_has_default_and_gets_everything() {
    let ns = with_rules(vec![Rule::default_rule()]);
    ns.create_subscription("events", "plain", EntityOptions::default())
        .unwrap();
    let rules = ns.rules("events/subscriptions/plain").unwrap();
    assert_eq!(names(&rules), [DEFAULT_RULE_NAME]);
    assert!(matches!(rules[0].filter, Filter::True) && rules[0].action.is_none());
    send_three(&ns).await;
    assert_eq!(drain(&ns, "events/Subscriptions/plain"), ["m1", "m2", "m3"]);
}

#[tokio::test]
async fn correlation_rules_select_by_system_and_user_properties() {
    let ns = with_rules(vec![
        by_label("created", "created"),
        by_color("blue", "blue"),
    ]);
    ns.create_subscription_with_rules(
        "events",
        "never",
        EntityOptions::default(),
        RuleSet::of(vec![Rule::new("no", Filter::False, None).unwrap()]).unwrap(),
    )
    .unwrap();
    send_three(&ns).await;
    assert_eq!(
        drain(&ns, SUB),
        ["m1", "m2"],
        "either rule admits; once each"
    );
    assert!(drain(&ns, "events/Subscriptions/never").is_empty());
}

#[tokio::test]
async fn a_message_matching_several_rules_arrives_once_with_the_topic_sequence_number() {
    let ns = with_rules(vec![by_label("a", "created"), by_color("b", "red")]);
    let seq = ns
        .send("events", &message("m1", Some("created"), Some("red")))
        .await
        .unwrap();
    let h = ns.receiver(SUB).unwrap();
    let m = h
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    assert_eq!((m.sequence_number, body_of(&m.body)), (seq, "m1".into()));
    assert!(h
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn rules_are_added_and_removed_at_run_time() {
    let ns = with_rules(vec![Rule::default_rule()]);
    ns.add_rule(SUB, by_color("red", "red")).unwrap();
    ns.remove_rule(SUB, "$default").unwrap();
    assert_eq!(names(&ns.rules(SUB).unwrap()), ["red"]);
    send_three(&ns).await;
    assert_eq!(drain(&ns, SUB), ["m1"]);
    ns.remove_rule(SUB, "red").unwrap();
    assert!(ns.rules(SUB).unwrap().is_empty());
    send_three(&ns).await;
    assert!(drain(&ns, SUB).is_empty(), "no rules: nothing arrives");
}

#[tokio::test]
async fn rule_errors_are_service_bus_errors() {
    let ns = with_rules(vec![Rule::default_rule()]);
    let exists = ns.add_rule(SUB, Rule::default_rule()).unwrap_err();
    assert!(
        matches!(exists, EntityError::AlreadyExists { .. }),
        "{exists:?}"
    );
    assert_eq!(exists.condition(), "com.microsoft:entity-already-exists");
    assert!(exists.to_string().contains("s/Rules/$Default"), "{exists}");
    let missing = ns.remove_rule(SUB, "nope").unwrap_err();
    assert_eq!(
        (missing.status_code(), missing.condition()),
        (404, "amqp:not-found")
    );
    ns.create_queue("q", EntityOptions::default()).unwrap();
    for path in ["q", "events", "events/Subscriptions/s/$DeadLetterQueue"] {
        assert!(
            matches!(ns.rules(path), Err(EntityError::NotAllowed(_))),
            "{path}"
        );
    }
    assert!(matches!(
        ns.rules("events/Subscriptions/gone"),
        Err(EntityError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_session_subscription_that_does_not_admit_a_sessionless_message_does_not_fail_the_send() {
    let ns = with_rules(vec![Rule::default_rule()]);
    let sessions = RuleSet::of(vec![by_label("only-created", "created")]).unwrap();
    let options = EntityOptions {
        requires_session: true,
        ..EntityOptions::default()
    };
    ns.create_subscription_with_rules("events", "sessions", options, sessions)
        .unwrap();
    ns.send("events", &message("m2", Some("deleted"), None))
        .await
        .unwrap();
    assert_eq!(drain(&ns, SUB), ["m2"]);
    let refused = ns
        .send("events", &message("m1", Some("created"), None))
        .await
        .unwrap_err();
    assert!(matches!(refused, EntityError::NotAllowed(_)), "{refused:?}");
    assert!(
        drain(&ns, SUB).is_empty(),
        "a refused send reaches no subscription"
    );
}

const TOML: &str = r#"
[[topics]]
name = "events"
[[topics.subscriptions]]
name = "all"
[[topics.subscriptions]]
name = "s"
[[topics.subscriptions.rules]]
name = "created"
correlation = { subject = "created" }
[[topics.subscriptions.rules]]
name = "blue"
[topics.subscriptions.rules.correlation.properties]
color = "blue"
[[topics.subscriptions]]
name = "none"
rules = []
[[topics.subscriptions]]
name = "never"
[[topics.subscriptions.rules]]
name = "no"
filter = false
"#;

#[tokio::test]
async fn the_entities_toml_configures_rules() {
    let ns = Namespace::in_memory();
    ns.apply_config(&EntitiesConfig::from_toml(TOML).unwrap())
        .unwrap();
    assert_eq!(names(&ns.rules(SUB).unwrap()), ["created", "blue"]);
    assert!(ns.rules("events/Subscriptions/none").unwrap().is_empty());
    send_three(&ns).await;
    assert_eq!(drain(&ns, "events/Subscriptions/all"), ["m1", "m2", "m3"]);
    assert_eq!(drain(&ns, SUB), ["m1", "m2"]);
    assert!(drain(&ns, "events/Subscriptions/none").is_empty());
    assert!(drain(&ns, "events/Subscriptions/never").is_empty());
}

#[test]
fn bad_rule_tables_are_refused_naming_the_problem() {
    let refused = |toml: &str| EntitiesConfig::from_toml(toml).unwrap_err();
    let sub = "[[topics]]\nname = \"t\"\n[[topics.subscriptions]]\nname = \"s\"\n";
    let unknown = refused(&format!(
        "{sub}[[topics.subscriptions.rules]]\nname = \"r\"\nsqll = \"x\"\n"
    ));
    assert!(unknown.contains("sqll"), "{unknown}");
    let both = refused(&format!(
        "{sub}[[topics.subscriptions.rules]]\nname = \"r\"\nfilter = true\ncorrelation = {{ to = \"x\" }}\n"
    ));
    assert!(
        both.contains("rule `r`") && both.contains("not several"),
        "{both}"
    );
    let bad_key = refused(&format!(
        "{sub}[[topics.subscriptions.rules]]\nname = \"r\"\ncorrelation = {{ colour = \"x\" }}\n"
    ));
    assert!(bad_key.contains("colour"), "{bad_key}");
    let empty = refused(&format!(
        "{sub}[[topics.subscriptions.rules]]\nname = \"r\"\ncorrelation = {{}}\n"
    ));
    assert!(empty.contains("at least one"), "{empty}");
    let duplicate = refused(&format!(
        "{sub}[[topics.subscriptions.rules]]\nname = \"r\"\n[[topics.subscriptions.rules]]\nname = \"R\"\n"
    ));
    assert!(duplicate.contains("already exists"), "{duplicate}");
    let sql = refused(&format!(
        "{sub}[[topics.subscriptions.rules]]\nname = \"r\"\nsql = \"a = = 1\"\n"
    ));
    assert!(
        sql.contains("rule `r`") && sql.contains("line 1, column"),
        "{sql}"
    );
    let queue = refused("[[queues]]\nname = \"q\"\nrules = []\n");
    assert!(
        queue.contains("`q`") && queue.contains("subscriptions"),
        "{queue}"
    );
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-rules-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn rules_survive_a_restart_and_a_compaction() {
    let dir = temp_dir("restart");
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_topic("events").unwrap();
        ns.create_subscription("events", "plain", EntityOptions::default())
            .unwrap();
        let set = RuleSet::of(vec![by_label("created", "created")]).unwrap();
        ns.create_subscription_with_rules("events", "s", EntityOptions::default(), set)
            .unwrap();
        ns.add_rule(SUB, by_color("blue", "blue")).unwrap();
        ns.flush().await.unwrap();
    }
    for round in ["restart", "compaction"] {
        let ns = Namespace::open(&dir).await.unwrap();
        assert_eq!(
            names(&ns.rules(SUB).unwrap()),
            ["created", "blue"],
            "{round}"
        );
        assert_eq!(
            names(&ns.rules("events/Subscriptions/plain").unwrap()),
            [DEFAULT_RULE_NAME],
            "{round}: no rule record means $Default"
        );
        send_three(&ns).await;
        assert_eq!(drain(&ns, SUB), ["m1", "m2"], "{round}");
        assert_eq!(drain(&ns, "events/Subscriptions/plain"), ["m1", "m2", "m3"]);
        ns.compact().await.unwrap();
        let snapshots = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("snap-")
            })
            .count();
        assert_eq!(
            snapshots, 1,
            "{round}: the next open reads the rules from a snapshot"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sql_filters_select_by_expression() {
    let filter = Filter::sql("color = 'red' OR sys.Label = 'deleted'", Vec::new()).unwrap();
    let ns = with_rules(vec![Rule::new("sql", filter, None).unwrap()]);
    send_three(&ns).await;
    assert_eq!(drain(&ns, SUB), ["m1", "m2"]);
}

#[tokio::test]
async fn each_matching_rule_with_an_action_adds_a_changed_copy_with_rule_name() {
    let action = Action::new("SET color = 'green'", Vec::new()).unwrap();
    let ns = with_rules(vec![
        Rule::default_rule(),
        Rule::new("paint", Filter::True, Some(action)).unwrap(),
    ]);
    let seq = ns
        .send("events", &message("m1", None, Some("red")))
        .await
        .unwrap();
    let h = ns.receiver(SUB).unwrap();
    let first = h
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    let second = h
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    assert!(h
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .is_none());
    assert_eq!(
        first.sequence_number, seq,
        "the plain copy keeps the number"
    );
    assert!(second.sequence_number > seq);
    let props = |raw: &[u8]| {
        let m: Deserializable<Message<Body<Amqp>>> = serde_amqp::from_slice(raw).unwrap();
        m.0.application_properties.unwrap()
    };
    assert_eq!(
        props(&first.body).get("color"),
        Some(&SimpleValue::String("red".into()))
    );
    assert_eq!(props(&first.body).get("RuleName"), None);
    let changed = props(&second.body);
    assert_eq!(
        changed.get("color"),
        Some(&SimpleValue::String("green".into()))
    );
    assert_eq!(
        changed.get("RuleName"),
        Some(&SimpleValue::String("paint".into()))
    );
    assert_eq!(body_of(&second.body), "m1");
}

/// What rules cost a send: 20 000 single-message sends to a topic with ten subscriptions that
/// all have `$Default` (no decoding), then ten with a correlation rule each (one decode per
/// message, ten evaluations). Prints the figures; asserts only what was delivered.
/// `cargo test --release -p berth-emulator --test entity_rules -- --ignored --nocapture fan_out_cost`
#[tokio::test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn fan_out_cost() {
    const SENDS: usize = 20_000;
    for filtered in [false, true] {
        let ns = Namespace::in_memory();
        ns.create_topic("events").unwrap();
        for i in 0..10 {
            let rules = if filtered {
                RuleSet::of(vec![by_color("c", &format!("colour-{i}"))]).unwrap()
            } else {
                RuleSet::default()
            };
            ns.create_subscription_with_rules(
                "events",
                &format!("s{i}"),
                EntityOptions::default(),
                rules,
            )
            .unwrap();
        }
        let sender = ns.sender("events").unwrap();
        let m = message("m", Some("created"), Some("colour-3"));
        let started = std::time::Instant::now();
        for _ in 0..SENDS {
            sender.enqueue(&m).unwrap();
        }
        let elapsed = started.elapsed();
        let delivered: usize = (0..10)
            .map(|i| {
                ns.receiver(&format!("events/Subscriptions/s{i}"))
                    .unwrap()
                    .counts()
                    .unwrap()
                    .active
            })
            .sum();
        assert_eq!(delivered, if filtered { SENDS } else { 10 * SENDS });
        println!(
            "fan_out_cost: 10 subscriptions, {}: {:.2} µs per send ({SENDS} sends, {} bytes each)",
            if filtered {
                "a correlation rule each"
            } else {
                "$Default"
            },
            elapsed.as_secs_f64() * 1e6 / SENDS as f64,
            m.body.len()
        );
    }
}
