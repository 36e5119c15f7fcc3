//! Trusting a private CA: the embedded broker's TLS-first listener serves a `localhost`
//! certificate signed by a CA generated here. Without that CA the client refuses the
//! server as not trusted (and says how to add the CA); with `ca_file` (in process), with
//! `SSL_CERT_FILE`, `--ca-file` or `host.toml`'s `[service_bus] ca_file` (the `host`
//! binary as a child process) sends, peeks and session receives work over TLS; unreadable
//! files, files without certificates and bad PEM are refused naming the file and the
//! setting or variable.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use berth_emulator::broker::{Broker, RunningBroker};
use berth_host::runtime::SourceSession;
use berth_host::servicebus::{
    CaSources, ClientOptions, ConnectionString, ServiceBusClient, TlsTrust,
};

use crate::servicebus_support;
use servicebus_support::{send_and_receive_one, temp_dir, ENTITIES};

use crate::tls_support;
use tls_support::{test_pki, TestPki};

/// A broker whose TLS-first listener serves `pki`'s certificate, and the connection string
/// that dials it over TLS as `localhost`.
async fn tls_broker(pki: &TestPki) -> (RunningBroker, String) {
    let acceptor = berth_emulator::tls::acceptor(&pki.cert, &pki.key).unwrap();
    let broker = Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .tls("127.0.0.1:0".parse().unwrap(), acceptor)
        .entities_toml(ENTITIES)
        .unwrap()
        .in_memory()
        .start()
        .await
        .unwrap();
    let plain = broker.connection_string();
    let keys = plain
        .split(';')
        .filter(|part| part.starts_with("SharedAccessKey"))
        .collect::<Vec<_>>()
        .join(";");
    let port = broker.tls_addr().unwrap().port();
    (broker, format!("Endpoint=sb://localhost:{port};{keys}"))
}

