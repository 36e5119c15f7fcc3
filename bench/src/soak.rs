//! The memory soak: a long rotation of one-message sessions through the host's session
//! pumps (the acceptor a deployed host runs, on its own AMQP client, in this process) against
//! the broker in its own process, with this process's resident memory sampled every
//! `--sample-every` sessions. A host lives for weeks on a busy namespace: whatever it keeps
//! per accepted session shows here as RSS growing with the session count.
//!
//! ```text
//! target/release/berth-bench --soak-sessions 1000000 --sample-every 100000 --concurrency 64
//! ```
//!
//! A feeder keeps a bounded backlog of new sessions in the queue (one message each, every
//! session id new) on its own client, so neither the broker nor this process holds more
//! than that backlog at once. The figures: RSS at 0 and at every sample, and the growth per
//! session between the first sample and the last (the first `--sample-every` sessions warm
//! the allocator and the runtime). With `--max-growth-bytes-per-session`, a larger growth
//! fails the run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth::host::BoxedHandler;
use berth::{CancellationToken, Message};
use berth_host::runtime::{acceptor, Entity, FunctionSpec, TriggerSettings};
use berth_host::servicebus::{ConnectionString, ServiceBusClient};
use tokio::sync::Notify;

use crate::broker_process::BrokerProcess;
use crate::{usage, Options};

/// New sessions kept waiting in the queue ahead of the host.
const BACKLOG: u64 = 4_000;
/// Messages per send batch.
const BATCH: u64 = 500;
/// How long the whole soak may take per 100,000 sessions before it fails.
const TIME_PER_100K: Duration = Duration::from_secs(900);

/// How long the soak may go without a session handled before it fails.
const STALL_LIMIT: Duration = Duration::from_secs(120);

/// One RSS sample.
struct Sample {
    sessions: u64,
    rss_kib: u64,
    elapsed: Duration,
}

/// Runs the soak and prints the samples; fails when the growth bound is exceeded.
pub(crate) async fn run(options: &Options) -> Result<(), String> {
    let total = options.soak_sessions;
    let every = options.sample_every.clamp(1, total);
    let broker = match &options.connection_string {
        Some(_) => None,
        None => Some(BrokerProcess::start(options)?),
    };
    let cs = match (&options.connection_string, &broker) {
        (Some(cs), _) => cs.clone(),
        (None, Some(b)) => b.connection_string.clone(),
        (None, None) => return Err("no broker".into()),
    };
    let result = soak(options, &cs, total, every).await;
    if let Some(broker) = broker {
        broker.stop();
    }
    let samples = result?;
    report(&samples, options)
}

async fn connect(cs: &str) -> Result<ServiceBusClient, String> {
    let cs = ConnectionString::parse(cs).map_err(|e| e.to_string())?;
    ServiceBusClient::connect(cs)
        .await
        .map_err(|e| format!("cannot connect: {e}"))
}

async fn soak(options: &Options, cs: &str, total: u64, every: u64) -> Result<Vec<Sample>, String> {
    let consumer = connect(cs).await?;
    let feeder = connect(cs).await?;
    let handled = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Notify::new());
    let handler = {
        let (handled, progress) = (handled.clone(), progress.clone());
        BoxedHandler::new(move || {
            handled.fetch_add(1, Ordering::Relaxed);
            progress.notify_waiters();
            async {}
        })
    };
    let spec = Arc::new(FunctionSpec {
        name: "soak".into(),
        entity: Entity::Queue(options.queue().into()),
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings: TriggerSettings {
            max_concurrent_sessions: options.concurrency,
            prefetch_count: options.host_prefetch,
            session_idle_timeout: Duration::from_millis(options.idle_ms),
            ..TriggerSettings::default()
        },
        handler,
    });
    let source = consumer.session_source(&spec.entity.path(), spec.settings.prefetch_count);
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let mut samples = vec![sample(0, started)?];
    let trigger = tokio::spawn(acceptor::serve(spec, source, shutdown.clone()));
    let feeding = tokio::spawn(feed(
        feeder.clone(),
        options.queue(),
        total,
        handled.clone(),
        progress.clone(),
    ));
    let limit = TIME_PER_100K * u32::try_from(total.div_ceil(100_000)).unwrap_or(u32::MAX);
    let sampled = tokio::time::timeout(limit, async {
        let mut next = every;
        let (mut last_count, mut last_change) = (0, Instant::now());
        while next <= total {
            let seen = progress.notified();
            let count = handled.load(Ordering::Relaxed);
            if count >= next {
                samples.push(sample(next, started)?);
                next += every;
                continue;
            }
            if count != last_count {
                (last_count, last_change) = (count, Instant::now());
            } else if last_change.elapsed() > STALL_LIMIT {
                return Err(format!(
                    "no session was handled for {STALL_LIMIT:?} (at {count} of {total})"
                ));
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), seen).await;
        }
        Ok(())
    })
    .await;
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(60), trigger).await;
    let fed = feeding.await.map_err(|e| e.to_string())?;
    consumer.close().await;
    feeder.close().await;
    fed?;
    sampled.map_err(|_| format!("the soak did not finish within {limit:?}"))??;
    let done = handled.load(Ordering::Relaxed);
    if done < total {
        return Err(format!("only {done} of {total} sessions were handled"));
    }
    Ok(samples)
}

