//! The binary form of a subscription's rule set inside a `Rules` log record.
//!
//! `version: u8 (1) | count: u32 | rule*`; a rule is `name | filter | action`. A filter is a
//! tag (0 true, 1 false, 2 SQL: expression + parameters, 3 correlation: eight optional
//! strings + user properties); an action a presence byte, then expression + parameters.
//! Values carry a tag (see [`write_value`]). SQL is stored as written and parsed again on
//! recovery.

use std::time::Duration;

use super::record::DecodeError;
use super::wire::{Reader, Writer};
use crate::filter::{Action, CorrelationFilter, Filter, Parameters, Rule, RuleSet, Value};

const VERSION: u8 = 1;

/// Encodes `set`.
pub(crate) fn encode_rules(set: &RuleSet) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = Writer(&mut out);
    w.u8(VERSION);
    w.u32(set.rules().len() as u32);
    for rule in set.rules() {
        w.str(&rule.name);
        match &rule.filter {
            Filter::True => w.u8(0),
            Filter::False => w.u8(1),
            Filter::Sql { filter, parameters } => {
                w.u8(2);
                w.str(filter.expression());
                write_parameters(&mut w, parameters);
            }
            Filter::Correlation(c) => {
                w.u8(3);
                for field in [
                    &c.correlation_id,
                    &c.message_id,
                    &c.to,
                    &c.reply_to,
                    &c.label,
                    &c.session_id,
                    &c.reply_to_session_id,
                    &c.content_type,
                ] {
                    w.opt_bytes(field.as_deref().map(str::as_bytes));
                }
                write_parameters(&mut w, &c.properties);
            }
        }
        match &rule.action {
            Some(action) => {
                w.u8(1);
                w.str(action.expression());
                write_parameters(&mut w, action.parameters());
            }
            None => w.u8(0),
        }
    }
    out
}

/// Decodes a rule set. Rules whose SQL no longer parses are left out; each one left out is
/// described in the second element.
pub(crate) fn decode_rules(bytes: &[u8]) -> Result<(RuleSet, Vec<String>), DecodeError> {
    let mut r = Reader(bytes);
    if r.u8()? != VERSION {
        return Err(DecodeError("unknown rule set version"));
    }
    let count = r.u32()? as usize;
    if count > bytes.len() {
        return Err(DecodeError("rule count beyond the record"));
    }
    let mut rules = Vec::with_capacity(count);
    let mut skipped = Vec::new();
    for _ in 0..count {
        let name = r.str()?.to_owned();
        let filter = match r.u8()? {
            0 => Ok(Filter::True),
            1 => Ok(Filter::False),
            2 => {
                let expression = r.str()?;
                let parameters = read_parameters(&mut r)?;
                Filter::sql(expression, parameters)
            }
            3 => {
                let mut text = || -> Result<Option<String>, DecodeError> {
                    Ok(r.opt_str()?.map(str::to_owned))
                };
                let mut c = CorrelationFilter {
                    correlation_id: text()?,
                    message_id: text()?,
                    to: text()?,
                    reply_to: text()?,
                    label: text()?,
                    session_id: text()?,
                    reply_to_session_id: text()?,
                    content_type: text()?,
                    properties: Vec::new(),
                };
                c.properties = read_parameters(&mut r)?;
                Ok(Filter::Correlation(c))
            }
            _ => return Err(DecodeError("unknown filter tag")),
        };
        let action = match r.u8()? {
            0 => None,
            _ => {
                let expression = r.str()?;
                let parameters = read_parameters(&mut r)?;
                Some(Action::new(expression, parameters))
            }
        };
        match (filter, action.transpose()) {
            (Ok(filter), Ok(action)) => rules.push(Rule {
                name,
                filter,
                action,
            }),
            (Err(e), _) | (_, Err(e)) => skipped.push(format!("rule '{name}': {e}")),
        }
    }
    if !r.0.is_empty() {
        return Err(DecodeError("trailing bytes after the rule set"));
    }
    let set = RuleSet::of(rules).map_err(|_| DecodeError("duplicate rule names"))?;
    Ok((set, skipped))
}