fn trusting(ca_file: Option<&Path>) -> ClientOptions {
    let sources = CaSources {
        ca_file: ca_file.map(|p| (p.to_path_buf(), "[service_bus] ca_file".to_owned())),
        ..CaSources::default()
    };
    ClientOptions {
        trust: TlsTrust::load(&sources).unwrap(),
        ..ClientOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_server_is_not_trusted_and_the_error_says_how_to_add_it() {
    let pki = test_pki(&temp_dir("trust-refused"));
    let (broker, cs) = tls_broker(&pki).await;
    let target = ConnectionString::parse(&cs).unwrap();
    let Err(error) = ServiceBusClient::connect_with(target, trusting(None)).await else {
        panic!("a certificate from an unknown CA was accepted")
    };
    let text = error.to_string();
    assert!(text.contains("not trusted"), "{text}");
    assert!(text.contains("ca_file"), "{text}");
    assert!(text.contains("SSL_CERT_FILE"), "{text}");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ca_file_a_session_is_sent_and_received_over_tls() {
    let pki = test_pki(&temp_dir("trust-ca-file"));
    let (broker, cs) = tls_broker(&pki).await;
    let target = ConnectionString::parse(&cs).unwrap();
    let client = ServiceBusClient::connect_with(target, trusting(Some(&pki.ca)))
        .await
        .unwrap();
    let (session, _received) = send_and_receive_one(&client).await;
    assert_eq!(session.session_id(), "s1");
    client.close().await;
    broker.shutdown().await;
}

/// Runs the `host` binary with `args`, `SSL_CERT_FILE` / `SSL_CERT_DIR` removed and then
/// `env` set (off the async runtime, so the broker keeps serving).
async fn host(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host"));
    command
        .args(args)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_send_and_peek_trust_ssl_cert_file_ca_file_and_host_toml() {
    let pki = test_pki(&temp_dir("trust-cli"));
    let (broker, cs) = tls_broker(&pki).await;
    let send = |body: &'static str| {
        [
            "send",
            "--connection-string",
            cs.as_str(),
            "--queue",
            "orders",
            "--session",
            "s1",
            "--body",
            body,
        ]
    };

    let refused = host(&send("nothing"), &[]).await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("not trusted"),
        "{}",
        stderr(&refused)
    );

    let sent = host(&send("via env"), &[("SSL_CERT_FILE", &pki.ca)]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    let ca = pki.ca.to_str().unwrap();
    let mut with_flag = send("via flag").to_vec();
    with_flag.extend(["--ca-file", ca]);
    let sent = host(&with_flag, &[]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));

    // host.toml's `[service_bus] ca_file`, relative to the file's directory.
    let config = pki.dir.join("host.toml");
    std::fs::write(&config, "[service_bus]\nca_file = \"ca.pem\"\n").unwrap();
    let peeked = host(
        &[
            "peek",
            "--connection-string",
            &cs,
            "--queue",
            "orders",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert!(peeked.status.success(), "{}", stderr(&peeked));
    let list: serde_json::Value = serde_json::from_slice(&peeked.stdout).unwrap();
    let bodies: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["via env", "via flag"]);

    // SSL_CERT_DIR: a directory holding the CA among other files.
    let dir = pki.dir.join("certs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&pki.ca, dir.join("corporate.pem")).unwrap();
    std::fs::write(dir.join("README"), "not a certificate").unwrap();
    let sent = host(&send("via dir"), &[("SSL_CERT_DIR", &dir)]).await;
    assert!(sent.status.success(), "{}", stderr(&sent));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ca_files_stop_host_send_and_validate_naming_the_file_and_the_setting() {
    let pki = test_pki(&temp_dir("trust-cli-bad"));
    let missing = pki.dir.join("missing.pem");
    let out = host(
        &[
            "send",
            "--connection-string",
            "Endpoint=sb://localhost:1;SharedAccessKeyName=k;SharedAccessKey=v",
            "--queue",
            "orders",
            "--body",
            "x",
        ],
        &[("SSL_CERT_FILE", &missing)],
    )
    .await;
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("missing.pem (SSL_CERT_FILE)"), "{text}");
    assert!(text.contains("cannot read"), "{text}");

    // `host validate` checks host.toml's ca_file (taken from the file's directory).
    let config = pki.dir.join("host.toml");
    let validate = ["validate", "--config", config.to_str().unwrap()];
    std::fs::write(&config, "[service_bus]\nca_file = \"missing.pem\"\n").unwrap();
    let out = host(&validate, &[]).await;
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("missing.pem ([service_bus] ca_file)"),
        "{text}"
    );
    std::fs::write(&config, "[service_bus]\nca_file = \"ca.pem\"\n").unwrap();
    let out = host(&validate, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The error [`TlsTrust::load`] gives for `ca_file` holding `text`.
fn load_error(pki: &TestPki, name: &str, text: &str) -> String {
    let path = pki.dir.join(name);
    std::fs::write(&path, text).unwrap();
    let sources = CaSources {
        ca_file: Some((path, "[service_bus] ca_file".to_owned())),
        ..CaSources::default()
    };
    TlsTrust::load(&sources).unwrap_err().to_string()
}

#[test]
fn bad_ca_files_are_refused_naming_the_file_and_the_setting() {
    let pki = test_pki(&temp_dir("trust-bad-files"));

    let sources = CaSources {
        ca_file: Some((pki.dir.join("nope.pem"), "--ca-file".to_owned())),
        ..CaSources::default()
    };
    let error = TlsTrust::load(&sources).unwrap_err().to_string();
    assert!(error.contains("nope.pem (--ca-file)"), "{error}");
    assert!(error.contains("cannot read"), "{error}");

    let error = load_error(&pki, "empty.pem", "");
    assert!(
        error.contains("empty.pem ([service_bus] ca_file) holds no PEM certificate"),
        "{error}"
    );
    let key = std::fs::read_to_string(&pki.key).unwrap();
    let error = load_error(&pki, "key-only.pem", &key);
    assert!(error.contains("holds no PEM certificate"), "{error}");

    let bad = "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n";
    let error = load_error(&pki, "bad.pem", bad);
    assert!(
        error.contains("bad.pem ([service_bus] ca_file) is not valid PEM"),
        "{error}"
    );
    let cut = "-----BEGIN CERTIFICATE-----\nMIIB\n";
    let error = load_error(&pki, "cut.pem", cut);
    assert!(error.contains("cut.pem"), "{error}");

    let garbage = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
    let error = load_error(&pki, "garbage.pem", garbage);
    assert!(
        error.contains("certificate 1 of the CA file") && error.contains("garbage.pem"),
        "{error}"
    );

    let empty_dir = pki.dir.join("empty-dir");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let sources = CaSources {
        ssl_cert_dir: Some(empty_dir.into_os_string()),
        ..CaSources::default()
    };
    let error = TlsTrust::load(&sources).unwrap_err().to_string();
    assert!(error.contains("empty-dir (SSL_CERT_DIR)"), "{error}");

    // Empty variables count as unset; a good bundle adds its one CA to the web roots.
    let sources = CaSources {
        ssl_cert_file: Some(pki.ca.clone().into_os_string()),
        ssl_cert_dir: Some("".into()),
        ..CaSources::default()
    };
    let trust = TlsTrust::load(&sources).unwrap();
    assert_eq!(trust.added().len(), 1);
    assert_eq!(trust.added()[0].1, 1);
    assert!(trust.added()[0].0.ends_with("ca.pem (SSL_CERT_FILE)"));
}
