#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::*;

fn pick(options: &IdentityOptions, vars: &[(&str, &str)]) -> Result<TokenCredential, String> {
    let env: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    select("Conn", options, &|name| env.get(name).cloned())
}

const SECRET_ENV: [(&str, &str); 3] = [
    ("AZURE_TENANT_ID", "tenant-1"),
    ("AZURE_CLIENT_ID", "client-1"),
    ("AZURE_CLIENT_SECRET", "s3cret"),
];

#[test]
fn environment_client_secret_comes_first() {
    let mut vars = SECRET_ENV.to_vec();
    vars.push(("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"));
    vars.push(("IDENTITY_ENDPOINT", "http://localhost:4141/msi/token"));
    vars.push(("IDENTITY_HEADER", "h"));
    let credential = pick(&IdentityOptions::default(), &vars).unwrap();
    assert_eq!(
        credential,
        TokenCredential::ClientSecret {
            authority_host: "https://login.microsoftonline.com".into(),
            tenant_id: "tenant-1".into(),
            client_id: "client-1".into(),
            client_secret: "s3cret".into(),
        }
    );
    assert!(!format!("{credential:?}").contains("s3cret"));
}

#[test]
fn workload_identity_comes_next_with_the_authority_host_from_the_environment() {
    let vars = [
        ("AZURE_TENANT_ID", "tenant-1"),
        ("AZURE_CLIENT_ID", "client-1"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
        ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/"),
        ("AZURE_CLIENT_SECRET", ""),
    ];
    assert_eq!(
        pick(&IdentityOptions::default(), &vars).unwrap(),
        TokenCredential::WorkloadIdentity {
            authority_host: "https://login.microsoftonline.us".into(),
            tenant_id: "tenant-1".into(),
            client_id: "client-1".into(),
            token_file: "/var/run/token".into(),
        }
    );
}

#[test]
fn managed_identity_is_last_app_service_before_imds() {
    let app_service = [
        ("IDENTITY_ENDPOINT", "http://localhost:4141/msi/token"),
        ("IDENTITY_HEADER", "hdr"),
    ];
    assert_eq!(
        pick(&IdentityOptions::default(), &app_service).unwrap(),
        TokenCredential::ManagedIdentity {
            source: ManagedIdentitySource::AppService {
                endpoint: "http://localhost:4141/msi/token".into(),
                header: "hdr".into()
            },
            client_id: None,
        }
    );
    // Only half of the workload identity variables: not workload identity.
    let vm = [
        ("AZURE_CLIENT_ID", "uami"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/t"),
    ];
    assert_eq!(
        pick(&IdentityOptions::default(), &vm).unwrap(),
        TokenCredential::ManagedIdentity {
            source: ManagedIdentitySource::Imds {
                endpoint: "http://169.254.169.254/metadata/identity/oauth2/token".into()
            },
            client_id: Some("uami".into()),
        }
    );
    let fake = [("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9999")];
    let TokenCredential::ManagedIdentity { source, .. } =
        pick(&IdentityOptions::default(), &fake).unwrap()
    else {
        panic!("not managed identity");
    };
    assert_eq!(
        source,
        ManagedIdentitySource::Imds {
            endpoint: "http://127.0.0.1:9999/metadata/identity/oauth2/token".into()
        }
    );
}

#[test]
fn the_connection_settings_pick_and_narrow_the_credential() {
    let managed = IdentityOptions {
        credential: Some(CredentialKind::ManagedIdentity),
        ..IdentityOptions::default()
    };
    // Explicit managed identity even though a client secret is in the environment; without
    // __clientId it is the system-assigned identity.
    assert_eq!(
        pick(&managed, &SECRET_ENV).unwrap(),
        TokenCredential::ManagedIdentity {
            source: ManagedIdentitySource::Imds {
                endpoint: IMDS_ENDPOINT.into()
            },
            client_id: None,
        }
    );
    let user_assigned = IdentityOptions {
        client_id: Some("uami".into()),
        ..managed
    };
    assert!(matches!(
        pick(&user_assigned, &SECRET_ENV).unwrap(),
        TokenCredential::ManagedIdentity { client_id: Some(id), .. } if id == "uami"
    ));
    let own_secret = IdentityOptions {
        tenant_id: Some("t2".into()),
        client_id: Some("c2".into()),
        client_secret: Some("s2".into()),
        ..IdentityOptions::default()
    };
    assert!(matches!(
        pick(&own_secret, &SECRET_ENV).unwrap(),
        TokenCredential::ClientSecret { tenant_id, client_id, client_secret, .. }
            if tenant_id == "t2" && client_id == "c2" && client_secret == "s2"
    ));
}

#[test]
fn missing_pieces_are_named() {
    let secret = IdentityOptions {
        credential: Some(CredentialKind::ClientSecret),
        ..IdentityOptions::default()
    };
    let err = pick(&secret, &[("AZURE_CLIENT_ID", "c")]).unwrap_err();
    assert_eq!(
        err,
        "for a client secret a tenant id is needed: set Conn__tenantId or the environment variable AZURE_TENANT_ID"
    );
    let workload = IdentityOptions {
        credential: Some(CredentialKind::WorkloadIdentity),
        ..IdentityOptions::default()
    };
    let err = pick(
        &workload,
        &[("AZURE_CLIENT_ID", "c"), ("AZURE_TENANT_ID", "t")],
    )
    .unwrap_err();
    assert!(err.contains("AZURE_FEDERATED_TOKEN_FILE"), "{err}");
}

#[test]
fn endpoints_must_be_https_unless_loopback() {
    let mut vars = SECRET_ENV.to_vec();
    vars.push(("AZURE_AUTHORITY_HOST", "http://login.example.com"));
    let err = pick(&IdentityOptions::default(), &vars).unwrap_err();
    assert!(
        err.contains("AZURE_AUTHORITY_HOST") && err.contains("https"),
        "{err}"
    );
    vars.pop();
    vars.push(("AZURE_AUTHORITY_HOST", "http://127.0.0.1:8080/"));
    assert!(matches!(
        pick(&IdentityOptions::default(), &vars).unwrap(),
        TokenCredential::ClientSecret { authority_host, .. } if authority_host == "http://127.0.0.1:8080"
    ));
    let bad_tenant = [
        ("AZURE_TENANT_ID", "../evil"),
        ("AZURE_CLIENT_ID", "c"),
        ("AZURE_CLIENT_SECRET", "s"),
    ];
    assert!(pick(&IdentityOptions::default(), &bad_tenant)
        .unwrap_err()
        .contains("tenant id"));
}

#[test]
fn credential_names_parse_case_insensitively() {
    assert_eq!(
        CredentialKind::parse("ManagedIdentity"),
        Some(CredentialKind::ManagedIdentity)
    );
    assert_eq!(
        CredentialKind::parse("workloadidentity"),
        Some(CredentialKind::WorkloadIdentity)
    );
    assert_eq!(
        CredentialKind::parse("CLIENTSECRET"),
        Some(CredentialKind::ClientSecret)
    );
    assert_eq!(CredentialKind::parse("azurecli"), None);
}
