//! `com.microsoft:add-rule`, `remove-rule` and `enumerate-rules` on a subscription's
//! `$management` node, with the maps and described types the SDKs' rule managers use.
//!
//! Requests (string keys): add-rule `rule-name` + `rule-description` map holding
//! `sql-filter` {`expression`} or `correlation-filter` {`correlation-id`, `message-id`, `to`,
//! `reply-to`, `label`, `session-id`, `reply-to-session-id`, `content-type`, `properties`}
//! and optionally `sql-rule-action` {`expression`} (null: none); remove-rule `rule-name`;
//! enumerate-rules `top`, `skip`. The response to enumerate-rules is `rules`: a list of maps,
//! each `rule-description` = described list `com.microsoft:rule-description:list`
//! [filter, action, name] with the filter and action as described lists too (codes below).

use fe2o3_amqp_types::primitives::{OrderedMap, Timestamp, Value as Amqp};
use serde_amqp::described::Described;
use serde_amqp::descriptor::Descriptor;

use super::management::{integer, required_string, Answer};
use super::request::{map, Request};
use super::NodeConfig;
use crate::entity::EntityError;
use crate::filter::{Action, CorrelationFilter, Filter, Parameters, Rule, Value};

const RULE_DESCRIPTION: u64 = 0x0000_0137_0000_0004;
const EMPTY_RULE_ACTION: u64 = 0x0000_0137_0000_0005;
const SQL_RULE_ACTION: u64 = 0x0000_0137_0000_0006;
const SQL_FILTER: u64 = 0x0000_0013_7000_0006;
const TRUE_FILTER: u64 = 0x0000_0013_7000_0007;
const FALSE_FILTER: u64 = 0x0000_0013_7000_0008;
const CORRELATION_FILTER: u64 = 0x0000_0013_7000_0009;
/// The SQL compatibility level Service Bus reports for its expressions.
const COMPATIBILITY_LEVEL: i32 = 20;

/// Runs a rule operation, or `None` if `operation` is not one.
pub(super) fn execute(
    config: &NodeConfig,
    path: &str,
    operation: &str,
    request: &Request,
) -> Option<Result<Answer, EntityError>> {
    let ns = &config.namespace;
    Some(match operation {
        "com.microsoft:add-rule" => add_rule(request).and_then(|rule| {
            let commit = ns.add_rule(path, rule)?;
            Ok(Answer::after(commit, map([])))
        }),
        "com.microsoft:remove-rule" => required_string(request, "rule-name").and_then(|name| {
            let commit = ns.remove_rule(path, &name)?;
            Ok(Answer::after(commit, map([])))
        }),
        "com.microsoft:enumerate-rules" => ns.rules(path).map(|rules| {
            let skip = integer(request, "skip").unwrap_or(0).max(0) as usize;
            let top = integer(request, "top").unwrap_or(i64::MAX).max(0) as usize;
            let page: Vec<Amqp> = rules.iter().skip(skip).take(top).map(described).collect();
            if page.is_empty() {
                return Answer::none("No rules.");
            }
            Answer::ok(map([("rules", Amqp::List(page))]))
        }),
        _ => return None,
    })
}

fn invalid(text: impl Into<String>) -> EntityError {
    EntityError::InvalidArgument(text.into())
}

/// The rule an add-rule request describes.
fn add_rule(request: &Request) -> Result<Rule, EntityError> {
    let name = required_string(request, "rule-name")?;
    let Some(Amqp::Map(description)) = request.field("rule-description") else {
        return Err(invalid("The request body has no 'rule-description' map."));
    };
    let entry = |key: &str| field(description, key);
    let filter = match (entry("sql-filter"), entry("correlation-filter")) {
        (Some(Amqp::Map(sql)), None) => {
            let expression = text(field(sql, "expression"))
                .ok_or_else(|| invalid("The sql-filter has no 'expression' string."))?;
            Filter::sql(&expression, parameters(field(sql, "parameters"))?)
                .map_err(|e| invalid(e.to_string()))?
        }
        (None, Some(Amqp::Map(c))) => Filter::Correlation(correlation(c)?),
        (Some(_), Some(_)) => {
            return Err(invalid(
                "A rule description has a sql-filter or a correlation-filter, not both.",
            ))
        }
        _ => {
            return Err(invalid(
                "The rule description has no 'sql-filter' or 'correlation-filter' map.",
            ))
        }
    };
    let action = match entry("sql-rule-action") {
        None | Some(Amqp::Null) => None,
        Some(Amqp::Map(action)) => {
            let expression = text(field(action, "expression"))
                .ok_or_else(|| invalid("The sql-rule-action has no 'expression' string."))?;
            let parameters = parameters(field(action, "parameters"))?;
            Some(Action::new(&expression, parameters).map_err(|e| invalid(e.to_string()))?)
        }
        Some(_) => return Err(invalid("The 'sql-rule-action' must be a map.")),
    };
    Rule::new(&name, filter, action).map_err(invalid)
}

fn correlation(c: &OrderedMap<Amqp, Amqp>) -> Result<CorrelationFilter, EntityError> {
    let string = |key: &str| -> Result<Option<String>, EntityError> {
        match field(c, key) {
            None | Some(Amqp::Null) => Ok(None),
            value => text(value)
                .map(Some)
                .ok_or_else(|| invalid(format!("The correlation filter's '{key}' must be a string."))),
        }
    };
    Ok(CorrelationFilter {
        correlation_id: string("correlation-id")?,
        message_id: string("message-id")?,
        to: string("to")?,
        reply_to: string("reply-to")?,
        label: string("label")?,
        session_id: string("session-id")?,
        reply_to_session_id: string("reply-to-session-id")?,
        content_type: string("content-type")?,
        properties: parameters(field(c, "properties"))?,
    })
}

