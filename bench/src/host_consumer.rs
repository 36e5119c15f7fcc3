//! The host's own session consumer, in this process: `runtime::acceptor::run` over
//! `ServiceBusClient::session_source`, a no-op handler, peek-lock. Measures throughput and
//! this process's CPU time, how long accept-next takes, memory per open session, and
//! end-to-end latency at a fixed send rate.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth::host::BoxedHandler;
use berth::{ApplicationProperties, CancellationToken, Message, ServiceBusError};
use berth_host::runtime::{acceptor, Entity, FunctionSpec, SessionSource, TriggerSettings};
use berth_host::servicebus::{ConnectionString, ServiceBusClient};
use tokio::sync::Notify;

use crate::percentiles::Percentiles;
use crate::{usage, Options};

/// How long one phase may take before the run fails.
const PHASE_LIMIT: Duration = Duration::from_secs(900);

/// What the throughput phase measured.
#[derive(Debug, Clone)]
pub(crate) struct Throughput {
    pub(crate) messages: u64,
    pub(crate) elapsed: Duration,
    pub(crate) cpu: Duration,
    /// How long each accept-next took that returned a session.
    pub(crate) accept: Percentiles,
}

/// Resident memory per open session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Memory {
    pub(crate) sessions: u32,
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_open_kib: u64,
}

/// End-to-end latency (send → handler) at a fixed send rate.
#[derive(Debug, Clone)]
pub(crate) struct Latency {
    pub(crate) rate: u32,
    pub(crate) sessions: u32,
    pub(crate) messages: u64,
    pub(crate) achieved_rate: f64,
    pub(crate) latency: Percentiles,
}

async fn connect(cs: &str) -> Result<ServiceBusClient, String> {
    let cs = ConnectionString::parse(cs).map_err(|e| e.to_string())?;
    ServiceBusClient::connect(cs)
        .await
        .map_err(|e| format!("cannot connect: {e}"))
}

fn spec(options: &Options, settings: TriggerSettings, handler: BoxedHandler) -> Arc<FunctionSpec> {
    Arc::new(FunctionSpec {
        name: "bench".into(),
        entity: Entity::Queue(options.queue().into()),
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings,
        handler,
    })
}

fn settings(options: &Options, max_concurrent_sessions: u32) -> TriggerSettings {
    TriggerSettings {
        max_concurrent_sessions,
        prefetch_count: options.host_prefetch,
        session_idle_timeout: Duration::from_millis(options.idle_ms),
        ..TriggerSettings::default()
    }
}

/// A session source that times every accept-next that gives a session.
struct Timed<S> {
    inner: Arc<S>,
    accepts: Mutex<Vec<Duration>>,
}

impl<S: SessionSource> SessionSource for Timed<S> {
    type Session = S::Session;

    async fn accept_next(&self) -> Result<Option<S::Session>, ServiceBusError> {
        let started = Instant::now();
        let accepted = self.inner.accept_next().await;
        if let Ok(Some(_)) = &accepted {
            self.accepts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(started.elapsed());
        }
        accepted
    }

    async fn accept_session(
        &self,
        session_id: &str,
    ) -> Result<Option<S::Session>, ServiceBusError> {
        self.inner.accept_session(session_id).await
    }
}

/// Runs a trigger with `handler` until `done` is notified, then shuts it down.
async fn run_until<S: SessionSource>(
    spec: Arc<FunctionSpec>,
    source: Arc<S>,
    done: &Notify,
    what: &str,
) -> Result<(), String> {
    let shutdown = CancellationToken::new();
    let trigger = tokio::spawn(acceptor::run(spec, source, shutdown.clone()));
    let finished = tokio::time::timeout(PHASE_LIMIT, done.notified()).await;
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(60), trigger).await;
    finished.map_err(|_| format!("{what} did not finish within {PHASE_LIMIT:?}"))
}

