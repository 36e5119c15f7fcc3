//! One run, one broker, several session consumers of the same workload: the host's own
//! (`runtime::acceptor::run` + `ServiceBusClient`) and the official Python and JS SDKs'
//! session receivers. For each: send the workload, consume it, check the queue is empty.
//! Then, for the host only: memory per open session and end-to-end latency at a fixed rate.

use std::time::Duration;

use berth_host::servicebus::{ConnectionString, ServiceBusClient};
use clap::ValueEnum;

use crate::broker_process::{self, BrokerProcess};
use crate::host_consumer::{self, Latency, Memory};
use crate::load;
use crate::percentiles::{ms, Percentiles};
use crate::sdk_consumer::{self, Sdk};
use crate::Options;

/// A session consumer to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Consumer {
    /// The host's pumps on its own AMQP client, in this process.
    Host,
    /// azure-servicebus (Python, asyncio).
    Python,
    /// @azure/service-bus (JS).
    Js,
}

/// One consumer's figures.
struct Row {
    name: String,
    messages: u64,
    send_rate: f64,
    elapsed: Duration,
    cpu: Duration,
    broker_cpu: Option<Duration>,
    accept: Option<Percentiles>,
}

/// Runs every consumer of `options.consumers` on one broker and prints the figures.
pub(crate) async fn run(options: &Options) -> Result<(), String> {
    if options.sessions == 0 {
        return Err("--consumers needs a session workload (--sessions N)".into());
    }
    let broker = match &options.connection_string {
        Some(_) => None,
        None => Some(BrokerProcess::start(options)?),
    };
    let (cs, address) = match (&options.connection_string, &broker) {
        (Some(cs), _) => (cs.clone(), broker_process::address_of(cs)?),
        (None, Some(b)) => (b.connection_string.clone(), b.address.clone()),
        (None, None) => return Err("no broker".into()),
    };
    let mut rows = Vec::new();
    for consumer in &options.consumers {
        let send = load::send_all(options, &address).await?;
        let before = broker.as_ref().map(|b| b.usage()).transpose()?;
        let mut row = consume(*consumer, options, &cs).await?;
        let after = broker.as_ref().map(|b| b.usage()).transpose()?;
        row.broker_cpu = before.zip(after).map(|(b, a)| a.cpu.saturating_sub(b.cpu));
        row.send_rate = send.messages as f64 / send.elapsed.as_secs_f64().max(1e-9);
        check_empty(&cs, options.queue(), &row.name).await?;
        print_row(&row, options);
        rows.push(row);
    }
    let memory = match options.memory_sessions {
        0 => None,
        _ => Some(host_consumer::memory(options, &cs).await?),
    };
    let latency = match options.latency_rate {
        0 => None,
        _ => Some(host_consumer::latency(options, &cs).await?),
    };
    let peak = broker.as_ref().map(|b| b.usage()).transpose()?;
    print_summary(&rows, memory, latency.as_ref(), options);
    if let Some(peak) = peak {
        println!(
            "broker peak RSS over the run: {} MiB",
            peak.peak_rss_kib / 1024
        );
    }
    if let Some(broker) = broker {
        broker.stop();
    }
    Ok(())
}

async fn consume(consumer: Consumer, options: &Options, cs: &str) -> Result<Row, String> {
    let row = |name: String, messages, elapsed, cpu| Row {
        name,
        messages,
        send_rate: 0.0,
        elapsed,
        cpu,
        broker_cpu: None,
        accept: None,
    };
    match consumer {
        Consumer::Host => {
            let t = host_consumer::throughput(options, cs).await?;
            let name = format!("Berth host (prefetch {})", options.host_prefetch);
            Ok(Row {
                accept: Some(t.accept),
                ..row(name, t.messages, t.elapsed, t.cpu)
            })
        }
        Consumer::Python | Consumer::Js => {
            let sdk = if consumer == Consumer::Python {
                Sdk::Python
            } else {
                Sdk::Js
            };
            let (options, cs) = (options.clone(), cs.to_owned());
            let run = tokio::task::spawn_blocking(move || sdk_consumer::run(sdk, &options, &cs))
                .await
                .map_err(|e| e.to_string())??;
            Ok(row(
                sdk.name().to_owned(),
                run.messages,
                run.elapsed,
                run.cpu,
            ))
        }
    }
}

