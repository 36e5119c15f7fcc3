//! `host send`: send messages to a queue or topic, for trying functions out and for
//! operators.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use berth::{Message, PropertyValue};
use clap::Args;

use crate::message_file;
use crate::servicebus::{ClientOptions, ConnectionTarget, ServiceBusClient};

use super::connection_args::ConnectionArgs;
use super::parse_timeout;

/// `host send` options.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("payload").required(true).args(["body", "file", "jsonl"]))]
#[command(group = clap::ArgGroup::new("entity").required(true).args(["queue", "topic"]))]
pub struct SendArgs {
    /// How to reach the namespace.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Send to this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// Send to this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// The session id of every message.
    #[arg(long)]
    pub session: Option<String>,
    /// The message id (with `--count`, `-1`, `-2`, … is appended).
    #[arg(long)]
    pub message_id: Option<String>,
    /// An application property, `KEY=VALUE` (repeatable; numbers and true/false are typed).
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
    /// The content type.
    #[arg(long)]
    pub content_type: Option<String>,
    /// The body, as text.
    #[arg(long)]
    pub body: Option<String>,
    /// The body, from a file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Messages from a JSON-lines file (see the README: body, session_id, message_id,
    /// properties, …).
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Send this many copies (of the body, or of the whole file).
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// Give up when the broker does not answer for this long: connecting, or confirming a
    /// batch of messages.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// Runs `host send`.
pub(crate) fn run(args: SendArgs) -> ExitCode {
    match build(&args).and_then(|built| Ok((built, args.connection.client_options()?))) {
        Ok(((connection_string, entity, messages), options)) => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => return fail(format!("cannot start the async runtime: {e}")),
            };
            let sent = send(connection_string, options, &entity, messages, args.timeout);
            match runtime.block_on(sent) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Err(e) => fail(e),
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn build(args: &SendArgs) -> Result<(ConnectionTarget, String, Vec<Message>), String> {
    let connection_string = args.connection.resolve()?;
    let entity = args
        .queue
        .clone()
        .or_else(|| args.topic.clone())
        .ok_or("--queue or --topic is required")?;
    let template = match (&args.body, &args.file, &args.jsonl) {
        (Some(body), _, _) => vec![Message::with_body(body.clone().into_bytes())],
        (_, Some(file), _) => {
            let body = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            vec![Message::with_body(body)]
        }
        (_, _, Some(jsonl)) => message_file::read(jsonl)?,
        _ => return Err("--body, --file or --jsonl is required".into()),
    };
    let mut properties = Vec::new();
    for p in &args.properties {
        let (key, value) = p
            .split_once('=')
            .ok_or_else(|| format!("--property `{p}`: expected KEY=VALUE"))?;
        properties.push((key.to_owned(), typed(value)));
    }
    let mut messages = Vec::with_capacity(template.len() * args.count as usize);
    for _ in 0..args.count {
        for original in &template {
            let mut message = original.clone();
            if let Some(session) = &args.session {
                message.session_id = Some(session.clone());
            }
            if let Some(id) = &args.message_id {
                message.message_id = Some(if args.count > 1 || template.len() > 1 {
                    format!("{id}-{}", messages.len() + 1)
                } else {
                    id.clone()
                });
            }
            if let Some(content_type) = &args.content_type {
                message.content_type = Some(content_type.clone());
            }
            for (key, value) in &properties {
                message
                    .application_properties
                    .insert(key.clone(), value.clone());
            }
            messages.push(message);
        }
    }
    Ok((connection_string, entity, messages))
}

/// `true`/`false` and integers become typed properties; anything else is a string.
fn typed(value: &str) -> PropertyValue {
    match value {
        "true" => PropertyValue::Bool(true),
        "false" => PropertyValue::Bool(false),
        _ => value
            .parse::<i64>()
            .map(PropertyValue::Long)
            .unwrap_or_else(|_| PropertyValue::String(value.to_owned())),
    }
}

/// Sends in batches, with a progress line on a terminal for large sends. Fails at the first
/// batch the broker does not confirm in full, saying how many messages it confirmed: those
/// are at the broker, the rest may or may not be.
pub(crate) async fn send(
    connection_string: ConnectionTarget,
    options: ClientOptions,
    entity: &str,
    messages: Vec<Message>,
    timeout: Duration,
) -> Result<(), String> {
    let address = format!("{}:{}", connection_string.host(), connection_string.port());
    let connect = ServiceBusClient::connect_with(connection_string, options);
    let client = match tokio::time::timeout(timeout, connect).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return Err(format!("cannot connect: {e}")),
        Err(_) => {
            return Err(format!(
                "cannot connect: {address} did not answer within {} ms",
                timeout.as_millis()
            ))
        }
    };
    let sender = client.sender(entity).with_timeout(timeout);
    let total = messages.len();
    let started = Instant::now();
    let progress = total >= 1_000 && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut sent = 0;
    for chunk in messages.chunks(500) {
        if let Err(e) = sender.send_batch_counted(chunk).await {
            if progress {
                eprintln!();
            }
            let confirmed = sent + e.accepted;
            // No close handshake: a broker that stopped answering would hold the exit up;
            // the connection ends with the process.
            return Err(format!(
                "sending to {entity} failed; the broker confirmed {confirmed} of {total} messages \
                 (the others may or may not have arrived): {}",
                e.error
            ));
        }
        sent += chunk.len();
        if progress {
            let rate = sent as f64 / started.elapsed().as_secs_f64().max(1e-3);
            eprint!(
                "\rsent {sent}/{total} ({}%), {rate:.0} msg/s   ",
                sent * 100 / total.max(1)
            );
            let _ = std::io::stderr().flush();
        }
    }
    if progress {
        eprintln!();
    }
    client.close().await;
    println!(
        "sent {sent} message{} to {entity} in {:.2?}",
        if sent == 1 { "" } else { "s" },
        started.elapsed()
    );
    Ok(())
}
