//! The connection task: header and SASL handshake, then one loop that reads frames,
//! runs the handler, keeps heartbeats and idle timeouts, and writes each batch of output
//! with one write.

use std::{sync::Arc, time::Duration};

use bytes::BytesMut;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    time::{sleep_until, Instant},
};
use tokio_util::sync::CancellationToken;

use super::{
    config::ConnectionConfig,
    engine::{Engine, Phase},
    frame::{parse_frame, write_empty_frame},
    handler::{dispatch, ConnectionHandler, Context, PeerInfo},
    outcome::ErrorInfo,
    output::OUTPUT_HIGH_WATER,
    sasl::{handshake, Handshake},
};

/// How long we wait for the client's `close` after sending ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Serves one AMQP connection on `stream` (plain TCP, TLS, or anything else) until it
/// closes. Never panics on bad input; protocol errors close the connection with an AMQP
/// `close` carrying the error.
pub async fn serve_connection<S, H>(stream: S, config: Arc<ConnectionConfig>, handler: H)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: ConnectionHandler,
{
    serve_connection_until(stream, config, handler, CancellationToken::new()).await;
}

/// Like [`serve_connection`], but closes the connection with `amqp:connection:forced`
/// when `shutdown` is cancelled.
pub async fn serve_connection_until<S, H>(
    stream: S,
    config: Arc<ConnectionConfig>,
    handler: H,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: ConnectionHandler,
{
    let deadline = Instant::now() + config.handshake_timeout;
    serve_connection_by(stream, config, handler, shutdown, deadline).await;
}

/// Like [`serve_connection_until`], with the moment by which the client's `open` must have
/// arrived (the protocol header, SASL and `open` all count against it).
pub(crate) async fn serve_connection_by<S, H>(
    mut stream: S,
    config: Arc<ConnectionConfig>,
    mut handler: H,
    shutdown: CancellationToken,
    opened_by: Instant,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    H: ConnectionHandler,
{
    let mut rbuf = BytesMut::with_capacity(64 * 1024);
    let identity =
        match tokio::time::timeout_at(opened_by, handshake(&mut stream, &mut rbuf, &config.sasl))
            .await
        {
            Ok(Ok(Handshake::Amqp(identity))) => identity,
            Ok(Ok(Handshake::Refused(reason))) => {
                let _ = stream.flush().await;
                let _ = stream.shutdown().await;
                handler.on_close(Some(&ErrorInfo::new("amqp:connection:forced", reason)));
                return;
            }
            Ok(Err(e)) => {
                handler.on_close(Some(&ErrorInfo::new(
                    "amqp:connection:forced",
                    format!("I/O error during handshake: {e}"),
                )));
                return;
            }
            Err(_) => {
                let timeout_ms = config.handshake_timeout.as_millis() as u64;
                tracing::info!(timeout_ms, "closing a connection stalled before open");
                let _ = stream.shutdown().await;
                handler.on_close(Some(&ErrorInfo::new(
                    "amqp:connection:forced",
                    "handshake timed out",
                )));
                return;
            }
        };
    let peer = PeerInfo {
        sasl_mechanism: identity.mechanism,
        sasl_identity: identity.identity,
        ..PeerInfo::default()
    };
    let mut engine = Engine::new(config.clone(), peer);
    let waker = engine.waker.clone();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let max_frame = config.effective_max_frame_size();
    let mut last_recv = Instant::now();
    let mut last_sent = Instant::now();
    let mut closing_since: Option<Instant> = None;
    let mut fatal = false;

    loop {
        // Process every complete frame already buffered.
        while !fatal && engine.phase != Phase::Closed {
            match parse_frame(&mut rbuf, max_frame) {
                Ok(Some(frame)) => {
                    if let Err(e) = engine.on_frame(frame) {
                        tracing::debug!(error = %e, "closing connection on protocol error");
                        engine.fail(&e);
                        fatal = true;
                    }
                    dispatch(&mut engine, &mut handler);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "closing connection on framing error");
                    engine.fail(&e);
                    dispatch(&mut engine, &mut handler);
                    fatal = true;
                }
            }
        }
        engine.flush();
        if engine.phase == Phase::Closing && closing_since.is_none() {
            closing_since = Some(Instant::now());
        }
        if fatal || engine.phase == Phase::Closed {
            write_last(&mut writer, &engine.out).await;
            break;
        }

        let now = Instant::now();
        let mut deadline = now + Duration::from_secs(3600);
        if let Some(peer_idle) = engine.peer.idle_timeout {
            deadline = deadline.min(last_sent + peer_idle / 2);
        }
        if let Some(our_idle) = config.idle_timeout.filter(|_| closing_since.is_none()) {
            deadline = deadline.min(last_recv + our_idle);
        }
        if engine.phase == Phase::AwaitingOpen {
            deadline = deadline.min(opened_by);
        }
        if let Some(since) = closing_since {
            deadline = deadline.min(since + CLOSE_GRACE);
        }
        let can_read = engine.out.len() < OUTPUT_HIGH_WATER;

        tokio::select! {
            biased;
            written = writer.write_buf(&mut engine.out), if !engine.out.is_empty() => {
                match written {
                    Ok(0) | Err(_) => {
                        transport_lost(&mut engine, "the transport failed while writing");
                        break;
                    }
                    Ok(_) => {
                        last_sent = Instant::now();
                        engine.resume_output();
                        dispatch(&mut engine, &mut handler);
                        if engine.out.is_empty() && writer.flush().await.is_err() {
                            transport_lost(&mut engine, "the transport failed while flushing");
                            break;
                        }
                    }
                }
            }
            read = reader.read_buf(&mut rbuf), if can_read => {
                match read {
                    Ok(0) | Err(_) => {
                        transport_lost(&mut engine, "the client dropped the transport without close");
                        break;
                    }
                    Ok(_) => {
                        last_recv = Instant::now();
                        if rbuf.capacity() - rbuf.len() < 16 * 1024 {
                            rbuf.reserve(64 * 1024);
                        }
                    }
                }
            }
            () = waker.woken() => {
                if waker.take() && engine.phase == Phase::Opened {
                    handler.on_wake(&mut Context { engine: &mut engine });
                    dispatch(&mut engine, &mut handler);
                }
            }
            () = shutdown.cancelled(), if closing_since.is_none() => {
                engine.close(Some(ErrorInfo::new("amqp:connection:forced", "the broker is shutting down")));
                dispatch(&mut engine, &mut handler);
            }
            () = sleep_until(deadline) => {
                let now = Instant::now();
                if closing_since.is_some_and(|since| now >= since + CLOSE_GRACE) {
                    break;
                }
                if engine.phase == Phase::AwaitingOpen && now >= opened_by {
                    let ms = config.handshake_timeout.as_millis() as u64;
                    tracing::info!(timeout_ms = ms, "closing a connection that sent no open in time");
                    let text = format!("no open received within the handshake timeout ({ms} ms)");
                    engine.close(Some(ErrorInfo::new("amqp:resource-limit-exceeded", text)));
                    write_last(&mut writer, &engine.out).await;
                    break;
                }
                let idle = config.idle_timeout.filter(|d| closing_since.is_none() && now >= last_recv + *d);
                if let Some(our_idle) = idle {
                    let text = format!("no frames received for {} ms (idle-time-out)", our_idle.as_millis());
                    engine.close(Some(ErrorInfo::new("amqp:resource-limit-exceeded", text)));
                    dispatch(&mut engine, &mut handler);
                }
                if engine.peer.idle_timeout.is_some_and(|d| now >= last_sent + d / 2) {
                    // Output already waiting counts as traffic; otherwise send a heartbeat.
                    if engine.out.is_empty() {
                        write_empty_frame(&mut engine.out);
                    }
                    last_sent = now;
                }
            }
        }
    }

    // Whatever is still attached is gone now.
    engine.phase = Phase::Closed;
    engine.detach_all(None);
    dispatch(&mut engine, &mut handler);
    waker.mark_closed();
    handler.on_close(engine.close_error.as_ref());
}

/// Writes the last frames and shuts the transport down, giving up after [`CLOSE_GRACE`]: a
/// client that reads nothing cannot keep the connection (and its slot) alive this way.
async fn write_last<W: AsyncWrite + Unpin>(writer: &mut W, out: &[u8]) {
    let last = async {
        writer.write_all(out).await?;
        writer.flush().await?;
        writer.shutdown().await
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, last).await;
}

/// Records why the connection ended when the transport went away without a close.
fn transport_lost(engine: &mut Engine, reason: &str) {
    if engine.close_error.is_none() && engine.phase != Phase::Closing {
        engine.close_error = Some(ErrorInfo::new("amqp:connection:forced", reason));
    }
}
