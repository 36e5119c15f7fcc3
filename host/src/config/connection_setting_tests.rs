#![allow(clippy::unwrap_used)]

use super::*;
use crate::servicebus::credential::{ManagedIdentitySource, TokenCredential};

fn settings(file: &str, env: &[(&str, &str)]) -> AppSettings {
    AppSettings::parse(&format!("[values]\n{file}"), "local.settings.toml")
        .unwrap()
        .with_env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn a_connection_string_is_kept_as_text() {
    let s = settings(
        "Conn = \"Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=v\"\n",
        &[],
    );
    let resolved = resolve_connection(&s, "Conn").unwrap().unwrap();
    assert!(
        matches!(&resolved, ConnectionSetting::ConnectionString(t) if t.starts_with("Endpoint"))
    );
    assert!(!format!("{resolved:?}").contains("SharedAccessKey=v"));
    assert_eq!(resolve_connection(&s, "Other").unwrap(), None);
}

#[test]
fn a_fully_qualified_namespace_makes_an_identity_connection() {
    let s = settings(
        "Conn__fullyQualifiedNamespace = \"MyNs.servicebus.windows.net\"\n",
        &[
            ("IDENTITY_ENDPOINT", "http://localhost:41/token"),
            ("IDENTITY_HEADER", "h"),
        ],
    );
    let Some(ConnectionSetting::Identity(identity)) = resolve_connection(&s, "Conn").unwrap()
    else {
        panic!("not identity-based");
    };
    assert_eq!(identity.host, "myns.servicebus.windows.net");
    assert_eq!(identity.port, None);
    assert!(!identity.use_development_emulator);
    assert!(matches!(
        identity.credential,
        TokenCredential::ManagedIdentity {
            source: ManagedIdentitySource::AppService { .. },
            client_id: None
        }
    ));
}

#[test]
fn the_emulator_form_and_the_colon_separator() {
    let s = settings(
        "\"Conn:fullyQualifiedNamespace\" = \"localhost:5672\"\n\"Conn:useDevelopmentEmulator\" = \"true\"\n\
         Conn__credential = \"clientsecret\"\nConn__tenantId = \"t\"\nConn__clientId = \"c\"\nConn__clientSecret = \"s\"\n",
        &[("AZURE_AUTHORITY_HOST", "http://127.0.0.1:1234")],
    );
    let Some(ConnectionSetting::Identity(identity)) = resolve_connection(&s, "Conn").unwrap()
    else {
        panic!("not identity-based");
    };
    assert_eq!(
        (identity.host.as_str(), identity.port),
        ("localhost", Some(5672))
    );
    assert!(identity.use_development_emulator);
    assert_eq!(
        identity.credential,
        TokenCredential::ClientSecret {
            authority_host: "http://127.0.0.1:1234".into(),
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: "s".into()
        }
    );
}

#[test]
fn errors_name_the_settings() {
    let cases: [(&str, &str); 5] = [
        (
            "Conn = \"Endpoint=sb://x/\"\nConn__fullyQualifiedNamespace = \"x.servicebus.windows.net\"\n",
            "connection `Conn`: both Conn (a connection string) and Conn__fullyQualifiedNamespace (identity-based) are set; keep one",
        ),
        (
            "Conn__credential = \"managedidentity\"\n",
            "connection `Conn`: Conn__credential is set but Conn__fullyQualifiedNamespace is not",
        ),
        (
            "Conn__fullyQualifiedNamespace = \"x.servicebus.windows.net\"\nConn__credential = \"azurecli\"\n",
            "connection `Conn`: Conn__credential = `azurecli` is not a credential",
        ),
        (
            "Conn__fullyQualifiedNamespace = \"https://x.servicebus.windows.net\"\n",
            "connection `Conn`: Conn__fullyQualifiedNamespace: `https://x.servicebus.windows.net` has the scheme `https`",
        ),
        (
            "Conn__fullyQualifiedNamespace = \"x.net\"\nConn__useDevelopmentEmulator = \"yes\"\n",
            "Conn__useDevelopmentEmulator must be true or false, not `yes`",
        ),
    ];
    for (file, expected) in cases {
        let err = resolve_connection(&settings(file, &[]), "Conn").unwrap_err();
        assert!(err.contains(expected), "{err}\nexpected: {expected}");
    }
    assert_eq!(
        connection_not_set("ServiceBusConnection"),
        "connection `ServiceBusConnection`: set the app setting ServiceBusConnection (a connection string) or ServiceBusConnection__fullyQualifiedNamespace (identity-based)"
    );
}
