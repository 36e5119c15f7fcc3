//! The human-readable format: what happened first, then the context — the fields of the
//! innermost span — on one line. Fields that only matter to machines (dotted OpenTelemetry
//! names, span ids, the invocation id, the sequence number) are left to the JSON lines.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// One line per event: time, level, the event's message and fields, then ` · ` and the
/// fields of the innermost span it happened in.
pub(super) struct EventFirst {
    pub(super) ansi: bool,
}

impl<S, N> FormatEvent<S, N> for EventFirst
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (dim, reset) = if self.ansi {
            ("\x1b[2m", "\x1b[0m")
        } else {
            ("", "")
        };
        write!(writer, "{dim}")?;
        SystemTime.format_time(&mut writer)?;
        write!(
            writer,
            "{reset} {} ",
            Level(*event.metadata().level(), self.ansi)
        )?;
        ctx.format_fields(writer.by_ref(), event)?;
        if let Some(span) = ctx.lookup_current() {
            let extensions = span.extensions();
            if let Some(fields) = extensions.get::<FormattedFields<N>>() {
                if !fields.is_empty() {
                    write!(writer, " {dim}· {fields}{reset}")?;
                }
            }
        }
        writeln!(writer)
    }
}

struct Level(tracing::Level, bool);

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, color) = match self.0 {
            tracing::Level::ERROR => ("ERROR", "\x1b[31m"),
            tracing::Level::WARN => (" WARN", "\x1b[33m"),
            tracing::Level::INFO => (" INFO", "\x1b[32m"),
            tracing::Level::DEBUG => ("DEBUG", "\x1b[34m"),
            tracing::Level::TRACE => ("TRACE", "\x1b[35m"),
        };
        if self.1 {
            write!(f, "{color}{name}\x1b[0m")
        } else {
            f.write_str(name)
        }
    }
}

/// Formats fields as `name=value`, leaving out the ones [`machine_only`] names; `message`
/// is written bare.
pub(super) struct PrettyFields;

/// Fields the pretty format leaves to the JSON lines.
fn machine_only(name: &str) -> bool {
    name.contains('.')
        || matches!(
            name,
            "invocation_id" | "sequence_number" | "span_id" | "parent_span_id"
        )
}

impl<'writer> FormatFields<'writer> for PrettyFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PrettyVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PrettyVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl Visit for PrettyVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        if self.result.is_err() || machine_only(name) {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        self.result = if name == "message" {
            write!(self.writer, "{separator}{value:?}")
        } else {
            let name = name.strip_prefix("r#").unwrap_or(name);
            write!(self.writer, "{separator}{name}={value:?}")
        };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_pretty_line_shows_the_short_names_and_the_trace_id_only() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .fmt_fields(PrettyFields)
            .event_format(EventFirst { ansi: false });
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "invocation",
                function = "f",
                session_id = "cust-42",
                message_id = "m-7",
                delivery_count = 1,
                sequence_number = 12,
                invocation_id = "00ab",
                trace_id = tracing::field::Empty,
                span_id = "00f067aa0ba902b7",
                messaging.system = "servicebus",
            );
            span.record("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
            let _entered = span.enter();
            tracing::info!(step = "paid", "message received");
        });
        let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default())
            .unwrap_or_default();
        let line = text.trim_end();
        assert!(
            line.ends_with(
                " INFO message received step=\"paid\" · function=\"f\" session_id=\"cust-42\" \
                 message_id=\"m-7\" delivery_count=1 trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\""
            ),
            "{line}"
        );
    }
}