/// Fails when the consumer left messages behind.
async fn check_empty(cs: &str, queue: &str, consumer: &str) -> Result<(), String> {
    let cs = ConnectionString::parse(cs).map_err(|e| e.to_string())?;
    let client = ServiceBusClient::connect(cs)
        .await
        .map_err(|e| e.to_string())?;
    let left = client
        .peek(queue, 0, 1, None)
        .await
        .map_err(|e| e.to_string());
    client.close().await;
    match left?.first() {
        None => Ok(()),
        Some(p) => Err(format!(
            "{consumer} left messages in {queue} (first: sequence number {}, session {:?})",
            p.message.sequence_number, p.message.session_id
        )),
    }
}

fn rate(messages: u64, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn print_row(row: &Row, options: &Options) {
    let json = serde_json::json!({
        "consumer": row.name,
        "sessions": options.sessions,
        "per_session": options.per_session,
        "concurrency": options.concurrency,
        "idle_ms": options.idle_ms,
        "messages": row.messages,
        "send_msg_per_s": row.send_rate.round(),
        "consume_s": row.elapsed.as_secs_f64(),
        "consume_msg_per_s": rate(row.messages, row.elapsed).round(),
        "consumer_cpu_s": row.cpu.as_secs_f64(),
        "consumer_cpu_us_per_msg": (row.cpu.as_secs_f64() * 1e6 / row.messages.max(1) as f64).round(),
        "broker_cpu_s": row.broker_cpu.map(|c| c.as_secs_f64()),
        "accept_next_ms": row.accept.map(|a| serde_json::json!({
            "count": a.count, "p50": ms(a.p50), "p99": ms(a.p99), "max": ms(a.max),
        })),
    });
    println!("{json}");
}

fn print_summary(
    rows: &[Row],
    memory: Option<Memory>,
    latency: Option<&Latency>,
    options: &Options,
) {
    println!();
    println!(
        "{} sessions × {} messages, {} sessions at once, {} ms idle",
        options.sessions, options.per_session, options.concurrency, options.idle_ms
    );
    println!("| consumer | msg/s | consume time | consumer CPU | CPU µs/msg | broker CPU |");
    println!("|---|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {:.0} | {:.1} s | {:.1} s | {:.0} | {} |",
            row.name,
            rate(row.messages, row.elapsed),
            row.elapsed.as_secs_f64(),
            row.cpu.as_secs_f64(),
            row.cpu.as_secs_f64() * 1e6 / row.messages.max(1) as f64,
            row.broker_cpu
                .map_or("-".into(), |c| format!("{:.1} s", c.as_secs_f64())),
        );
    }
    if let Some(host) = rows.iter().find(|r| r.accept.is_some()) {
        for other in rows.iter().filter(|r| r.accept.is_none()) {
            println!(
                "host / {}: {:.1}× the throughput, {:.1}× less CPU per message",
                other.name,
                rate(host.messages, host.elapsed) / rate(other.messages, other.elapsed).max(1e-9),
                (other.cpu.as_secs_f64() / other.messages.max(1) as f64)
                    / (host.cpu.as_secs_f64() / host.messages.max(1) as f64).max(1e-12),
            );
        }
        if let Some(accept) = host.accept {
            println!(
                "host accept-next (p50 / p99 / max over {} accepts): {}",
                accept.count,
                accept.millis()
            );
        }
    }
    if let Some(m) = memory {
        let grown = m.rss_open_kib.saturating_sub(m.rss_before_kib);
        println!(
            "host memory: {} sessions open at once: RSS {} → {} KiB, ≈ {:.1} KiB per open session",
            m.sessions,
            m.rss_before_kib,
            m.rss_open_kib,
            grown as f64 / f64::from(m.sessions.max(1))
        );
    }
    if let Some(l) = latency {
        println!(
            "host end-to-end latency (send → handler) at {} msg/s asked, {:.0} msg/s sent, over {} sessions, {} messages: p50 / p99 / max {}",
            l.rate,
            l.achieved_rate,
            l.sessions,
            l.messages,
            l.latency.millis()
        );
    }
}
