//! Connection-level limits: how many, how long to handshake, how long silent, frame size.

use std::time::Duration;

use super::amqp_support::raw::{
    begin, frame, raw_frame, RawClient, Received, AMQP_HEADER, SASL_HEADER,
};
use super::{session, start, within};
use berth_emulator::broker::Broker;
use berth_emulator::limits::Limits;
use fe2o3_amqp_types::performatives::Performative;
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn connections_over_the_limit_get_resource_limit_exceeded_until_one_closes() {
    let broker = start(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let port = broker.local_addr().port();
    let first = session(port).await;
    let _second = session(port).await;
    let (mut third, _) = RawClient::opened(port, None).await;
    let (condition, description) = within("the refusal", third.expect_close()).await;
    assert_eq!(condition, "amqp:resource-limit-exceeded");
    assert!(
        description.contains("at most 2 concurrent connections"),
        "{description}"
    );

    drop(first);
    // The slot is freed when the broker sees the first connection end.
    within("a connection to be admitted again", async {
        loop {
            let (mut c, _) = RawClient::opened(port, None).await;
            c.write(&frame(0, &begin(), &[])).await;
            match c.next().await {
                Some((Performative::Begin(_), _)) => break,
                Some((Performative::Close(_), _)) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn peers_that_stall_in_the_handshake_are_closed_at_the_deadline() {
    let broker = start(Limits {
        handshake_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let port = broker.local_addr().port();

    // Sends nothing at all.
    let mut silent = RawClient::connect(port).await;
    assert_eq!(
        within("a silent socket to close", silent.read_header()).await,
        None
    );

    // Stops after the SASL header: gets the mechanisms, then the socket closes.
    let mut sasl = RawClient::connect(port).await;
    sasl.write(&SASL_HEADER).await;
    assert_eq!(sasl.read_header().await, Some(SASL_HEADER));
    assert!(matches!(
        sasl.read_frame().await,
        Some(Received::Other(1, _))
    ));
    assert!(
        within("a stalled SASL exchange to close", sasl.read_frame())
            .await
            .is_none()
    );

    // Sends the AMQP header but no open: gets open + close saying why.
    let mut no_open = RawClient::connect(port).await;
    no_open.write(&AMQP_HEADER).await;
    assert_eq!(no_open.read_header().await, Some(AMQP_HEADER));
    let (condition, description) = within("the close", no_open.expect_close()).await;
    assert_eq!(condition, "amqp:resource-limit-exceeded");
    assert!(description.contains("handshake timeout"), "{description}");
    assert!(no_open.read_frame().await.is_none());

    // A client that opens in time is not affected.
    let mut ok = session(port).await;
    tokio::time::sleep(Duration::from_millis(400)).await; // past the handshake deadline
    ok.write(&frame(1, &begin(), &[])).await;
    assert!(matches!(ok.next().await, Some((Performative::Begin(_), _))));
}

#[tokio::test]
async fn an_idle_timeout_is_advertised_and_silent_connections_are_closed() {
    let broker = start(Limits {
        idle_timeout: Some(Duration::from_millis(300)),
        ..Limits::default()
    })
    .await;
    let (mut c, open) = RawClient::opened(broker.local_addr().port(), None).await;
    assert_eq!(open.idle_time_out, Some(300));
    let (condition, description) = within("the close", c.expect_close()).await;
    assert_eq!(condition, "amqp:resource-limit-exceeded");
    assert!(description.contains("idle-time-out"), "{description}");
}

#[tokio::test]
async fn a_peer_that_never_starts_tls_is_closed_at_the_deadline() {
    let dir = std::env::temp_dir().join(format!("berth-limits-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = std::process::Command::new("openssl")
        .current_dir(&dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-keyout", "key.pem", "-out", "cert.pem"])
        .output()
        .expect("the openssl command is needed to make a test certificate");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let acceptor =
        berth_emulator::tls::acceptor(&dir.join("cert.pem"), &dir.join("key.pem")).unwrap();
    let broker = Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .tls("127.0.0.1:0".parse().unwrap(), acceptor)
        .limits(Limits {
            handshake_timeout: Duration::from_millis(200),
            ..Limits::default()
        })
        .start()
        .await
        .unwrap();
    let mut socket = tokio::net::TcpStream::connect(broker.tls_addr().unwrap())
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let read = within("the TLS socket to close", socket.read(&mut byte)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn frames_over_the_advertised_max_frame_size_close_with_a_framing_error() {
    let broker = start(Limits {
        max_frame_size: 4096,
        ..Limits::default()
    })
    .await;
    let port = broker.local_addr().port();
    // A length field claiming ~4 GiB is refused from the 8-byte header alone.
    let (mut c, open) = RawClient::opened(port, None).await;
    assert_eq!(open.max_frame_size.0, 4096);
    c.write(&[0xff, 0xff, 0xff, 0xf0, 2, 0, 0, 0]).await;
    let (condition, description) = within("the close", c.expect_close()).await;
    assert_eq!(condition, "amqp:connection:framing-error");
    assert!(
        description.contains("exceeds max-frame-size 4096"),
        "{description}"
    );
    // A real frame just over the limit.
    let (mut c, _) = RawClient::opened(port, None).await;
    c.write(&raw_frame(0, 0, &[0x40; 4096])).await;
    assert_eq!(
        within("the close", c.expect_close()).await.0,
        "amqp:connection:framing-error"
    );
}
