//! Log output: `tracing` with a span per session and per invocation, human-readable or
//! JSON lines. `RUST_LOG` overrides `[logging] level`.
//!
//! The human-readable format puts what happened first and then the context — the fields of
//! the innermost span, which carries what matters (an invocation span has the function,
//! session and message) — on one line:
//!
//! ```text
//! 2026-11-23T16:55:33.106Z  INFO session message received step=payment.authorized sequence=1 · function=process_session_message session_id=cust-42 message_id=m-7 delivery_count=1 sequence_number=12
//! ```

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingConfig};

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Standard output (the host).
    Stdout,
    /// Standard error (commands whose standard output is data, e.g. `host emulator`).
    Stderr,
}

/// Installs the global subscriber (once; later calls do nothing).
pub fn init(config: &LoggingConfig, format: Option<LogFormat>) {
    init_to(config, format, Output::Stdout);
}

/// Installs the global subscriber writing to `output`.
pub fn init_to(config: &LoggingConfig, format: Option<LogFormat>, output: Output) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = match output {
        Output::Stdout => std::io::IsTerminal::is_terminal(&std::io::stdout()),
        Output::Stderr => std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || -> Box<dyn std::io::Write> {
            match output {
                Output::Stdout => Box::new(std::io::stdout()),
                Output::Stderr => Box::new(std::io::stderr()),
            }
        });
    let _ = match format.unwrap_or(config.format) {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        LogFormat::Pretty => builder
            .with_ansi(ansi)
            .event_format(EventFirst { ansi })
            .try_init(),
    };
}

/// One line per event: time, level, the event's message and fields, then ` · ` and the
/// fields of the innermost span it happened in.
struct EventFirst {
    ansi: bool,
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
