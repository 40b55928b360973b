//! The backoff between attempts: exponential from 10 ms, capped, never past the deadline.

use std::time::Duration;

use tokio::time::Instant;

/// The first wait after a failed attempt.
pub(super) const INITIAL_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait between attempts.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The waits between attempts of one call.
pub(super) struct Backoff {
    next: Duration,
    deadline: Instant,
}

impl Backoff {
    pub(super) fn until(deadline: Instant) -> Self {
        Self { next: INITIAL_BACKOFF, deadline }
    }

    /// How long to wait before the next attempt, or `None` when waiting would pass the deadline.
    pub(super) fn next_wait(&mut self, now: Instant) -> Option<Duration> {
        let wait = self.next;
        if now + wait >= self.deadline {
            return None;
        }
        self.next = (self.next * 2).min(MAX_BACKOFF);
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_stop_at_the_deadline() {
        let start = Instant::now();
        let mut backoff = Backoff::until(start + Duration::from_secs(3));
        let waits: Vec<u64> =
            std::iter::from_fn(|| backoff.next_wait(start)).take(10).map(|w| w.as_millis() as u64).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        let mut late = Backoff::until(start + Duration::from_millis(5));
        assert_eq!(late.next_wait(start), None);
    }
}
