//! The HTTP client for remote functions: one [`FunctionClient`] per endpoint.
//!
//! - HTTP/1.1, or HTTP/2 with prior knowledge (`h2c`) where the endpoint is configured so;
//!   plain `http://` only (TLS endpoints are refused when the module is loaded).
//! - A pool of keep-alive connections per endpoint, and at most
//!   [`ClientOptions::max_concurrent_requests`] requests on the wire at once.
//! - Timeouts as Statefun defines them ([`Timeouts`]): `call` bounds a whole call, retries
//!   included; `connect` one TCP connect; `read` and `write` the longest wait for the socket
//!   to deliver or take a byte.
//! - Retries with exponential backoff (10 ms, doubling, at most 1 s, never past the call
//!   deadline) on connection and I/O errors, per-attempt timeouts, and the statuses 408, 409,
//!   420, 429, 499 and 5xx; any other non-2xx status fails at once.

mod client;
mod error;
mod options;
mod retry;
mod stats;
mod timeout_io;

pub use client::{FunctionClient, parse_url};
pub use error::CallError;
pub use options::{ClientOptions, Protocol, Timeouts};
pub use stats::{CallStats, FAILURE_KINDS};
