//! What one admin API listener allows a client: how many connections at once, and how long a
//! request may take to arrive. A peer that opens sockets and sends nothing, or sends a request
//! a byte at a time, cannot hold the listener's connections or tasks without bound.

use std::time::Duration;

/// The admin API's limits. The defaults suit a development broker on a shared network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminLimits {
    /// Most HTTP connections served at once; the next one gets `503 Service Unavailable`
    /// and is closed.
    pub max_connections: usize,
    /// How long a request's head, and then its body, may take to arrive; a connection that
    /// is slower (or silent, between requests too) is closed.
    pub request_timeout: Duration,
}

impl Default for AdminLimits {
    fn default() -> Self {
        AdminLimits {
            max_connections: 256,
            request_timeout: Duration::from_secs(30),
        }
    }
}
