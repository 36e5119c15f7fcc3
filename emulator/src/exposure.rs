//! Refusing an open broker on a network: with no SAS rule (or with development JWTs, which
//! anyone can mint), anyone who reaches the broker may send, receive and delete messages, and
//! through the admin API create and delete entities. That is fine on loopback (a laptop, a
//! test) and dangerous anywhere else, so binding such a broker to a non-loopback address is
//! refused unless the embedder opts in ([`crate::broker::BrokerBuilder::allow_anonymous`]),
//! and then it is logged as a warning at start.

use std::fmt;
use std::net::SocketAddr;

/// Why a listener was not started: it would be open to the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureError {
    /// What would listen (`AMQP`, `AMQP over TLS`, `admin API`).
    pub listener: &'static str,
    /// The non-loopback address asked for.
    pub address: SocketAddr,
    /// Why it would be open.
    pub reason: &'static str,
}

impl fmt::Display for ExposureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing to serve the {} on {}, which is not a loopback address, {}: anyone who can \
             reach it could send, receive and delete messages and entities. Add a SAS rule \
             (`host emulator --sas-rule NAME=KEY`, `[[emulator.sas_rules]]` in host.toml, \
             `BrokerBuilder::sas_rule`), listen on 127.0.0.1, or accept the risk explicitly with \
             `--allow-anonymous` (`allow_anonymous = true` under [emulator] in host.toml, \
             `BrokerBuilder::allow_anonymous(true)`)",
            self.listener, self.address, self.reason
        )
    }
}

impl std::error::Error for ExposureError {}

/// Checks one listener before it binds. `open` says why it accepts anyone (`None`: it does
/// not); with `allow_anonymous` an open non-loopback listener is allowed, and the answer is
/// `Ok(Some(reason))`: call [`warn_open`] once it listens.
pub fn check(
    listener: &'static str,
    address: SocketAddr,
    open: Option<&'static str>,
    allow_anonymous: bool,
) -> Result<Option<&'static str>, ExposureError> {
    let Some(reason) = open else { return Ok(None) };
    if address.ip().is_loopback() {
        return Ok(None);
    }
    if !allow_anonymous {
        return Err(ExposureError {
            listener,
            address,
            reason,
        });
    }
    Ok(Some(reason))
}

/// The loud warning for an open listener on a network address (allowed explicitly).
pub fn warn_open(listener: &'static str, address: SocketAddr, reason: &'static str) {
    tracing::warn!(
        listener,
        %address,
        "ANONYMOUS ACCESS on {address} ({listener}, {reason}; allowed by allow_anonymous): \
         anyone who can reach it can send, receive, peek and delete messages, and use the admin \
         API to create and delete entities"
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn open_listeners_are_refused_off_loopback_unless_allowed() {
        let any: SocketAddr = "0.0.0.0:5672".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:5672".parse().unwrap();
        let local6: SocketAddr = "[::1]:5672".parse().unwrap();
        let open = Some("without SAS rules");
        assert_eq!(check("AMQP", local, open, false), Ok(None));
        assert_eq!(check("AMQP", local6, open, false), Ok(None));
        assert_eq!(check("AMQP", any, None, false), Ok(None));
        assert_eq!(check("AMQP", any, open, true), Ok(open));
        let err = check("admin API", any, open, false).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("admin API on 0.0.0.0:5672"), "{text}");
        assert!(text.contains("--sas-rule NAME=KEY") && text.contains("--allow-anonymous"));
    }
}
