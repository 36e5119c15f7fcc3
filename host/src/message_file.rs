//! The JSON-lines message format of `host send --jsonl` and `[[emulator.seed]]`: one
//! message per line.
//!
//! ```text
//! {"session_id": "cust-42", "message_id": "o-1", "body": {"step": "created"}, "properties": {"MessageType": "Order"}}
//! {"session_id": "cust-42", "body": "plain text", "content_type": "text/plain"}
//! ```
//!
//! Keys: `body` (a JSON value, sent as its JSON text — `application/json` unless
//! `content_type` says otherwise; a JSON string is sent as its text), `session_id`,
//! `message_id`, `correlation_id`, `content_type`, `subject`, `to`, `reply_to`,
//! `reply_to_session_id`, `time_to_live` (e.g. `"5m"`), `properties` (string, number or
//! boolean values). Unknown keys are errors, with the line number.

use std::path::Path;

use berth::{Message, PropertyValue};
use serde::Deserialize;

use crate::config::parse_duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    body: serde_json::Value,
    session_id: Option<String>,
    message_id: Option<String>,
    correlation_id: Option<String>,
    content_type: Option<String>,
    subject: Option<String>,
    to: Option<String>,
    reply_to: Option<String>,
    reply_to_session_id: Option<String>,
    time_to_live: Option<String>,
    #[serde(default)]
    properties: serde_json::Map<String, serde_json::Value>,
}

/// Reads every message of a JSON-lines file; errors name the file and the line.
pub fn read(path: &Path) -> Result<Vec<Message>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, &path.display().to_string())
}

/// Parses JSON-lines text; blank lines and lines starting with `#` are skipped.
pub fn parse(text: &str, file_name: &str) -> Result<Vec<Message>, String> {
    let mut messages = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("{file_name}:{}: {e}", index + 1);
        let line: Line = serde_json::from_str(trimmed).map_err(|e| at(e.to_string()))?;
        messages.push(to_message(line).map_err(at)?);
    }
    Ok(messages)
}

fn to_message(line: Line) -> Result<Message, String> {
    let (body, default_type) = match line.body {
        serde_json::Value::String(text) => (text.into_bytes(), None),
        other => (other.to_string().into_bytes(), Some("application/json")),
    };
    let mut message = Message::with_body(body);
    message.session_id = line.session_id;
    message.message_id = line.message_id;
    message.correlation_id = line.correlation_id;
    message.content_type = line.content_type.or(default_type.map(str::to_owned));
    message.subject = line.subject;
    message.to = line.to;
    message.reply_to = line.reply_to;
    message.reply_to_session_id = line.reply_to_session_id;
    message.time_to_live = line
        .time_to_live
        .map(|ttl| parse_duration(&ttl).map_err(|e| format!("time_to_live: {e}")))
        .transpose()?;
    for (key, value) in line.properties {
        message.application_properties.insert(
            key.clone(),
            property(value).map_err(|e| format!("properties.{key}: {e}"))?,
        );
    }
    Ok(message)
}

/// An application property from JSON: strings, integers, floats and booleans.
pub fn property(value: serde_json::Value) -> Result<PropertyValue, String> {
    match value {
        serde_json::Value::String(s) => Ok(PropertyValue::String(s)),
        serde_json::Value::Bool(b) => Ok(PropertyValue::Bool(b)),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Ok(PropertyValue::Long(i)),
            (None, Some(u), _) => Ok(PropertyValue::ULong(u)),
            (None, None, Some(f)) => Ok(PropertyValue::Double(f)),
            _ => Err(format!("the number {n} is out of range")),
        },
        serde_json::Value::Null => Ok(PropertyValue::Null),
        other => Err(format!(
            "only strings, numbers, booleans and null can be application properties, not {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_messages() {
        let text = "# orders\n{\"session_id\":\"c1\",\"message_id\":\"m1\",\"body\":{\"a\":1},\"properties\":{\"MessageType\":\"Order\",\"n\":3}}\n\n{\"body\":\"hi\",\"time_to_live\":\"5m\"}\n";
        let messages = parse(text, "f.jsonl").unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].session_id.as_deref(), Some("c1"));
        assert_eq!(&messages[0].body[..], b"{\"a\":1}");
        assert_eq!(
            messages[0].content_type.as_deref(),
            Some("application/json")
        );
        assert_eq!(
            messages[0].application_properties.get("n"),
            Some(&PropertyValue::Long(3))
        );
        assert_eq!(&messages[1].body[..], b"hi");
        assert_eq!(messages[1].content_type, None);
        assert_eq!(
            messages[1].time_to_live,
            Some(std::time::Duration::from_secs(300))
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse(
            "{\"body\":1}\n{\"body\":1,\"sesion_id\":\"x\"}\n",
            "f.jsonl",
        )
        .unwrap_err();
        assert!(
            err.starts_with("f.jsonl:2: unknown field `sesion_id`"),
            "{err}"
        );
        let err = parse("{\"body\":1,\"properties\":{\"p\":[1]}}", "f.jsonl").unwrap_err();
        assert!(err.contains("properties.p"), "{err}");
    }
}