/// This process's RSS now, after `sessions` sessions.
fn sample(sessions: u64, started: Instant) -> Result<Sample, String> {
    let sample = Sample {
        sessions,
        rss_kib: usage::own()?.rss_kib,
        elapsed: started.elapsed(),
    };
    eprintln!(
        "{} sessions: RSS {} KiB ({:.0} s)",
        sample.sessions,
        sample.rss_kib,
        sample.elapsed.as_secs_f64()
    );
    Ok(sample)
}

/// Sends `total` one-message sessions, each id new, never more than [`BACKLOG`] ahead of
/// the handler.
async fn feed(
    client: ServiceBusClient,
    queue: &'static str,
    total: u64,
    handled: Arc<AtomicU64>,
    progress: Arc<Notify>,
) -> Result<(), String> {
    let sender = client.sender(queue);
    let mut sent = 0u64;
    while sent < total {
        loop {
            let seen = progress.notified();
            if sent < handled.load(Ordering::Relaxed) + BACKLOG {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), seen).await;
        }
        let batch: Vec<Message> = (sent..(sent + BATCH).min(total))
            .map(|k| Message::with_body("s").session(format!("soak-{k}")))
            .collect();
        sender
            .send_batch(&batch)
            .await
            .map_err(|e| format!("sending session {sent} failed: {e}"))?;
        sent += batch.len() as u64;
    }
    Ok(())
}

/// Prints the samples and the growth per session after the first sample; checks the bound.
fn report(samples: &[Sample], options: &Options) -> Result<(), String> {
    println!(
        "memory soak: {} one-message sessions, {} at once, {} ms idle; host RSS (this process)",
        options.soak_sessions, options.concurrency, options.idle_ms
    );
    println!("| sessions | RSS (KiB) | elapsed |");
    println!("|---:|---:|---:|");
    for s in samples {
        println!(
            "| {} | {} | {:.0} s |",
            s.sessions,
            s.rss_kib,
            s.elapsed.as_secs_f64()
        );
    }
    let (Some(first), Some(last)) = (samples.get(1), samples.last()) else {
        return Ok(());
    };
    let sessions = last.sessions.saturating_sub(first.sessions);
    if sessions == 0 {
        return Ok(());
    }
    let grown_kib = last.rss_kib as i64 - first.rss_kib as i64;
    let per_session = grown_kib as f64 * 1024.0 / sessions as f64;
    let rate = last.sessions as f64 / last.elapsed.as_secs_f64().max(1e-9);
    println!(
        "growth from {} to {} sessions: {grown_kib} KiB, {per_session:.1} bytes per session; {rate:.0} sessions/s",
        first.sessions, last.sessions
    );
    match options.max_growth_bytes_per_session {
        Some(bound) if per_session > bound => Err(format!(
            "RSS grew {per_session:.1} bytes per session, more than the bound of {bound}"
        )),
        _ => Ok(()),
    }
}
