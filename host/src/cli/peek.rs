//! `host peek`: show the messages of a queue, a subscription or a dead-letter queue without
//! locking or removing them, for operators.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::SystemTime;

use berth::{Message, PropertyValue};
use clap::Args;
use serde_json::{json, Value};

use crate::servicebus::{PeekedMessage, ServiceBusClient};

use super::connection_args::ConnectionArgs;

/// Messages asked of the broker per request.
const PAGE: u32 = 100;
/// Body characters shown in the text output unless `--max-body` says otherwise.
const TEXT_BODY_LIMIT: usize = 200;

/// `host peek` options.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("entity").required(true).args(["queue", "topic"]))]
pub struct PeekArgs {
    /// How to reach the namespace.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Peek this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// Peek a subscription of this topic (with --subscription).
    #[arg(long, requires = "subscription")]
    pub topic: Option<String>,
    /// The subscription of --topic.
    #[arg(long, requires = "topic")]
    pub subscription: Option<String>,
    /// Peek the entity's dead-letter queue.
    #[arg(long)]
    pub dead_letter: bool,
    /// Only this session's messages.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Start at this sequence number.
    #[arg(long = "from", value_name = "SEQ", default_value_t = 0)]
    pub from_sequence_number: i64,
    /// Show at most this many messages.
    #[arg(long, default_value_t = 10)]
    pub count: u32,
    /// Show at most this many characters of each body (default: 200 in text, all in JSON).
    #[arg(long, value_name = "CHARS")]
    pub max_body: Option<usize>,
    /// Print a JSON array instead of text.
    #[arg(long)]
    pub json: bool,
}

impl PeekArgs {
    /// The entity path: `queue` or `topic/Subscriptions/sub`, `/$DeadLetterQueue` appended
    /// with --dead-letter.
    fn entity(&self) -> Result<String, String> {
        let path = match (&self.queue, &self.topic, &self.subscription) {
            (Some(queue), None, None) => queue.clone(),
            (None, Some(topic), Some(subscription)) => {
                format!("{topic}/Subscriptions/{subscription}")
            }
            _ => return Err("give --queue, or --topic with --subscription".into()),
        };
        Ok(if self.dead_letter {
            format!("{path}/$DeadLetterQueue")
        } else {
            path
        })
    }
}

