//! [`ConnectionTarget`]: the namespace a client dials and how it authenticates — a
//! connection string (shared access key or signature) or an [`IdentityConnection`] (a
//! fully qualified namespace and a token credential).

use std::fmt;

use super::connection_string::{self, ConnectionString};
use super::credential::TokenCredential;

/// An identity-based connection: `<connection>__fullyQualifiedNamespace` and a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConnection {
    /// The namespace host, e.g. `myns.servicebus.windows.net`.
    pub host: String,
    /// A port written after the host, if any.
    pub port: Option<u16>,
    /// `<connection>__useDevelopmentEmulator=true`: plain TCP (no TLS), port 5672 unless
    /// given — for the emulator and tests.
    pub use_development_emulator: bool,
    /// Where tokens come from.
    pub credential: TokenCredential,
}

impl IdentityConnection {
    /// Parses a `fullyQualifiedNamespace` value: `host[:port]`, optionally written as
    /// `sb://host[:port]/`.
    pub fn parse_namespace(text: &str) -> Result<(String, Option<u16>), String> {
        let text = text.trim();
        let rest = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("sb") => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "`{text}` has the scheme `{scheme}`; write just the host name, e.g. myns.servicebus.windows.net"
                ))
            }
            None => text,
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') {
            return Err(format!(
                "`{text}` has a path; write just the host name, e.g. myns.servicebus.windows.net"
            ));
        }
        let (host, port) = connection_string::split_port(authority)
            .map_err(|port| format!("`{port}` in `{text}` is not a port number"))?;
        if host.is_empty() || !connection_string::is_host_name(host) {
            return Err(format!(
                "`{text}` is not a host name like myns.servicebus.windows.net"
            ));
        }
        Ok((host.to_ascii_lowercase(), port))
    }
}

/// Where and how a client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionTarget {
    /// A connection string.
    ConnectionString(ConnectionString),
    /// An identity-based connection.
    Identity(IdentityConnection),
}

impl From<ConnectionString> for ConnectionTarget {
    fn from(cs: ConnectionString) -> Self {
        ConnectionTarget::ConnectionString(cs)
    }
}

impl From<IdentityConnection> for ConnectionTarget {
    fn from(identity: IdentityConnection) -> Self {
        ConnectionTarget::Identity(identity)
    }
}

impl ConnectionTarget {
    /// The namespace host.
    pub fn host(&self) -> &str {
        match self {
            ConnectionTarget::ConnectionString(cs) => &cs.host,
            ConnectionTarget::Identity(identity) => &identity.host,
        }
    }

    /// Whether the connection uses TLS (always, except for the development emulator).
    pub fn uses_tls(&self) -> bool {
        !self.use_development_emulator()
    }

    fn use_development_emulator(&self) -> bool {
        match self {
            ConnectionTarget::ConnectionString(cs) => cs.use_development_emulator,
            ConnectionTarget::Identity(identity) => identity.use_development_emulator,
        }
    }

    fn written_port(&self) -> Option<u16> {
        match self {
            ConnectionTarget::ConnectionString(cs) => cs.port,
            ConnectionTarget::Identity(identity) => identity.port,
        }
    }

    /// The TCP port to dial: the written one, else 5672 for the emulator and 5671 (AMQPS).
    pub fn port(&self) -> u16 {
        match self {
            ConnectionTarget::ConnectionString(cs) => cs.port(),
            ConnectionTarget::Identity(identity) => {
                identity
                    .port
                    .unwrap_or(if identity.use_development_emulator {
                        5672
                    } else {
                        5671
                    })
            }
        }
    }

    /// The token audience for an entity path: `sb://host[:port]/<path>` (the put-token
    /// `name`, for SAS and `jwt` tokens alike).
    pub fn audience(&self, path: &str) -> String {
        match self.written_port() {
            Some(port) => format!("sb://{}:{port}/{path}", self.host()),
            None => format!("sb://{}/{path}", self.host()),
        }
    }

    /// How the client authenticates, for logs: `shared access key`, `shared access
    /// signature` or the credential's name.
    pub fn auth_name(&self) -> &'static str {
        match self {
            ConnectionTarget::ConnectionString(cs) => match cs.credential {
                super::Credential::Key { .. } => "shared access key",
                super::Credential::Signature { .. } => "shared access signature",
            },
            ConnectionTarget::Identity(identity) => identity.credential.name(),
        }
    }
}

impl fmt::Display for ConnectionTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} ({})", self.host(), self.port(), self.auth_name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_parse_with_or_without_scheme_and_port() {
        let parse = IdentityConnection::parse_namespace;
        assert_eq!(
            parse("MyNs.servicebus.windows.net").unwrap(),
            ("myns.servicebus.windows.net".into(), None)
        );
        assert_eq!(
            parse("sb://myns.servicebus.windows.net/").unwrap(),
            ("myns.servicebus.windows.net".into(), None)
        );
        assert_eq!(
            parse("localhost:5672").unwrap(),
            ("localhost".into(), Some(5672))
        );
        for bad in ["https://x.net", "x.net/q", "", "x.net:0", "x y"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
