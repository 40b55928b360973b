//! [`ClientOptions`]: how a [`super::FunctionClient`] talks to its endpoint.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The timeouts of calls to an endpoint (`transport.timeouts` in a module file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// A whole call, retries included. Default 1 minute.
    pub call: Duration,
    /// One TCP connect. Default 10 seconds.
    pub connect: Duration,
    /// The longest wait for the next bytes of a response. Default 10 seconds.
    pub read: Duration,
    /// The longest wait for the socket to take the next bytes of a request. Default 10 seconds.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            call: Duration::from_secs(60),
            connect: Duration::from_secs(10),
            read: Duration::from_secs(10),
            write: Duration::from_secs(10),
        }
    }
}

/// The HTTP version spoken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    /// HTTP/1.1 with keep-alive. The default.
    #[default]
    Http1,
    /// HTTP/2 over plain TCP without upgrade (prior knowledge, `h2c`): one connection carries
    /// every concurrent request.
    H2c,
}

/// The options of one endpoint's client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientOptions {
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The HTTP version. Default HTTP/1.1.
    pub protocol: Protocol,
    /// The most requests in flight to the endpoint at once. Default 256.
    pub max_concurrent_requests: usize,
    /// The largest response body accepted. Default 32 MiB (Statefun's `payload_max_bytes`).
    pub max_response_bytes: usize,
    /// How long an idle pooled connection is kept. Default 60 seconds (`pool_ttl`).
    pub pool_idle_timeout: Duration,
    /// The most idle connections kept. Default 1024 (`pool_size`).
    pub pool_max_idle: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::default(),
            protocol: Protocol::Http1,
            max_concurrent_requests: 256,
            max_response_bytes: 32 * 1024 * 1024,
            pool_idle_timeout: Duration::from_secs(60),
            pool_max_idle: 1024,
        }
    }
}
