//! Which certificate authorities the client's TLS connections trust: the Mozilla roots of
//! `webpki-roots` (what Azure Service Bus chains to), plus the private CAs a user adds for a
//! TLS-inspecting corporate proxy or a TLS-enabled local broker.
//!
//! Extra CAs come from the `[service_bus] ca_file` setting (or `--ca-file`), the
//! `SSL_CERT_FILE` environment variable (a PEM bundle) and `SSL_CERT_DIR` (directories of PEM
//! files, separated by `:`). They are **added** to the web roots, never replace them: a
//! bundle that holds only the corporate CA must not cut the host off from the endpoints that
//! do not pass the proxy (OpenSSL replaces its default store instead; most users setting
//! `SSL_CERT_FILE` for one extra CA expect the public roots to keep working, and a bundle
//! that also holds the public roots works the same either way).
//!
//! Everything is read and checked once, before a connection is opened, so a wrong path or a
//! file without certificates stops the host at start-up with the file and the setting named.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth::{ErrorKind, ServiceBusError};
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// The certificate authorities a client trusts. The default is the web roots only.
#[derive(Clone)]
pub struct TlsTrust {
    roots: Arc<RootCertStore>,
    /// Where each extra CA came from, for logs: `(source, certificates)`.
    added: Vec<(String, usize)>,
}

/// Where extra CAs come from: a setting's file and the two OpenSSL variables. Empty values
/// count as unset.
#[derive(Debug, Clone, Default)]
pub struct CaSources {
    /// A PEM bundle named by a setting, and the setting's name for errors (e.g.
    /// `[service_bus] ca_file`).
    pub ca_file: Option<(PathBuf, String)>,
    /// `SSL_CERT_FILE`: a PEM bundle.
    pub ssl_cert_file: Option<OsString>,
    /// `SSL_CERT_DIR`: directories of PEM files, separated by `:`.
    pub ssl_cert_dir: Option<OsString>,
}

impl CaSources {
    /// `ca_file` (named `setting`) with `SSL_CERT_FILE` and `SSL_CERT_DIR` from the process
    /// environment.
    pub fn from_env(ca_file: Option<&Path>, setting: &str) -> Self {
        CaSources {
            ca_file: ca_file.map(|path| (path.to_path_buf(), setting.to_owned())),
            ssl_cert_file: std::env::var_os("SSL_CERT_FILE"),
            ssl_cert_dir: std::env::var_os("SSL_CERT_DIR"),
        }
    }
}

/// Why extra CAs could not be loaded: the message names the file and the setting or
/// variable that pointed at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustError(pub String);

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TrustError {}

impl Default for TlsTrust {
    fn default() -> Self {
        TlsTrust {
            roots: Arc::new(web_roots()),
            added: Vec::new(),
        }
    }
}

impl fmt::Debug for TlsTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTrust")
            .field("roots", &self.roots.len())
            .field("added", &self.added)
            .finish()
    }
}

impl TlsTrust {
    /// The web roots plus every CA in `sources`.
    pub fn load(sources: &CaSources) -> Result<TlsTrust, TrustError> {
        let mut roots = web_roots();
        let mut added = Vec::new();
        if let Some((path, setting)) = &sources.ca_file {
            let origin = format!("{} ({setting})", path.display());
            added.push((origin.clone(), add_file(&mut roots, path, &origin)?));
        }
        if let Some(file) = non_empty(&sources.ssl_cert_file) {
            let path = Path::new(file);
            let origin = format!("{} (SSL_CERT_FILE)", path.display());
            added.push((origin.clone(), add_file(&mut roots, path, &origin)?));
        }
        if let Some(dirs) = non_empty(&sources.ssl_cert_dir) {
            for dir in std::env::split_paths(dirs).filter(|d| !d.as_os_str().is_empty()) {
                let origin = format!("{} (SSL_CERT_DIR)", dir.display());
                added.push((origin.clone(), add_dir(&mut roots, &dir, &origin)?));
            }
        }
        Ok(TlsTrust {
            roots: Arc::new(roots),
            added,
        })
    }