fn write_parameters(w: &mut Writer<'_>, parameters: &[(String, Value)]) {
    w.u32(parameters.len() as u32);
    for (name, value) in parameters {
        w.str(name);
        write_value(w, value);
    }
}

fn read_parameters(r: &mut Reader<'_>) -> Result<Parameters, DecodeError> {
    let count = r.u32()? as usize;
    if count > r.0.len() {
        return Err(DecodeError("parameter count beyond the record"));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.str()?.to_owned();
        out.push((name, read_value(r)?));
    }
    Ok(out)
}

/// Tags: 0 null, 1 bool, 2 long, 3 double, 4 string, 5 date-time (ms, signed), 6 duration
/// (ns), 7 uuid, 8 other.
fn write_value(w: &mut Writer<'_>, value: &Value) {
    match value {
        Value::Null => w.u8(0),
        Value::Bool(b) => {
            w.u8(1);
            w.u8(u8::from(*b));
        }
        Value::Long(v) => {
            w.u8(2);
            w.i64(*v);
        }
        Value::Double(v) => {
            w.u8(3);
            w.u64(v.to_bits());
        }
        Value::String(s) => {
            w.u8(4);
            w.str(s);
        }
        Value::DateTime(at) => {
            w.u8(5);
            w.i64(crate::filter::unix_ms(*at));
        }
        Value::Duration(d) => {
            w.u8(6);
            w.u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        }
        Value::Uuid(bytes) => {
            w.u8(7);
            w.bytes(bytes);
        }
        Value::Other => w.u8(8),
    }
}

fn read_value(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    Ok(match r.u8()? {
        0 => Value::Null,
        1 => Value::Bool(r.u8()? != 0),
        2 => Value::Long(r.i64()?),
        3 => Value::Double(f64::from_bits(r.u64()?)),
        4 => Value::String(r.str()?.to_owned()),
        5 => Value::DateTime(crate::filter::from_unix_ms(r.i64()?)),
        6 => Value::Duration(Duration::from_nanos(r.u64()?)),
        7 => Value::Uuid(
            r.bytes()?
                .try_into()
                .map_err(|_| DecodeError("a uuid is 16 bytes"))?,
        ),
        8 => Value::Other,
        _ => return Err(DecodeError("unknown value tag")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn rule_sets_round_trip() {
        let correlation = CorrelationFilter {
            label: Some("created".into()),
            session_id: Some("s".into()),
            properties: vec![
                ("color".into(), Value::String("red".into())),
                ("n".into(), Value::Long(-3)),
                ("f".into(), Value::Double(1.5)),
                ("b".into(), Value::Bool(true)),
                ("at".into(), Value::DateTime(UNIX_EPOCH)),
                ("d".into(), Value::Duration(Duration::from_millis(1500))),
                ("u".into(), Value::Uuid([7; 16])),
                ("z".into(), Value::Null),
            ],
            ..CorrelationFilter::default()
        };
        let set = RuleSet::of(vec![
            Rule::default_rule(),
            Rule::new("none", Filter::False, None).unwrap(),
            Rule::new("orders", Filter::Correlation(correlation.clone()), None).unwrap(),
        ])
        .unwrap();
        let bytes = encode_rules(&set);
        let (back, skipped) = decode_rules(&bytes).unwrap();
        assert!(skipped.is_empty());
        let names: Vec<&str> = back.rules().iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["$Default", "none", "orders"]);
        assert!(matches!(back.rules()[1].filter, Filter::False));
        match &back.rules()[2].filter {
            Filter::Correlation(c) => assert_eq!(c, &correlation),
            other => panic!("not a correlation filter: {other:?}"),
        }
        assert!(decode_rules(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_rules(&[9]).is_err());
    }
}
