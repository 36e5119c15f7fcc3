use super::*;

const REAL: &str = "Endpoint=sb://MyNs.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abc+/def==";

#[test]
fn parses_a_portal_connection_string() {
    let cs = ConnectionString::parse(REAL).unwrap();
    assert_eq!(cs.host, "myns.servicebus.windows.net");
    assert_eq!(cs.port, None);
    assert_eq!(cs.port(), 5671);
    assert!(cs.uses_tls());
    assert_eq!(
        cs.credential,
        Credential::Key {
            name: "RootManageSharedAccessKey".into(),
            key: "abc+/def==".into()
        }
    );
    assert_eq!(
        cs.audience("orders"),
        "sb://myns.servicebus.windows.net/orders"
    );
}

#[test]
fn emulator_uses_plain_tcp_on_5672_or_the_endpoint_port() {
    let cs = ConnectionString::parse(
        "Endpoint=sb://localhost;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;",
    )
    .unwrap();
    assert!(cs.use_development_emulator);
    assert!(!cs.uses_tls());
    assert_eq!(cs.port(), 5672);
    let cs = ConnectionString::parse(
        "endpoint=sb://127.0.0.1:40123/;sharedaccesskeyname=k;sharedaccesskey=v;usedevelopmentemulator=TRUE",
    )
    .unwrap();
    assert_eq!(cs.port(), 40123);
    assert_eq!(cs.audience("q"), "sb://127.0.0.1:40123/q");
}

#[test]
fn accepts_hostname_alias_entity_path_and_whitespace() {
    let cs = ConnectionString::parse(
        " HostName = sb://ns.example ; SharedAccessKeyName=k ; SharedAccessKey=v ; EntityPath=/q1/ ; Other=x",
    )
    .unwrap();
    assert_eq!(cs.host, "ns.example");
    assert_eq!(cs.entity_path.as_deref(), Some("q1"));
}

#[test]
fn accepts_a_shared_access_signature() {
    let token = "SharedAccessSignature sr=sb%3A%2F%2Fns%2Fq&sig=abc%3D&se=1700000000&skn=k";
    let cs = ConnectionString::parse(&format!("Endpoint=sb://ns/;SharedAccessSignature={token}"))
        .unwrap();
    assert_eq!(
        cs.credential,
        Credential::Signature {
            token: token.into(),
            expiry: 1_700_000_000
        }
    );
}

#[test]
fn refuses_bad_strings_with_clear_errors() {
    let cases: &[(&str, ConnectionStringError)] = &[
        (
            "SharedAccessKeyName=k;SharedAccessKey=v",
            ConnectionStringError::Missing("Endpoint"),
        ),
        (
            "Endpoint=sb://ns/;SharedAccessKeyName=k",
            ConnectionStringError::IncompleteKey,
        ),
        (
            "Endpoint=sb://ns/;SharedAccessKey=v",
            ConnectionStringError::IncompleteKey,
        ),
        (
            "Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey=v;SharedAccessSignature=x",
            ConnectionStringError::KeyAndSignature,
        ),
        (
            "Endpoint=sb://ns/;Endpoint=sb://other/;SharedAccessKeyName=k;SharedAccessKey=v",
            ConnectionStringError::Duplicate("Endpoint".into()),
        ),
        (
            "Endpoint=http://ns/;SharedAccessKeyName=k;SharedAccessKey=v",
            ConnectionStringError::BadEndpoint("unknown scheme 'http'".into()),
        ),
        (
            "Endpoint=sb://ns:99999/;SharedAccessKeyName=k;SharedAccessKey=v",
            ConnectionStringError::BadEndpoint("'99999' is not a port number".into()),
        ),
        (
            "Endpoint=sb:///;SharedAccessKeyName=k;SharedAccessKey=v",
            ConnectionStringError::BadEndpoint("no host".into()),
        ),
        (
            "Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=yes",
            ConnectionStringError::BadEmulatorFlag("yes".into()),
        ),
        (
            "Endpoint=sb://ns/;garbage",
            ConnectionStringError::MissingEquals(2),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            &ConnectionString::parse(text).unwrap_err(),
            expected,
            "{text}"
        );
    }
    let err =
        ConnectionString::parse("Endpoint=sb://ns/;SharedAccessSignature=not-a-token").unwrap_err();
    assert!(
        matches!(err, ConnectionStringError::BadSignature(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("SharedAccessSignature is invalid"));
}

#[test]
fn errors_and_debug_never_show_the_key() {
    let secret = "SuperSecretKeyValue1234567890";
    let cs = ConnectionString::parse(&format!(
        "Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey={secret}"
    ))
    .unwrap();
    assert!(!format!("{cs:?}").contains(secret));
    let err = ConnectionString::parse(&format!("Endpoint=sb://ns/;{secret}")).unwrap_err();
    assert!(!err.to_string().contains(secret), "{err}");
}