    /// Where the extra CAs came from and how many certificates each gave (empty: the web
    /// roots only).
    pub fn added(&self) -> &[(String, usize)] {
        &self.added
    }

    /// A TLS client configuration trusting these CAs (ring crypto, TLS 1.2 and 1.3).
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, ServiceBusError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| {
                Arc::new(
                    b.with_root_certificates(self.roots.clone())
                        .with_no_client_auth(),
                )
            })
            .map_err(|e| {
                ServiceBusError::new(ErrorKind::Connection, format!("TLS setup failed: {e}"))
            })
    }
}

fn web_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

fn non_empty(value: &Option<OsString>) -> Option<&OsString> {
    value.as_ref().filter(|v| !v.is_empty())
}

/// Adds every certificate of the PEM bundle at `path`; none at all is an error.
fn add_file(roots: &mut RootCertStore, path: &Path, origin: &str) -> Result<usize, TrustError> {
    let text = std::fs::read(path)
        .map_err(|e| TrustError(format!("cannot read the CA file {origin}: {e}")))?;
    let certificates = certificates(&text, origin)?;
    if certificates.is_empty() {
        return Err(TrustError(format!(
            "the CA file {origin} holds no PEM certificate (a `-----BEGIN CERTIFICATE-----` \
             block)"
        )));
    }
    add_all(roots, certificates, origin)
}

/// Adds the certificates of every file in `dir` (files without certificates, such as an
/// OpenSSL directory's other files, are skipped); a directory that gives none is an error.
fn add_dir(roots: &mut RootCertStore, dir: &Path, origin: &str) -> Result<usize, TrustError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| TrustError(format!("cannot read the CA directory {origin}: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    let mut count = 0;
    for path in paths {
        let file_origin = format!("{} (in SSL_CERT_DIR)", path.display());
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        match certificates(&text, &file_origin) {
            Ok(certificates) if !certificates.is_empty() => {
                count += add_all(roots, certificates, &file_origin)?;
            }
            _ => {}
        }
    }
    if count == 0 {
        return Err(TrustError(format!(
            "the CA directory {origin} holds no file with a PEM certificate"
        )));
    }
    Ok(count)
}

/// The PEM certificates in `text` (other PEM sections are ignored).
fn certificates(text: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    CertificateDer::pem_slice_iter(text)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| TrustError(format!("the CA file {origin} is not valid PEM: {e}")))
}

fn add_all(
    roots: &mut RootCertStore,
    certificates: Vec<CertificateDer<'static>>,
    origin: &str,
) -> Result<usize, TrustError> {
    let count = certificates.len();
    for (i, certificate) in certificates.into_iter().enumerate() {
        roots.add(certificate).map_err(|e| {
            TrustError(format!(
                "certificate {} of the CA file {origin} cannot be trusted as a CA: {e}",
                i + 1
            ))
        })?;
    }
    Ok(count)
}

/// The message for a failed TLS handshake with `address`: a server certificate that does not
/// chain to a trusted CA says so and names the settings that add one.
pub(crate) fn handshake_error(address: &str, e: &std::io::Error) -> String {
    let rustls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            format!(
                "TLS handshake to {address} failed: the server's certificate is not trusted \
                 (it does not chain to a known CA)\nhint: if a private CA signed it (a \
                 TLS-inspecting proxy, a local broker), add that CA's PEM file with \
                 `[service_bus] ca_file` in host.toml (`--ca-file` for send and peek) or \
                 the SSL_CERT_FILE environment variable"
            )
        }
        Some(rustls::Error::InvalidCertificate(reason)) => {
            format!("TLS handshake to {address} failed: the server's certificate was refused: {reason:?}")
        }
        _ => format!("TLS handshake to {address} failed: {e}"),
    }
}
