//! The TLS-first listener: a real TLS handshake (a test CA and certificate made by
//! the `openssl` command), then AMQP inside it, with the fe2o3-amqp client as the peer.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use berth_emulator::broker::Broker;
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::types::messaging::{Body, Message, Outcome};
use fe2o3_amqp::types::primitives::Value;
use fe2o3_amqp::{Connection, Receiver, Sender, Session};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::wait::within;

/// A test CA and a `localhost` certificate it signed, made by the `openssl` command:
/// `(ca.pem, cert.pem, key.pem)`.
fn certificates() -> (PathBuf, PathBuf, PathBuf) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("berth-tls-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name);
    std::fs::write(
        path("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(&dir)
            .args(args)
            .output()
            .expect("the openssl command is needed to make test certificates");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=berth-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    (path("ca.pem"), path("cert.pem"), path("key.pem"))
}

#[tokio::test]
async fn amqp_runs_inside_tls_first_connections() {
    let (ca, cert, key) = certificates();
    let acceptor = berth_emulator::tls::acceptor(&cert, &key).unwrap();
    let broker = Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .tls("127.0.0.1:0".parse().unwrap(), acceptor)
        .entities_toml("[[queues]]\nname = \"secure\"\n")
        .unwrap()
        .in_memory()
        .start()
        .await
        .unwrap();
    let tls_addr = broker.tls_addr().unwrap();

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&ca).unwrap())
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(tls_addr).await.unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();

    let mut connection = Connection::builder()
        .container_id("tls-test")
        .hostname("localhost")
        .sasl_profile(SaslProfile::Anonymous)
        .open_with_stream(tls)
        .await
        .unwrap();
    let mut session = Session::begin(&mut connection).await.unwrap();
    let mut sender = Sender::attach(&mut session, "s", "secure").await.unwrap();
    let outcome = sender.send(Message::from("over TLS")).await.unwrap();
    assert!(matches!(outcome, Outcome::Accepted(_)), "{outcome:?}");
    let mut receiver = Receiver::attach(&mut session, "r", "secure").await.unwrap();
    let delivery = within("a delivery", receiver.recv::<Body<Value>>())
        .await
        .unwrap();
    receiver.accept(&delivery).await.unwrap();
    assert_eq!(
        delivery.body().try_as_value().ok(),
        Some(&Value::String("over TLS".into()))
    );

    // A plain-TCP client on the TLS port fails its handshake; the listener keeps serving.
    let plain = Connection::open("plain", format!("amqp://{tls_addr}").as_str()).await;
    assert!(plain.is_err());
    let tcp = TcpStream::connect(tls_addr).await.unwrap();
    drop(tcp);
    broker.shutdown().await;
}

#[test]
fn missing_or_wrong_files_are_named_in_the_error() {
    let missing = berth_emulator::tls::acceptor(
        "/nonexistent/cert.pem".as_ref(),
        "/nonexistent/key.pem".as_ref(),
    );
    let Err(error) = missing else {
        panic!("a missing file was accepted")
    };
    assert!(error.0.contains("/nonexistent/cert.pem"), "{error}");
    let (_ca, cert, _key) = certificates();
    let wrong = berth_emulator::tls::acceptor(&cert, &cert);
    let Err(error) = wrong else {
        panic!("a certificate was accepted as a key")
    };
    assert!(error.0.contains("private key"), "{error}");
}

#[tokio::test]
async fn an_open_tls_listener_off_loopback_is_refused() {
    let (_, cert, key) = certificates();
    let acceptor = berth_emulator::tls::acceptor(&cert, &key).unwrap();
    let refused = Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .tls("0.0.0.0:0".parse().unwrap(), acceptor)
        .start()
        .await;
    let error = refused.expect_err("a TLS listener on 0.0.0.0 without rules must be refused");
    assert!(
        error.to_string().contains("AMQP TLS listener on 0.0.0.0:0"),
        "{error}"
    );
}
