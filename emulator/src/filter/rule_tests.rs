use super::*;

fn labelled(label: &str) -> MessageView {
    MessageView {
        label: Some(label.into()),
        ..MessageView::default()
    }
}

fn by_label(name: &str, label: &str) -> Rule {
    let filter = Filter::Correlation(CorrelationFilter {
        label: Some(label.into()),
        ..CorrelationFilter::default()
    });
    Rule::new(name, filter, None).unwrap()
}

#[test]
fn a_new_subscription_has_default_which_needs_no_decoding() {
    let set = RuleSet::default();
    assert!(set.is_default());
    assert!(!set.needs_view());
    let admission = set.admit(None);
    assert!(admission.plain && admission.actions.is_empty());
}

#[test]
fn rules_without_actions_give_one_copy_when_any_matches() {
    let set = RuleSet::of(vec![by_label("a", "x"), by_label("b", "y")]).unwrap();
    assert!(set.needs_view());
    assert!(set.admit(Some(&labelled("x"))).plain);
    assert!(set.admit(Some(&labelled("y"))).plain);
    assert!(set.admit(Some(&labelled("z"))).is_empty());
    assert!(set.admit(None).is_empty(), "no view: property filters do not match");
}

#[test]
fn false_and_true_filters() {
    let set = RuleSet::of(vec![Rule::new("never", Filter::False, None).unwrap()]).unwrap();
    assert!(!set.needs_view());
    assert!(set.admit(None).is_empty());
    assert!(matches!(Filter::sql("1=1", vec![]), Ok(Filter::True)));
    assert!(matches!(Filter::sql(" 1 = 0 ", vec![]), Ok(Filter::False)));
}

#[test]
fn names_are_unique_case_insensitively_and_removable() {
    let mut set = RuleSet::default();
    let again = Rule::new("$DEFAULT", Filter::False, None).unwrap();
    assert_eq!(
        set.add(again),
        Err(RuleSetError::Exists("$DEFAULT".into()))
    );
    assert!(set.remove("$default"));
    assert!(!set.remove("$Default"));
    assert!(set.rules().is_empty());
    assert!(set.admit(None).is_empty(), "no rules: nothing is admitted");
}

#[test]
fn rule_names_and_empty_correlation_filters_are_checked() {
    assert!(validate_rule_name("orders-2024.v1_$x").is_ok());
    assert!(validate_rule_name("").is_err());
    assert!(validate_rule_name(&"r".repeat(51)).is_err());
    assert!(validate_rule_name("a/b").unwrap_err().contains("'/'"));
    let empty = Filter::Correlation(CorrelationFilter::default());
    assert!(Rule::new("r", empty, None).is_err());
}

#[test]
fn the_rule_count_is_bounded() {
    let mut set = RuleSet::of(Vec::new()).unwrap();
    for i in 0..MAX_RULES {
        set.add(Rule::new(&format!("r{i}"), Filter::False, None).unwrap())
            .unwrap();
    }
    let one_more = Rule::new("more", Filter::False, None).unwrap();
    assert_eq!(set.add(one_more), Err(RuleSetError::Full));
}

#[test]
fn every_matching_rule_with_an_action_adds_a_copy() {
    let with_action = |name: &str| Rule {
        name: name.into(),
        filter: Filter::True,
        action: Some(Action::new("SET seen = 1", vec![]).unwrap()),
    };
    let set = RuleSet::of(vec![
        Rule::default_rule(),
        by_label("plain", "x"),
        with_action("a1"),
        with_action("a2"),
    ])
    .unwrap();
    let admission = set.admit(Some(&labelled("x")));
    assert!(admission.plain);
    let names: Vec<&str> = admission.actions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a1", "a2"]);
}

#[test]
fn sql_filters_select_by_user_property() {
    let filter = Filter::sql("color = 'red'", vec![]).unwrap();
    let mut red = MessageView::default();
    red.user.insert("color".into(), Value::String("red".into()));
    assert!(filter.matches(Some(&red)));
    assert!(!filter.matches(Some(&MessageView::default())));
}
