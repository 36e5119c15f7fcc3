//! Admin requests on a subscription's rules: list, add, remove. A rule is the JSON form of
//! an entities-TOML rule table ([`RuleConfig`]): `{"name": "red", "sql": "color = 'red'"}`,
//! `{"name": "c", "correlation": {"label": "created"}}`, `{"name": "none", "filter": false}`,
//! each with an optional `"action"`.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::Value;

use super::routes::{bad_request, into_error, Outcome};
use crate::entity::{Namespace, RuleConfig};

/// Answers `method` on `/topics/T/subscriptions/S/rules/{rest}` for the subscription `path`.
pub(super) async fn route(
    namespace: &Namespace,
    method: &Method,
    path: &str,
    rest: &[&str],
    body: &Bytes,
) -> Outcome {
    match (method, rest) {
        (&Method::GET, []) => list(namespace, path),
        (&Method::PUT, [name]) => {
            let rule = rule_from(name, body)?;
            let commit = namespace.add_rule(path, rule).map_err(into_error)?;
            commit.wait().await.map_err(into_error)?;
            let rule = namespace
                .rules(path)
                .map_err(into_error)?
                .into_iter()
                .find(|r| r.name.eq_ignore_ascii_case(name));
            let json = rule.map_or(Value::Null, |r| rule_json(&RuleConfig::of(&r)));
            Ok((StatusCode::CREATED, json))
        }
        (&Method::DELETE, [name]) => {
            let commit = namespace.remove_rule(path, name).map_err(into_error)?;
            commit.wait().await.map_err(into_error)?;
            Ok((StatusCode::NO_CONTENT, Value::Null))
        }
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("no admin route for {method} on the rules of `{path}`; see GET .../rules, PUT|DELETE .../rules/NAME"),
            "amqp:not-found",
        )),
    }
}

fn list(namespace: &Namespace, path: &str) -> Outcome {
    let rules = namespace.rules(path).map_err(into_error)?;
    let json = rules
        .iter()
        .map(|r| rule_json(&RuleConfig::of(r)))
        .collect();
    Ok((StatusCode::OK, Value::Array(json)))
}

fn rule_json(rule: &RuleConfig) -> Value {
    serde_json::to_value(rule).unwrap_or(Value::Null)
}

/// The rule a JSON body describes; its name comes from the path.
fn rule_from(name: &str, body: &Bytes) -> Result<crate::filter::Rule, (StatusCode, String, &'static str)> {
    let mut object = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(bad_request("the body must be a JSON object describing a rule".into())),
            Err(e) => return Err(bad_request(format!("the body is not valid JSON: {e}"))),
        }
    };
    object.insert("name".into(), Value::String(name.to_owned()));
    let config: RuleConfig = serde_json::from_value(Value::Object(object))
        .map_err(|e| bad_request(format!("invalid rule: {e}")))?;
    config.rule().map_err(bad_request)
}
