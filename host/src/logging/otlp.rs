//! OpenTelemetry export (cargo feature `otlp`): when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans go to that collector over OTLP/HTTP
//! with protobuf bodies, batched on the exporter's own thread.
//!
//! Each invocation span's OpenTelemetry parent is the producer's span from the message's
//! `traceparent` / `Diagnostic-Id`; without one it starts a new trace (not a child of the
//! long-lived session span). The ids the exporter assigns are the ones the logs, the
//! handler's `TraceContext` and outgoing messages carry.
//!
//! The HTTP client is hyper's HTTP/1.1 connection on a small current-thread Tokio runtime
//! owned by the exporter (logging starts before the host's runtime does). Plain `http://`
//! only: point it at a collector or agent next to the host.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use berth::trace::{SpanId, TraceId};
use berth::TraceContext;
use bytes::Bytes;
use http::{header, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use opentelemetry::trace::{
    SpanContext, TraceContextExt, TraceFlags, TraceState, TracerProvider as _,
};
use opentelemetry::Context;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::{Span, Subscriber};
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};
use tracing_subscriber::registry::LookupSpan;

/// The tracer provider, once export is on (kept to flush it at exit).
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// How long one export request may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The OpenTelemetry layer, when `OTEL_EXPORTER_OTLP_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set and the exporter could be built.
pub(super) fn layer<S>() -> Option<OpenTelemetryLayer<S, SdkTracer>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return None;
    }
    let provider = match provider(set("OTEL_SERVICE_NAME")) {
        Ok(provider) => provider,
        Err(e) => {
            eprintln!("OpenTelemetry export is off: {e}");
            return None;
        }
    };
    let tracer = provider.tracer("berth-host");
    let _ = PROVIDER.set(provider);
    Some(tracing_opentelemetry::layer().with_tracer(tracer))
}

fn provider(service_named: bool) -> Result<SdkTracerProvider, HttpError> {
    let client = HyperHttp {
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(EXPORT_TIMEOUT)
        .build()?;
    let mut resource = Resource::builder();
    if !service_named {
        let name = std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "berth-host".to_owned());
        resource = resource.with_service_name(name);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// Flushes and stops the exporter.
pub(super) fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        if let Err(e) = provider.shutdown() {
            eprintln!("OpenTelemetry export did not shut down cleanly: {e}");
        }
    }
}

/// Makes `span` the OpenTelemetry child of `trace`'s parent (or a new root), names it
/// `process <destination>`, and adopts the ids the exporter gave it into `trace`.
pub(super) fn link(span: &Span, trace: &mut TraceContext, destination: &str) {
    if PROVIDER.get().is_none() {
        return;
    }
    let parent = match trace.parent_span_id {
        Some(parent_span) => {
            let state = trace
                .trace_state
                .as_deref()
                .and_then(|s| s.parse::<TraceState>().ok())
                .unwrap_or_default();
            let remote = SpanContext::new(
                opentelemetry::trace::TraceId::from_bytes(trace.trace_id.0),
                opentelemetry::trace::SpanId::from_bytes(parent_span.0),
                TraceFlags::new(trace.flags),
                true,
                state,
            );
            Context::new().with_remote_span_context(remote)
        }
        None => Context::new(),
    };
    if span.set_parent(parent).is_err() {
        return;
    }
    span.record("otel.name", format!("process {destination}"));
    let context = span.context();
    let started = context.span().span_context().clone();
    if started.is_valid() {
        trace.trace_id = TraceId(started.trace_id().to_bytes());
        trace.span_id = SpanId(started.span_id().to_bytes());
    }
}

/// OTLP/HTTP requests over one hyper HTTP/1.1 connection each, on the exporter's runtime.
#[derive(Debug)]
struct HyperHttp {
    runtime: tokio::runtime::Runtime,
}

impl HttpClient for HyperHttp {
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        // The batch exporter polls this on its own thread, outside any Tokio runtime.
        Box::pin(async move {
            self.runtime
                .block_on(async { tokio::time::timeout(EXPORT_TIMEOUT, post(request)).await })
                .map_err(|_| HttpError::from("the OTLP endpoint did not answer in time"))?
        })
    }
}

async fn post(request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
    let (mut parts, body) = request.into_parts();
    let uri = parts.uri.clone();
    if uri.scheme_str() != Some("http") {
        return Err(format!("{uri}: only http:// OTLP endpoints are supported").into());
    }
    let host = uri.host().ok_or_else(|| format!("{uri}: no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    if let Some(authority) = uri.authority() {
        parts
            .headers
            .insert(header::HOST, authority.as_str().parse()?);
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = path.parse::<Uri>()?;
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, body))
}
