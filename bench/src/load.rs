//! The load: senders that pipeline unsettled sends, and receivers that accept sessions one
//! after another (or read a plain queue) in peek-lock and complete every message.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fe2o3_amqp::connection::ConnectionHandle;
use fe2o3_amqp::link::delivery::DeliveryFut;
use fe2o3_amqp::link::receiver::CreditMode;
use fe2o3_amqp::link::{Receiver, Sender};
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::types::definitions::ReceiverSettleMode;
use fe2o3_amqp::types::messaging::{Body, Message, Outcome, Properties, Source};
use fe2o3_amqp::types::primitives::{Binary, OrderedMap, Symbol, Value};
use fe2o3_amqp::{Connection, Session};
use tokio::net::TcpStream;

use crate::Options;

/// What one phase did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phase {
    pub(crate) messages: u64,
    pub(crate) elapsed: Duration,
}

async fn connect(address: &str, id: &str) -> Result<ConnectionHandle<()>, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Connection::builder()
        .container_id(id)
        .hostname("127.0.0.1")
        .sasl_profile(SaslProfile::Anonymous)
        .open_with_stream(stream)
        .await
        .map_err(|e| format!("AMQP open failed: {e}"))
}

/// Sends every message, interleaving sessions, from `senders` connections in parallel.
pub(crate) async fn send_all(options: &Options, address: &str) -> Result<Phase, String> {
    let started = Instant::now();
    let body = vec![b'x'; options.body_size];
    let mut tasks = Vec::new();
    for k in 0..options.senders {
        let (options, address, body) = (options.clone(), address.to_owned(), body.clone());
        tasks.push(tokio::spawn(async move {
            send_share(&options, &address, k, &body).await
        }));
    }
    let mut sent = 0;
    for task in tasks {
        sent += task.await.map_err(|e| e.to_string())??;
    }
    Ok(Phase {
        messages: sent,
        elapsed: started.elapsed(),
    })
}

async fn send_share(options: &Options, address: &str, k: u32, body: &[u8]) -> Result<u64, String> {
    let mut connection = connect(address, &format!("bench-sender-{k}")).await?;
    let mut session = Session::begin(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    let mut sender = Sender::attach(&mut session, format!("sender-{k}"), options.queue())
        .await
        .map_err(|e| format!("sender attach: {e}"))?;
    let mut in_flight: VecDeque<DeliveryFut<_>> = VecDeque::with_capacity(options.window);
    let mut sent = 0u64;
    let total = options.total();
    let mut i = u64::from(k);
    while i < total {
        let session_id =
            (options.sessions > 0).then(|| format!("s{}", i % u64::from(options.sessions)));
        let message = Message::builder()
            .properties(
                Properties::builder()
                    .message_id(format!("m{i}"))
                    .group_id(session_id)
                    .build(),
            )
            .data(Binary::from(body.to_vec()))
            .build();
        let fut = sender
            .send_batchable(message)
            .await
            .map_err(|e| format!("send: {e}"))?;
        in_flight.push_back(fut);
        if in_flight.len() >= options.window {
            settle(in_flight.pop_front()).await?;
        }
        sent += 1;
        i += u64::from(options.senders);
    }
    while let Some(fut) = in_flight.pop_front() {
        settle(Some(fut)).await?;
    }
    let _ = sender.close().await;
    let _ = session.end().await;
    let _ = connection.close().await;
    Ok(sent)
}

async fn settle(
    fut: Option<DeliveryFut<Result<Outcome, fe2o3_amqp::link::SendError>>>,
) -> Result<(), String> {
    match fut {
        Some(fut) => match fut.await {
            Ok(Outcome::Accepted(_)) => Ok(()),
            Ok(other) => Err(format!("the broker refused a message: {other:?}")),
            Err(e) => Err(format!("send outcome: {e}")),
        },
        None => Ok(()),
    }
}

/// Receives and completes every message with `receivers` connections in parallel.
pub(crate) async fn receive_all(options: &Options, address: &str) -> Result<Phase, String> {
    let started = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for k in 0..options.receivers {
        let (options, address, received) = (options.clone(), address.to_owned(), received.clone());
        tasks.push(tokio::spawn(async move {
            receive_share(&options, &address, k, &received).await
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(Phase {
        messages: received.load(Ordering::SeqCst),
        elapsed: started.elapsed(),
    })
}

async fn receive_share(
    options: &Options,
    address: &str,
    k: u32,
    received: &AtomicU64,
) -> Result<(), String> {
    let total = options.total();
    let mut connection = connect(address, &format!("bench-receiver-{k}")).await?;
    let mut session = Session::begin(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    let mut link = 0u64;
    while received.load(Ordering::SeqCst) < total {
        link += 1;
        let mut source = Source::builder().address(options.queue());
        if options.sessions > 0 {
            source = source.add_to_filter_using_legacy_format(
                Symbol::from("com.microsoft:session-filter"),
                Value::Null,
            );
        }
        let mut properties = OrderedMap::new();
        properties.insert(Symbol::from("com.microsoft:timeout"), Value::Uint(1_000));
        let attached = Receiver::builder()
            .name(format!("receiver-{k}-{link}"))
            .source(source.build())
            .target(format!("bench-{k}"))
            .receiver_settle_mode(ReceiverSettleMode::Second)
            .credit_mode(CreditMode::Auto(options.prefetch))
            .properties(properties)
            .attach(&mut session)
            .await;
        let mut receiver = match attached {
            Ok(receiver) => receiver,
            // No session available right now (com.microsoft:timeout): look again.
            Err(_) => continue,
        };
        let limit = if options.sessions > 0 {
            u64::from(options.per_session)
        } else {
            total
        };
        let mut here = 0;
        while here < limit && received.load(Ordering::SeqCst) < total {
            let delivery =
                match tokio::time::timeout(Duration::from_secs(2), receiver.recv::<Body<Value>>())
                    .await
                {
                    Ok(Ok(delivery)) => delivery,
                    Ok(Err(e)) => return Err(format!("receive: {e}")),
                    Err(_) => break,
                };
            receiver
                .accept(&delivery)
                .await
                .map_err(|e| format!("complete: {e}"))?;
            here += 1;
            received.fetch_add(1, Ordering::SeqCst);
        }
        let _ = receiver.close().await;
    }
    let _ = session.end().await;
    let _ = connection.close().await;
    Ok(())
}