/// Runs `host peek`. When paging stops early (an error, or a broker that does not move
/// forward), what was peeked so far is printed, then the reason, and the exit code is 1.
pub(crate) fn run(args: PeekArgs) -> ExitCode {
    let result = args.entity().and_then(|entity| {
        let connection_string = args.connection.resolve()?;
        let options = args.connection.client_options()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        runtime.block_on(async {
            let client = ServiceBusClient::connect_with(connection_string, options)
                .await
                .map_err(|e| format!("cannot connect: {e}"))?;
            let peeked = peek_all(&client, &entity, &args).await;
            client.close().await;
            Ok(peeked)
        })
    });
    match result {
        Ok(Paged { messages, stopped }) => {
            print!("{}", render(&messages, &args));
            match stopped {
                None => ExitCode::SUCCESS,
                Some(e) => {
                    eprintln!("error: {e}; stopped after {} messages", messages.len());
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What paging through an entity gave.
struct Paged {
    /// The messages, in sequence order, each once.
    messages: Vec<PeekedMessage>,
    /// Why paging stopped before `--count` messages or the end.
    stopped: Option<String>,
}

/// Pages through the entity until `--count` messages or the end. Each page starts after the
/// last message shown, and the client keeps a page to what was asked (nothing before its
/// start, in order, each once), so nothing is shown twice and the cursor only moves forward.
async fn peek_all(client: &ServiceBusClient, entity: &str, args: &PeekArgs) -> Paged {
    let mut messages = Vec::new();
    let mut from = args.from_sequence_number;
    let mut left = args.count;
    while left > 0 {
        let page = match client
            .peek(entity, from, left.min(PAGE), args.session.as_deref())
            .await
        {
            Ok(page) => page,
            Err(e) => {
                return Paged {
                    messages,
                    stopped: Some(format!("peeking {entity} failed: {e}")),
                }
            }
        };
        let Some(last) = page.last().map(|p| p.message.sequence_number) else {
            break;
        };
        left = left.saturating_sub(u32::try_from(page.len()).unwrap_or(u32::MAX));
        messages.extend(page);
        match last.checked_add(1) {
            Some(next) => from = next,
            None => break, // the last possible sequence number
        }
    }
    Paged {
        messages,
        stopped: None,
    }
}

/// The whole output, text or JSON.
fn render(messages: &[PeekedMessage], args: &PeekArgs) -> String {
    if args.json {
        let list: Vec<Value> = messages.iter().map(|p| to_json(p, args.max_body)).collect();
        let mut out = Value::Array(list).to_string();
        out.push('\n');
        return out;
    }
    let mut out = String::new();
    for peeked in messages {
        write_text(&mut out, peeked, args.max_body.unwrap_or(TEXT_BODY_LIMIT));
    }
    let _ = writeln!(
        out,
        "{} message{}",
        messages.len(),
        if messages.len() == 1 { "" } else { "s" }
    );
    out
}

fn write_text(out: &mut String, peeked: &PeekedMessage, max_body: usize) {
    let m = &peeked.message;
    let _ = write!(out, "#{}", m.sequence_number);
    let _ = write!(out, "  id={}", m.message_id.as_deref().unwrap_or("-"));
    if let Some(session) = &m.session_id {
        let _ = write!(out, "  session={session}");
    }
    if let Some(at) = m.enqueued_time {
        let _ = write!(out, "  enqueued={}", rfc3339(at));
    }
    let _ = writeln!(
        out,
        "  deliveries={}  state={}",
        m.delivery_count,
        peeked.state.name()
    );
    if m.dead_letter_reason.is_some() || m.dead_letter_error_description.is_some() {
        let _ = writeln!(
            out,
            "  dead-lettered: {}: {}",
            m.dead_letter_reason.as_deref().unwrap_or("-"),
            m.dead_letter_error_description.as_deref().unwrap_or("-")
        );
    }
    let properties: Vec<String> = m
        .application_properties
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "DeadLetterReason" | "DeadLetterErrorDescription"
            )
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !properties.is_empty() {
        let _ = writeln!(out, "  properties: {}", properties.join(", "));
    }
    let (body, truncated) = body_text(m, Some(max_body));
    let _ = writeln!(
        out,
        "  body ({} bytes{}): {}{}",
        m.body.len(),
        m.content_type
            .as_deref()
            .map(|t| format!(", {t}"))
            .unwrap_or_default(),
        body,
        if truncated { "…" } else { "" }
    );
}

fn to_json(peeked: &PeekedMessage, max_body: Option<usize>) -> Value {
    let m = &peeked.message;
    let (body, truncated) = body_text(m, max_body);
    let utf8 = m.body_str().is_some();
    let properties: serde_json::Map<String, Value> = m
        .application_properties
        .iter()
        .map(|(k, v)| (k.clone(), property_json(v)))
        .collect();
    json!({
        "sequence_number": m.sequence_number,
        "message_id": m.message_id,
        "session_id": m.session_id,
        "enqueued_time": m.enqueued_time.map(rfc3339),
        "delivery_count": m.delivery_count,
        "state": peeked.state.name(),
        "dead_letter_reason": m.dead_letter_reason,
        "dead_letter_description": m.dead_letter_error_description,
        "dead_letter_source": m.dead_letter_source,
        "content_type": m.content_type,
        "subject": m.subject,
        "correlation_id": m.correlation_id,
        "properties": properties,
        "body_size": m.body.len(),
        "body_encoding": if utf8 { "utf-8" } else { "hex" },
        "body": body,
        "body_truncated": truncated,
    })
}

/// The body as text (hex when it is not UTF-8), cut at `max` characters; and whether it
/// was cut.
fn body_text(m: &Message, max: Option<usize>) -> (String, bool) {
    let max = max.unwrap_or(usize::MAX);
    match m.body_str() {
        Some(text) => {
            let cut: String = text.chars().take(max).collect();
            let truncated = cut.len() < text.len();
            (cut, truncated)
        }
        None => {
            let bytes = (max / 2).min(m.body.len());
            let hex = m.body[..bytes].iter().fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            });
            (hex, bytes < m.body.len())
        }
    }
}

fn property_json(value: &PropertyValue) -> Value {
    match value {
        PropertyValue::Null => Value::Null,
        PropertyValue::Bool(v) => json!(v),
        PropertyValue::Long(v) => json!(v),
        PropertyValue::ULong(v) => json!(v),
        PropertyValue::Double(v) => json!(v),
        PropertyValue::String(v) => json!(v),
        PropertyValue::Timestamp(at) => json!(rfc3339(*at)),
        other => json!(other.to_string()),
    }
}

/// `2026-11-23T17:01:02.345Z`.
fn rfc3339(at: SystemTime) -> String {
    berth_emulator::iso8601::utc(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let at = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(rfc3339(at), "2024-02-29T12:34:56.789Z");
        let at = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(at), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn bodies_are_cut_at_characters_and_binary_shows_as_hex() {
        let m = Message::with_body("héllo wörld");
        assert_eq!(body_text(&m, Some(5)), ("héllo".to_owned(), true));
        assert_eq!(body_text(&m, None), ("héllo wörld".to_owned(), false));
        let m = Message::with_body(vec![0xff, 0x00, 0x10]);
        assert_eq!(body_text(&m, Some(4)), ("ff00".to_owned(), true));
        assert_eq!(body_text(&m, None), ("ff0010".to_owned(), false));
    }
}
