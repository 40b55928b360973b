//! [`CallStats`]: what one endpoint's client has seen, counted for metrics: calls, and
//! failures by [`CallError::kind`], of single attempts (retried or not) and of whole calls.

use std::sync::atomic::{AtomicU64, Ordering};

use super::error::CallError;

/// The kinds of failure, as [`CallError::kind`] names them.
pub const FAILURE_KINDS: [&str; 7] =
    ["http-status", "connection", "stalled", "timed-out", "garbage", "too-large", "unroutable"];

/// Counters of one client, shared by its clones. Relaxed atomics: each is read on its own.
#[derive(Debug, Default)]
pub struct CallStats {
    calls: AtomicU64,
    failed_attempts: [AtomicU64; FAILURE_KINDS.len()],
    failed_calls: [AtomicU64; FAILURE_KINDS.len()],
}

impl CallStats {
    /// Calls made (each may take several attempts).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Failed attempts by kind, every kind listed: those retried and those that ended a call.
    pub fn failed_attempts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        FAILURE_KINDS
            .iter()
            .zip(&self.failed_attempts)
            .map(|(kind, count)| (*kind, count.load(Ordering::Relaxed)))
    }

    /// Calls that failed for good (not retried, or out of time), by the kind of their error.
    pub fn failed_calls(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        FAILURE_KINDS
            .iter()
            .zip(&self.failed_calls)
            .map(|(kind, count)| (*kind, count.load(Ordering::Relaxed)))
    }

    pub(super) fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn attempt_failed(&self, error: &CallError) {
        self.failed_attempts[error.kind_index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn call_failed(&self, error: &CallError) {
        self.failed_calls[error.kind_index()].fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_by_kind() {
        let stats = CallStats::default();
        stats.call();
        let status = CallError::Status { url: "http://x".into(), status: 503 };
        stats.attempt_failed(&status);
        stats.attempt_failed(&status);
        let garbage = CallError::Garbage { url: "http://x".into(), reason: "bad wire type".into() };
        stats.attempt_failed(&garbage);
        stats.call_failed(&garbage);
        let attempts: Vec<_> = stats.failed_attempts().filter(|(_, n)| *n > 0).collect();
        assert_eq!(attempts, [("http-status", 2), ("garbage", 1)]);
        let calls: Vec<_> = stats.failed_calls().filter(|(_, n)| *n > 0).collect();
        assert_eq!(calls, [("garbage", 1)]);
        assert_eq!(stats.calls(), 1);
        assert_eq!(garbage.kind(), "garbage");
    }
}