/// A map of named values (correlation properties, SQL parameters); null or absent: none.
fn parameters(value: Option<&Amqp>) -> Result<Parameters, EntityError> {
    match value {
        None | Some(Amqp::Null) => Ok(Vec::new()),
        Some(Amqp::Map(m)) => m
            .iter()
            .map(|(k, v)| {
                text(Some(k))
                    .map(|k| (k, filter_value(v)))
                    .ok_or_else(|| invalid("Property names must be strings."))
            })
            .collect(),
        Some(_) => Err(invalid("Properties and parameters must be a map.")),
    }
}

/// The entry under a string or symbol key.
fn field<'m>(m: &'m OrderedMap<Amqp, Amqp>, key: &str) -> Option<&'m Amqp> {
    m.iter().find_map(|(k, v)| (text(Some(k)).as_deref() == Some(key)).then_some(v))
}

fn text(value: Option<&Amqp>) -> Option<String> {
    match value? {
        Amqp::String(s) => Some(s.clone()),
        Amqp::Symbol(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// An AMQP value as filters compare it.
fn filter_value(value: &Amqp) -> Value {
    match value {
        Amqp::Null => Value::Null,
        Amqp::Bool(b) => Value::Bool(*b),
        Amqp::Ubyte(v) => Value::Long(i64::from(*v)),
        Amqp::Ushort(v) => Value::Long(i64::from(*v)),
        Amqp::Uint(v) => Value::Long(i64::from(*v)),
        Amqp::Ulong(v) => i64::try_from(*v).map_or(Value::Other, Value::Long),
        Amqp::Byte(v) => Value::Long(i64::from(*v)),
        Amqp::Short(v) => Value::Long(i64::from(*v)),
        Amqp::Int(v) => Value::Long(i64::from(*v)),
        Amqp::Long(v) => Value::Long(*v),
        Amqp::Float(v) => Value::Double(f64::from(f32::from(*v))),
        Amqp::Double(v) => Value::Double(f64::from(*v)),
        Amqp::String(s) => Value::String(s.clone()),
        Amqp::Symbol(s) => Value::String(s.as_str().to_owned()),
        Amqp::Timestamp(t) => Value::DateTime(crate::filter::from_unix_ms(t.milliseconds())),
        Amqp::Uuid(u) => Value::Uuid(*u.as_inner()),
        _ => Value::Other,
    }
}

/// A filter value as AMQP (what enumerate-rules reports).
fn amqp_value(value: &Value) -> Amqp {
    match value {
        Value::Null | Value::Other => Amqp::Null,
        Value::Bool(b) => Amqp::Bool(*b),
        Value::Long(v) => Amqp::Long(*v),
        Value::Double(v) => Amqp::Double((*v).into()),
        Value::String(s) => Amqp::String(s.clone()),
        Value::DateTime(at) => {
            Amqp::Timestamp(Timestamp::from_milliseconds(crate::filter::unix_ms(*at)))
        }
        Value::Duration(d) => Amqp::Long(i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX)),
        Value::Uuid(bytes) => Amqp::Uuid((*bytes).into()),
    }
}

fn describe(code: u64, fields: Vec<Amqp>) -> Amqp {
    Amqp::Described(Box::new(Described {
        descriptor: Descriptor::Code(code),
        value: Amqp::List(fields),
    }))
}

fn sql(expression: &str) -> Vec<Amqp> {
    vec![
        Amqp::String(expression.to_owned()),
        Amqp::Int(COMPATIBILITY_LEVEL),
    ]
}

/// `{"rule-description": rule-description:list[filter, action, name]}`.
fn described(rule: &Rule) -> Amqp {
    let optional = |s: &Option<String>| s.clone().map_or(Amqp::Null, Amqp::String);
    let filter = match &rule.filter {
        Filter::True => describe(TRUE_FILTER, sql("1=1")),
        Filter::False => describe(FALSE_FILTER, sql("1=0")),
        Filter::Sql { filter, .. } => describe(SQL_FILTER, sql(filter.expression())),
        Filter::Correlation(c) => {
            let mut properties = OrderedMap::new();
            for (k, v) in &c.properties {
                properties.insert(Amqp::String(k.clone()), amqp_value(v));
            }
            describe(
                CORRELATION_FILTER,
                vec![
                    optional(&c.correlation_id),
                    optional(&c.message_id),
                    optional(&c.to),
                    optional(&c.reply_to),
                    optional(&c.label),
                    optional(&c.session_id),
                    optional(&c.reply_to_session_id),
                    optional(&c.content_type),
                    Amqp::Map(properties),
                ],
            )
        }
    };
    let action = match &rule.action {
        Some(a) => describe(SQL_RULE_ACTION, sql(a.expression())),
        None => describe(EMPTY_RULE_ACTION, Vec::new()),
    };
    let description = describe(
        RULE_DESCRIPTION,
        vec![filter, action, Amqp::String(rule.name.clone())],
    );
    map([("rule-description", description)])
}

#[cfg(test)]
#[path = "management_rules_tests.rs"]
mod tests;
