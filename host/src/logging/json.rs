//! JSON lines: one flat object per event, with the fields of every span it happened in at
//! the top level, so a log query can filter on `trace_id`, `session_id` or
//! `messaging.destination.name` directly:
//!
//! ```text
//! {"timestamp":"…","level":"INFO","message":"invocation completed","outcome":"ok",…,
//!  "function":"process","session_id":"cust-42","trace_id":"4bf9…","messaging.system":"servicebus",…,
//!  "target":"berth_host::runtime::session_pump::invoke","span":{"name":"invocation","function":"process",…}}
//! ```
//!
//! An event's own fields come first; then span fields from the innermost span out, each
//! name once (the innermost value wins). `span` repeats the innermost span's name and its
//! undotted fields, the shape earlier versions logged. `otel.*` fields (span name and kind
//! for the OpenTelemetry exporter) are not logged. Each line is written with one call, from
//! a reused per-thread buffer.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::ops::Range;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The layer writing JSON lines to `W` (what `host start --log-format json` installs; public
/// so that tests and embedding programs can compose it into their own subscriber).
pub struct JsonLayer<W> {
    make_writer: W,
}

impl<W> JsonLayer<W> {
    /// A layer writing each line to a writer made by `make_writer`.
    pub fn new(make_writer: W) -> Self {
        JsonLayer { make_writer }
    }
}

/// A span's fields, rendered as JSON values once when recorded.
#[derive(Default)]
struct SpanFields {
    values: String,
    fields: Vec<(&'static str, Range<usize>)>,
}

impl SpanFields {
    fn values(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.fields
            .iter()
            .filter_map(|(name, range)| Some((*name, self.values.get(range.clone())?)))
    }
}

impl Visit for SpanFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let start = self.values.len();
        write_debug(&mut self.values, value);
        self.push(field.name(), start);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let start = self.values.len();
        write_str(&mut self.values, value);
        self.push(field.name(), start);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        let start = self.values.len();
        let _ = write!(self.values, "{value}");
        self.push(field.name(), start);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        let start = self.values.len();
        let _ = write!(self.values, "{value}");
        self.push(field.name(), start);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        let start = self.values.len();
        let _ = write!(self.values, "{value}");
        self.push(field.name(), start);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        let start = self.values.len();
        write_f64(&mut self.values, value);
        self.push(field.name(), start);
    }
}

impl SpanFields {
    fn push(&mut self, name: &'static str, start: usize) {
        // A later `record` of a field replaces its earlier value.
        self.fields.retain(|(n, _)| *n != name);
        self.fields.push((name, start..self.values.len()));
    }
}

/// The names written on one line so far, so each appears once.
struct Written {
    names: [&'static str; 48],
    len: usize,
}

impl Written {
    fn contains(&self, name: &str) -> bool {
        self.names[..self.len].contains(&name)
    }
    fn add(&mut self, name: &'static str) {
        if let Some(slot) = self.names.get_mut(self.len) {
            *slot = name;
            self.len += 1;
        }
    }
}

/// Writes an event's fields, `message` included, as `,"name":value`.
struct EventFields<'a> {
    line: &'a mut String,
    written: &'a mut Written,
}

impl EventFields<'_> {
    fn key(&mut self, field: &Field) {
        let name = field.name();
        self.written.add(name);
        write_key(self.line, name.strip_prefix("r#").unwrap_or(name));
    }
}

impl Visit for EventFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        write_debug(self.line, value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        write_str(self.line, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        write_f64(self.line, value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.key(field);
        let _ = self.line.write_char('"');
        let _ = write!(Escaped(self.line), "{value}");
        let _ = self.line.write_char('"');
    }
}

/// Fields the JSON lines leave out: the OpenTelemetry layer's `otel.*` controls.
fn hidden(name: &str) -> bool {
    name.starts_with("otel.") || name.starts_with("log.")
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut fields = SpanFields::default();
            attrs.record(&mut fields);
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        thread_local! {
            static LINE: RefCell<String> = const { RefCell::new(String::new()) };
        }
        let write = |line: &mut String| {
            line.clear();
            self.format(event, &ctx, line);
            let mut writer = self.make_writer.make_writer_for(event.metadata());
            let _ = writer.write_all(line.as_bytes());
        };
        let reused = LINE.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                write(&mut line);
                true
            }
            Err(_) => false,
        });
        if reused != Ok(true) {
            write(&mut String::new());
        }
    }
}

impl<W> JsonLayer<W> {
    fn format<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>, line: &mut String)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let metadata = event.metadata();
        line.push_str("{\"timestamp\":\"");
        let _ = SystemTime.format_time(&mut Writer::new(line));
        let _ = write!(line, "\",\"level\":\"{}\"", metadata.level());
        let mut written = Written {
            names: [""; 48],
            len: 0,
        };
        event.record(&mut EventFields {
            line,
            written: &mut written,
        });
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<SpanFields>() else {
                    continue;
                };
                for (name, value) in fields.values() {
                    if !hidden(name) && !written.contains(name) {
                        written.add(name);
                        write_key(line, name);
                        line.push_str(value);
                    }
                }
            }
        }
        write_key(line, "target");
        write_str(line, metadata.target());
        if let Some(span) = ctx.event_span(event) {
            line.push_str(",\"span\":{\"name\":");
            write_str(line, span.name());
            if let Some(fields) = span.extensions().get::<SpanFields>() {
                for (name, value) in fields.values() {
                    if !name.contains('.') {
                        write_key(line, name);
                        line.push_str(value);
                    }
                }
            }
            line.push('}');
        }
        line.push_str("}\n");
    }
}

fn write_key(line: &mut String, name: &str) {
    line.push_str(",\"");
    let _ = Escaped(line).write_str(name);
    line.push_str("\":");
}

fn write_str(out: &mut String, value: &str) {
    out.push('"');
    let _ = Escaped(out).write_str(value);
    out.push('"');
}

fn write_debug(out: &mut String, value: &dyn fmt::Debug) {
    out.push('"');
    let _ = write!(Escaped(out), "{value:?}");
    out.push('"');
}

fn write_f64(out: &mut String, value: f64) {
    if value.is_finite() {
        let _ = write!(out, "{value}");
    } else {
        write_str(out, &format!("{value}"));
    }
}

/// Writes text escaped for the inside of a JSON string.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.push_str(&s[plain..i]);
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.push_str(escape);
            }
            plain = i + 1;
        }
        self.0.push_str(&s[plain..]);
        Ok(())
    }
}
