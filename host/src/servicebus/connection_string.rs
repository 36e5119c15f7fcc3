//! A Service Bus connection string: `Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…`.
//!
//! Keys are matched case-insensitively (`HostName` is accepted for `Endpoint`); a value may
//! contain `=` (base64 keys end with it). Unknown keys are ignored, as the official SDKs do.

use std::fmt;

/// How the client proves who it is to the broker.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A shared access rule: tokens are signed here and refreshed before they expire.
    Key {
        /// `SharedAccessKeyName`.
        name: String,
        /// `SharedAccessKey` (used as raw UTF-8 bytes for the HMAC).
        key: String,
    },
    /// A ready-made `SharedAccessSignature sr=…&sig=…&se=…&skn=…` token; it cannot be refreshed.
    Signature {
        /// The whole token.
        token: String,
        /// Its `se` (expiry), in seconds since the Unix epoch.
        expiry: u64,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Key { name, .. } => f
                .debug_struct("Key")
                .field("name", name)
                .field("key", &"<redacted>")
                .finish(),
            Credential::Signature { expiry, .. } => f
                .debug_struct("Signature")
                .field("token", &"<redacted>")
                .field("expiry", expiry)
                .finish(),
        }
    }
}

/// A parsed connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionString {
    /// The namespace host, e.g. `myns.servicebus.windows.net` or `localhost`.
    pub host: String,
    /// The port written in `Endpoint`, if any.
    pub port: Option<u16>,
    /// The credential.
    pub credential: Credential,
    /// `EntityPath`, if present.
    pub entity_path: Option<String>,
    /// `UseDevelopmentEmulator=true`: plain TCP (no TLS), port 5672 unless `Endpoint` says otherwise.
    pub use_development_emulator: bool,
}

/// Why a connection string was refused. The text never contains the key or the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionStringError {
    /// The n-th (from 1) `;`-separated part has no `=`.
    MissingEquals(usize),
    /// A key appears twice.
    Duplicate(String),
    /// A required key is absent.
    Missing(&'static str),
    /// `Endpoint` is not `sb://host[:port][/]`.
    BadEndpoint(String),
    /// `SharedAccessKeyName` without `SharedAccessKey`, or the other way round.
    IncompleteKey,
    /// Both a key and a `SharedAccessSignature`.
    KeyAndSignature,
    /// The `SharedAccessSignature` is not a valid token.
    BadSignature(String),
    /// `UseDevelopmentEmulator` is neither `true` nor `false`.
    BadEmulatorFlag(String),
}

impl fmt::Display for ConnectionStringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingEquals(n) => write!(
                f,
                "part {n} of the connection string (counting from 1, split at ';') is not of the form Key=Value"
            ),
            Self::Duplicate(key) => write!(f, "the connection string sets '{key}' twice"),
            Self::Missing(key) => write!(f, "the connection string has no '{key}'"),
            Self::BadEndpoint(why) => write!(
                f,
                "the connection string's Endpoint must look like sb://<namespace>.servicebus.windows.net/ ({why})"
            ),
            Self::IncompleteKey => f.write_str(
                "the connection string must set both SharedAccessKeyName and SharedAccessKey",
            ),
            Self::KeyAndSignature => f.write_str(
                "the connection string sets both SharedAccessKey and SharedAccessSignature; keep one",
            ),
            Self::BadSignature(why) => {
                write!(f, "the connection string's SharedAccessSignature is invalid: {why}")
            }
            Self::BadEmulatorFlag(value) => write!(
                f,
                "UseDevelopmentEmulator must be true or false, not '{value}'"
            ),
        }
    }
}

impl std::error::Error for ConnectionStringError {}

impl std::str::FromStr for ConnectionString {
    type Err = ConnectionStringError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ConnectionString::parse(text)
    }
}

#[derive(Default)]
struct Parts<'a> {
    endpoint: Option<&'a str>,
    key_name: Option<&'a str>,
    key: Option<&'a str>,
    signature: Option<&'a str>,
    entity_path: Option<&'a str>,
    emulator: Option<&'a str>,
}

