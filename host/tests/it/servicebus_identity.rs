//! Identity-based connections end to end: app settings → credential → a fake token endpoint
//! on loopback → `jwt` put-tokens on `$cbs` → the embedded broker (development JWTs on, and a
//! SAS rule, so that nothing is authorised without a valid token).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth::{Message, Settlement};
use berth_emulator::broker::{Broker, RunningBroker};
use berth_host::config::{resolve_connection, AppSettings, ConnectionSetting};
use berth_host::runtime::{SessionSource, SourceSession};
use berth_host::servicebus::credential::{ManagedIdentitySource, TokenCredential, TokenProvider};
use berth_host::servicebus::{
    CaSources, ClientOptions, IdentityConnection, ServiceBusClient, TlsTrust,
};

use crate::identity_support;
use crate::servicebus_support;
use crate::tls_support;
use crate::wait::{poll_until, LIMIT};
use identity_support::*;
use servicebus_support::*;

/// The broker's "development jwt accepted" events for the broker on `port` so far, one per
/// accepted put-token (from [`logged`]: tests run in parallel, each counts its own broker's).
fn put_tokens(port: u16) -> usize {
    let needle = format!(":{port}/");
    let text = String::from_utf8(logged().lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line["message"] == "development jwt accepted (signature not verified)")
        .filter(|line| {
            line["audience"]
                .as_str()
                .is_some_and(|a| a.contains(&needle))
        })
        .count()
}

async fn broker() -> RunningBroker {
    Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml(ENTITIES)
        .unwrap()
        .sas_rule("Root", "only-for-sas-clients")
        .dev_jwt(true)
        .start()
        .await
        .unwrap()
}

/// `ServiceBusConnection__…` settings for `broker` with a client secret against `fake`.
fn identity(broker: &RunningBroker, fake: &FakeTokenEndpoint) -> IdentityConnection {
    let port = broker.local_addr().port();
    let settings = AppSettings::default().with_env([
        (
            "ServiceBusConnection__fullyQualifiedNamespace".to_owned(),
            format!("127.0.0.1:{port}"),
        ),
        (
            "ServiceBusConnection__useDevelopmentEmulator".to_owned(),
            "true".to_owned(),
        ),
        (
            "ServiceBusConnection__tenantId".to_owned(),
            "tenant-1".to_owned(),
        ),
        (
            "ServiceBusConnection__clientId".to_owned(),
            "client-1".to_owned(),
        ),
        (
            "ServiceBusConnection__clientSecret".to_owned(),
            "s3cret".to_owned(),
        ),
        ("AZURE_AUTHORITY_HOST".to_owned(), fake.url()),
    ]);
    match resolve_connection(&settings, "ServiceBusConnection").unwrap() {
        Some(ConnectionSetting::Identity(identity)) => identity,
        other => panic!("not identity-based: {other:?}"),
    }
}

