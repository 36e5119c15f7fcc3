//! Log output: `tracing` with a span per session and per invocation, human-readable or
//! JSON lines. `RUST_LOG` overrides `[logging] level`.
//!
//! The human-readable format puts what happened first and then the context — the fields of
//! the innermost span, which carries what matters (an invocation span has the function,
//! session and message) — on one line:
//!
//! ```text
//! 2026-11-23T16:55:33.106Z  INFO session message received step=payment.authorized sequence=1 · function=process_session_message session_id=cust-42 message_id="m-7" delivery_count=1 trace_id=4bf92f3577b34da6a3ce929d0e0e4736
//! ```
//!
//! The JSON lines ([`JsonLayer`]) carry every field of every span the event happened in,
//! with the OpenTelemetry messaging names (`messaging.system`, `messaging.destination.name`,
//! …) next to `session_id`, `message_id`, `delivery_count`, `invocation_id` and the trace
//! context (`trace_id`, `span_id`, `parent_span_id`) — see `invocation`. With the `otlp`
//! feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported over OTLP.

mod invocation;
mod json;
#[cfg(feature = "otlp")]
mod otlp;
mod pretty;

use std::io;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingConfig};
pub(crate) use invocation::invocation_span;
pub use json::JsonLayer;
use pretty::{EventFirst, PrettyFields};

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
        Output::Stdout => io::IsTerminal::is_terminal(&io::stdout()),
        Output::Stderr => io::IsTerminal::is_terminal(&io::stderr()),
    };
    let registry = tracing_subscriber::registry().with(filter);
    #[cfg(feature = "otlp")]
    let registry = registry.with(otlp::layer());
    let _ = match format.unwrap_or(config.format) {
        LogFormat::Json => registry.with(JsonLayer::new(output)).try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(output)
                    .with_ansi(ansi)
                    .fmt_fields(PrettyFields)
                    .event_format(EventFirst { ansi }),
            )
            .try_init(),
    };
}

/// Flushes what the OpenTelemetry exporter still holds (with the `otlp` feature; otherwise
/// nothing). Call once before the process exits.
pub fn shutdown() {
    #[cfg(feature = "otlp")]
    otlp::shutdown();
}

/// A handle on standard output or standard error, made per event.
pub enum OutputWriter {
    /// Standard output.
    Stdout(io::Stdout),
    /// Standard error.
    Stderr(io::Stderr),
}

impl io::Write for OutputWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            OutputWriter::Stdout(out) => out.write(buf),
            OutputWriter::Stderr(err) => err.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            OutputWriter::Stdout(out) => out.lock().write_all(buf),
            OutputWriter::Stderr(err) => err.lock().write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            OutputWriter::Stdout(out) => out.flush(),
            OutputWriter::Stderr(err) => err.flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for Output {
    type Writer = OutputWriter;

    fn make_writer(&'a self) -> OutputWriter {
        match self {
            Output::Stdout => OutputWriter::Stdout(io::stdout()),
            Output::Stderr => OutputWriter::Stderr(io::stderr()),
        }
    }
}