/// Consumes the whole workload (already sent) with a no-op handler.
pub(crate) async fn throughput(options: &Options, cs: &str) -> Result<Throughput, String> {
    let client = connect(cs).await?;
    let total = options.total();
    let handled = Arc::new(AtomicU64::new(0));
    let done = Arc::new(Notify::new());
    let handler = {
        let (handled, done) = (handled.clone(), done.clone());
        BoxedHandler::new(move || {
            if handled.fetch_add(1, Ordering::Relaxed) + 1 == total {
                done.notify_one();
            }
            async {}
        })
    };
    let spec = spec(options, settings(options, options.concurrency), handler);
    let source = Arc::new(Timed {
        inner: client.session_source(&spec.entity.path(), spec.settings.prefetch_count),
        accepts: Mutex::new(Vec::new()),
    });
    let cpu_before = usage::own()?.cpu;
    let started = Instant::now();
    run_until(spec, source.clone(), &done, "the host's consumer").await?;
    let elapsed = started.elapsed();
    let cpu = usage::own()?.cpu.saturating_sub(cpu_before);
    client.close().await;
    let accepts = std::mem::take(
        &mut *source
            .accepts
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    Ok(Throughput {
        messages: handled.load(Ordering::Relaxed),
        elapsed,
        cpu,
        accept: Percentiles::of(accepts),
    })
}

/// Holds `options.memory_sessions` sessions open at once (each with an invocation waiting)
/// and compares this process's resident memory with what it was before.
pub(crate) async fn memory(options: &Options, cs: &str) -> Result<Memory, String> {
    let sessions = options.memory_sessions;
    let client = connect(cs).await?;
    let sender = client.sender(options.queue());
    let messages: Vec<Message> = (0..sessions)
        .map(|k| Message::with_body("m").session(format!("mem{k}")))
        .collect();
    for chunk in messages.chunks(500) {
        sender.send_batch(chunk).await.map_err(|e| e.to_string())?;
    }
    let open = Arc::new(AtomicUsize::new(0));
    let all_open = Arc::new(Notify::new());
    let release = CancellationToken::new();
    let handler = {
        let (open, all_open, release) = (open.clone(), all_open.clone(), release.clone());
        BoxedHandler::new(move || {
            if open.fetch_add(1, Ordering::SeqCst) + 1 == sessions as usize {
                all_open.notify_one();
            }
            let release = release.clone();
            async move { release.cancelled().await }
        })
    };
    let spec = spec(options, settings(options, sessions), handler);
    let source = client.session_source(&spec.entity.path(), spec.settings.prefetch_count);
    let rss_before_kib = usage::own()?.rss_kib;
    let shutdown = CancellationToken::new();
    let trigger = tokio::spawn(acceptor::run(spec, source, shutdown.clone()));
    let opened = tokio::time::timeout(PHASE_LIMIT, all_open.notified()).await;
    let rss_open_kib = usage::own()?.rss_kib;
    release.cancel();
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(60), trigger).await;
    client.close().await;
    opened.map_err(|_| format!("{sessions} sessions were not all open within {PHASE_LIMIT:?}"))?;
    Ok(Memory {
        sessions,
        rss_before_kib,
        rss_open_kib,
    })
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Sends at `options.latency_rate` msg/s over `options.latency_sessions` sessions for
/// `options.latency_seconds` while the host consumes, and records send → handler latency.
pub(crate) async fn latency(options: &Options, cs: &str) -> Result<Latency, String> {
    let (rate, sessions) = (
        options.latency_rate.max(100),
        options.latency_sessions.max(1),
    );
    let total = u64::from(rate) * u64::from(options.latency_seconds.max(1));
    let client = connect(cs).await?;
    let seen = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let done = Arc::new(Notify::new());
    let handler = {
        let (seen, done) = (seen.clone(), done.clone());
        BoxedHandler::new(
            move |ApplicationProperties(properties): ApplicationProperties| {
                let sent = properties.get("sent_at_us").and_then(|v| v.as_i64());
                let latency =
                    Duration::from_micros(now_us().saturating_sub(sent.unwrap_or(0) as u64));
                let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
                seen.push(latency);
                if seen.len() as u64 == total {
                    done.notify_one();
                }
                async {}
            },
        )
    };
    let spec = spec(options, settings(options, sessions), handler);
    let source = client.session_source(&spec.entity.path(), spec.settings.prefetch_count);
    let shutdown = CancellationToken::new();
    let trigger = tokio::spawn(acceptor::run(spec, source, shutdown.clone()));

    // 100 ticks a second, rate / 100 messages each, round-robin over the sessions.
    let sender = client.sender(options.queue());
    let per_tick = (rate / 100).max(1);
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < total {
        ticks.tick().await;
        let at = now_us() as i64;
        let batch: Vec<Message> = (0..u64::from(per_tick).min(total - sent))
            .map(|i| {
                Message::with_body("l")
                    .session(format!("lat{}", (sent + i) % u64::from(sessions)))
                    .property("sent_at_us", at)
            })
            .collect();
        sender.send_batch(&batch).await.map_err(|e| e.to_string())?;
        sent += batch.len() as u64;
    }
    let achieved_rate = sent as f64 / started.elapsed().as_secs_f64();
    let finished = tokio::time::timeout(PHASE_LIMIT, done.notified()).await;
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(60), trigger).await;
    client.close().await;
    finished.map_err(|_| "the latency phase did not finish".to_string())?;
    let latencies = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(Latency {
        rate,
        sessions,
        messages: latencies.len() as u64,
        achieved_rate,
        latency: Percentiles::of(latencies),
    })
}