#[tokio::test]
async fn an_identity_connection_receives_messages_and_re_puts_its_token_before_expiry() {
    logged();
    let fake = FakeTokenEndpoint::start().await;
    // 4 s tokens: refreshed half-way through, so a second put-token comes after ~2 s.
    fake.set_lifetime(4);
    let broker = broker().await;
    let first_token_gone = std::time::SystemTime::now() + Duration::from_secs(5);
    let client = ServiceBusClient::connect(identity(&broker, &fake))
        .await
        .unwrap();
    let (mut session, received) = send_and_receive_one(&client).await;
    session
        .settle(received.token, Settlement::Complete)
        .await
        .unwrap();
    session.release().await;
    assert_eq!(counts(&broker, "orders").active, 0);

    let first = &fake.requests()[0];
    assert_eq!(first.path, "/tenant-1/oauth2/v2.0/token");
    assert_eq!(
        first.params.get("client_id").map(String::as_str),
        Some("client-1")
    );
    assert_eq!(
        first.params.get("client_secret").map(String::as_str),
        Some("s3cret")
    );

    // The refresher puts a fresh token for the audiences in use, from a new token request.
    let port = broker.local_addr().port();
    let before = put_tokens(port);
    assert!(before >= 1, "the first put-token was seen");
    poll_until(
        "a second put-token",
        LIMIT,
        || put_tokens(port) > before,
        || put_tokens(port),
    )
    .await;
    assert!(fake.wait_for_requests(2, WAIT).await.len() >= 2);
    // And the connection still works with it once the first token has expired (the broker
    // detaches links whose token expires without a fresh one).
    while std::time::SystemTime::now() < first_token_gone {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.sender("orders").send(&msg("s2", 0)).await.unwrap();
    assert_eq!(counts(&broker, "orders").active, 1);
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_refusing_token_endpoint_is_a_clear_error_and_later_attempts_try_again() {
    let fake = FakeTokenEndpoint::start().await;
    fake.fail_with(401);
    let broker = broker().await;
    let client = ServiceBusClient::connect(identity(&broker, &fake))
        .await
        .unwrap();
    let source = source(&client, "orders");
    let err = source
        .accept_next()
        .await
        .err()
        .expect("no token: no session");
    assert!(
        err.message
            .contains("ClientSecretCredential could not get a token")
            && err.message.contains("invalid_client: AADSTS7000215"),
        "{err}"
    );
    assert!(!err.message.contains("s3cret"), "{err}");
    // A 401 is not retried within one fetch; the next attempt asks again.
    assert_eq!(fake.requests().len(), 1);
    assert!(source.accept_next().await.is_err());
    assert_eq!(fake.requests().len(), 2);

    fake.succeed();
    client.sender("orders").send(&msg("s1", 0)).await.unwrap();
    let session = source.accept_next().await.unwrap().unwrap();
    assert_eq!(session.session_id(), "s1");
    session.release().await;
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_by_the_broker() {
    let fake = FakeTokenEndpoint::start().await;
    fake.set_audience("https://vault.azure.net");
    let broker = broker().await;
    let client = ServiceBusClient::connect(identity(&broker, &fake))
        .await
        .unwrap();
    let err = client
        .sender("plain")
        .send(&Message::with_body("x"))
        .await
        .unwrap_err();
    assert!(
        err.message.contains("refused the token") && err.message.contains("InvalidAudience"),
        "{err}"
    );
    assert_eq!(counts(&broker, "plain").active, 0);
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn workload_and_managed_identities_ask_their_endpoints_as_azure_does() {
    let fake = FakeTokenEndpoint::start().await;
    let file = temp_dir("workload").join("token");
    std::fs::write(&file, "federated-token\n").unwrap();
    let workload = TokenProvider::new(TokenCredential::WorkloadIdentity {
        authority_host: fake.url(),
        tenant_id: "t".into(),
        client_id: "c".into(),
        token_file: file,
    });
    let token = workload.token().await.unwrap();
    assert!(token.secret().split('.').count() == 3);
    // Cached until its refresh point: no second request.
    assert_eq!(workload.token().await.unwrap(), token);
    let app_service = TokenProvider::new(TokenCredential::ManagedIdentity {
        source: ManagedIdentitySource::AppService {
            endpoint: format!("{}/msi/token", fake.url()),
            header: IDENTITY_HEADER.into(),
        },
        client_id: Some("uami".into()),
    });
    app_service.token().await.unwrap();
    let imds = TokenProvider::new(TokenCredential::ManagedIdentity {
        source: ManagedIdentitySource::Imds {
            endpoint: format!("{}/metadata/identity/oauth2/token", fake.url()),
        },
        client_id: None,
    });
    imds.token().await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    let p = |i: usize, k: &str| requests[i].params.get(k).cloned();
    assert_eq!(p(0, "client_assertion").as_deref(), Some("federated-token"));
    assert_eq!(requests[1].method, "GET");
    assert_eq!(p(1, "api-version").as_deref(), Some("2019-08-01"));
    assert_eq!(p(1, "client_id").as_deref(), Some("uami"));
    assert_eq!(p(2, "api-version").as_deref(), Some("2018-02-01"));
    assert_eq!(
        requests[2].headers.get("metadata").map(String::as_str),
        Some("true")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_signed_by_a_private_ca_is_trusted_through_the_clients_ca_file() {
    let pki = tls_support::test_pki(&temp_dir("token-ca"));
    let acceptor = berth_emulator::tls::acceptor(&pki.cert, &pki.key).unwrap();
    let fake = FakeTokenEndpoint::start_tls(acceptor).await;
    let broker = broker().await;
    let target = identity(&broker, &fake);

    // The web roots alone: the token request is refused as not trusted.
    let untrusting = TokenProvider::new(target.credential.clone());
    let error = untrusting.token().await.unwrap_err().to_string();
    assert!(error.contains("not trusted"), "{error}");

    // The client's CAs reach its token requests too.
    let sources = CaSources {
        ca_file: Some((pki.ca.clone(), "[service_bus] ca_file".to_owned())),
        ..CaSources::default()
    };
    let options = ClientOptions {
        trust: TlsTrust::load(&sources).unwrap(),
        ..ClientOptions::default()
    };
    let client = ServiceBusClient::connect_with(target, options)
        .await
        .unwrap();
    client.sender("orders").send(&msg("s1", 0)).await.unwrap();
    assert!(!fake.requests().is_empty());
    client.close().await;
    broker.shutdown().await;
}