impl ConnectionString {
    /// Parses a connection string.
    pub fn parse(text: &str) -> Result<Self, ConnectionStringError> {
        let parts = split(text)?;
        let endpoint = parts
            .endpoint
            .ok_or(ConnectionStringError::Missing("Endpoint"))?;
        let (host, port) = parse_endpoint(endpoint)?;
        let credential = match (parts.key_name, parts.key, parts.signature) {
            (Some(_), Some(_), Some(_)) | (None, Some(_), Some(_)) => {
                return Err(ConnectionStringError::KeyAndSignature)
            }
            (Some(name), Some(key), None) => Credential::Key {
                name: name.to_owned(),
                key: key.to_owned(),
            },
            (_, None, Some(token)) => {
                let parsed = berth_emulator::sas::parse(token)
                    .map_err(|e| ConnectionStringError::BadSignature(e.to_string()))?;
                Credential::Signature {
                    token: token.to_owned(),
                    expiry: parsed.expiry,
                }
            }
            (Some(_), None, None) | (None, Some(_), None) => {
                return Err(ConnectionStringError::IncompleteKey)
            }
            (None, None, None) => {
                return Err(ConnectionStringError::Missing(
                    "SharedAccessKeyName/SharedAccessKey or SharedAccessSignature",
                ))
            }
        };
        let use_development_emulator = match parts.emulator {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(ConnectionStringError::BadEmulatorFlag(v.to_owned())),
        };
        Ok(ConnectionString {
            host,
            port,
            credential,
            entity_path: parts
                .entity_path
                .map(|p| p.trim_matches('/').to_owned())
                .filter(|p| !p.is_empty()),
            use_development_emulator,
        })
    }

    /// Whether the connection uses TLS (always, except for the development emulator).
    pub fn uses_tls(&self) -> bool {
        !self.use_development_emulator
    }

    /// The TCP port to dial: the endpoint's, else 5672 for the emulator and 5671 (AMQPS).
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.use_development_emulator {
            5672
        } else {
            5671
        })
    }

    /// The token audience for an entity path: `sb://host[:port]/<path>`.
    pub fn audience(&self, path: &str) -> String {
        match self.port {
            Some(port) => format!("sb://{}:{port}/{path}", self.host),
            None => format!("sb://{}/{path}", self.host),
        }
    }
}

fn split(text: &str) -> Result<Parts<'_>, ConnectionStringError> {
    let mut parts = Parts::default();
    for (n, part) in text.split(';').map(str::trim).enumerate() {
        if part.is_empty() {
            continue;
        }
        // The part itself is not quoted in the error: it may be a mistyped secret.
        let (key, value) = part
            .split_once('=')
            .ok_or(ConnectionStringError::MissingEquals(n + 1))?;
        let key = key.trim();
        let value = value.trim();
        let slot = match key.to_ascii_lowercase().as_str() {
            "endpoint" | "hostname" => &mut parts.endpoint,
            "sharedaccesskeyname" => &mut parts.key_name,
            "sharedaccesskey" => &mut parts.key,
            "sharedaccesssignature" => &mut parts.signature,
            "entitypath" => &mut parts.entity_path,
            "usedevelopmentemulator" => &mut parts.emulator,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(ConnectionStringError::Duplicate(key.to_owned()));
        }
    }
    Ok(parts)
}

fn parse_endpoint(endpoint: &str) -> Result<(String, Option<u16>), ConnectionStringError> {
    let bad = |why: &str| ConnectionStringError::BadEndpoint(why.to_owned());
    let rest = match endpoint.split_once("://") {
        Some((scheme, rest)) => {
            if !["sb", "amqps", "amqp"].contains(&scheme.to_ascii_lowercase().as_str()) {
                return Err(bad(&format!("unknown scheme '{scheme}'")));
            }
            rest
        }
        None => endpoint,
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) =
        split_port(authority).map_err(|port| bad(&format!("'{port}' is not a port number")))?;
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if !is_host_name(host) {
        return Err(bad(&format!("'{host}' is not a host name")));
    }
    Ok((host.to_ascii_lowercase(), port))
}

/// Splits `host[:port]`; `Err` holds a port that is not a number from 1 to 65535.
pub(crate) fn split_port(authority: &str) -> Result<(&str, Option<u16>), &str> {
    match authority.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(p) if p != 0 => Ok((host, Some(p))),
            _ => Err(port),
        },
        None => Ok((authority, None)),
    }
}

/// Whether `host` is made of the characters a DNS host name (or IPv4 address) may use.
pub(crate) fn is_host_name(host: &str) -> bool {
    host.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

#[cfg(test)]
#[path = "connection_string_tests.rs"]
mod tests;
