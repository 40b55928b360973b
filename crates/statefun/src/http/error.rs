//! [`CallError`]: why a call to a remote function failed, and whether it is worth retrying.

use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The endpoint answered with a status other than 2xx.
    #[error("the function endpoint {url} answered HTTP {status}")]
    Status {
        /// The URL called.
        url: String,
        /// The status code.
        status: u16,
    },
    /// No TCP connection could be made, or it broke.
    #[error("could not reach the function endpoint {url}: {reason}")]
    Connection {
        /// The URL called.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The socket stalled longer than the read or write timeout.
    #[error("the function endpoint {url} stalled: {reason}")]
    Stalled {
        /// The URL called.
        url: String,
        /// Which timeout fired.
        reason: String,
    },
    /// The call did not succeed within the call timeout; `last` is the last attempt's error.
    #[error("the call to {url} did not succeed within {timeout:?} ({attempts} attempts); last error: {last}")]
    TimedOut {
        /// The URL called.
        url: String,
        /// The call timeout.
        timeout: Duration,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error (`None` when the deadline passed before any reply).
        last: Box<CallError>,
    },
    /// The 2xx body is not a `FromFunction` message.
    #[error("the function endpoint {url} replied with bytes that are not a FromFunction message: {reason}")]
    Garbage {
        /// The URL called.
        url: String,
        /// What the decoder said.
        reason: String,
    },
    /// The body is larger than allowed.
    #[error("the function endpoint {url} replied with more than {limit} bytes")]
    TooLarge {
        /// The URL called.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The request cannot be sent at all (a bad URL, no endpoint serves the function).
    #[error("cannot call the function: {0}")]
    Unroutable(String),
}

impl CallError {
    /// The kind of failure, as metrics label it: one of [`FAILURE_KINDS`](super::FAILURE_KINDS).
    pub fn kind(&self) -> &'static str {
        super::stats::FAILURE_KINDS[self.kind_index()]
    }

    pub(super) fn kind_index(&self) -> usize {
        match self {
            CallError::Status { .. } => 0,
            CallError::Connection { .. } => 1,
            CallError::Stalled { .. } => 2,
            CallError::TimedOut { .. } => 3,
            CallError::Garbage { .. } => 4,
            CallError::TooLarge { .. } => 5,
            CallError::Unroutable(_) => 6,
        }
    }

    /// Whether Statefun retries this failure: connection and I/O errors, stalls, and the
    /// statuses 408, 409, 420, 429, 499 and 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            CallError::Status { status, .. } => matches!(status, 408 | 409 | 420 | 429 | 499 | 500..),
            CallError::Connection { .. } | CallError::Stalled { .. } => true,
            CallError::TimedOut { .. }
            | CallError::Garbage { .. }
            | CallError::TooLarge { .. }
            | CallError::Unroutable(_) => false,
        }
    }
}
