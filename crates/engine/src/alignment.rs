//! Watermark alignment (`watermark: {max-drift}`), as in Flink: a source partition of a
//! windowed service that is further ahead in event time than the slowest partition still
//! being read waits for it.
//!
//! Without it, one partition read faster than another (a faster worker, a partition with
//! fewer records per second of event time) opens windows the watermark cannot close yet:
//! they are held, and written at every epoch, until the slow partition catches up.
//!
//! Each worker publishes, per windowed service, the lowest event time among its partitions
//! that still have records to read (`i64::MAX` when none does; `i64::MIN` until it first
//! publishes, so that no partition runs ahead of a worker not started yet). A partition
//! waits while its own event time is more than `max-drift` above the lowest published. A
//! partition not read yet never waits, the slowest one never waits on itself, and one with
//! nothing left to read holds no one back, so reading always goes on somewhere.
//!
//! ```text
//!   max-drift 60 s      partition 0 ──────▶ 10:05   (waits: 10:05 > 10:02 + 60 s)
//!                       partition 1 ──▶ 10:02        (the slowest still reading)
//! ```

use std::sync::atomic::{AtomicI64, Ordering};

/// Per windowed service and worker: the lowest event time of the worker's partitions that
/// still have records to read.
#[derive(Debug, Default)]
pub(crate) struct Alignment {
    /// `service * workers + worker`.
    lows: Box<[AtomicI64]>,
    workers: usize,
}

impl Alignment {
    pub(crate) fn new(services: usize, workers: usize) -> Alignment {
        Alignment { lows: (0..services * workers).map(|_| AtomicI64::new(i64::MIN)).collect(), workers }
    }

    /// Publishes `worker`'s lowest event time of `service` among partitions still being read
    /// (`i64::MAX`: none).
    pub(crate) fn publish(&self, service: usize, worker: usize, low: i64) {
        if let Some(slot) = self.lows.get(service * self.workers + worker) {
            slot.store(low, Ordering::Relaxed);
        }
    }

    /// Whether a partition of `service` whose event time is `event_time` waits, with
    /// `max_drift` ms allowed.
    pub(crate) fn waits(&self, service: usize, event_time: i64, max_drift: i64) -> bool {
        let start = service * self.workers;
        let lowest = self.lows.get(start..start + self.workers).map_or(i64::MAX, |lows| {
            lows.iter().map(|low| low.load(Ordering::Relaxed)).min().unwrap_or(i64::MAX)
        });
        lowest != i64::MAX && event_time > lowest.saturating_add(max_drift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_waits_only_when_ahead_of_the_slowest_still_reading_by_more_than_the_drift() {
        let alignment = Alignment::new(2, 2);
        assert!(alignment.waits(0, 1_000_000, 10), "a worker that has not published holds the others");
        assert!(!alignment.waits(0, i64::MIN, 10), "a partition not read yet never waits");
        alignment.publish(0, 0, 100);
        alignment.publish(0, 1, 500);
        assert!(!alignment.waits(0, 110, 10));
        assert!(alignment.waits(0, 111, 10));
        alignment.publish(1, 0, i64::MAX);
        alignment.publish(1, 1, i64::MAX);
        assert!(!alignment.waits(1, 111, 10), "services are aligned on their own");
        alignment.publish(0, 0, i64::MAX);
        assert!(!alignment.waits(0, 510, 10), "a worker with nothing to read holds no one back");
        assert!(alignment.waits(0, 511, 10));
    }

    #[test]
    fn a_partition_not_read_yet_holds_the_others_and_extremes_do_not_overflow() {
        let alignment = Alignment::new(1, 1);
        alignment.publish(0, 0, i64::MIN);
        assert!(alignment.waits(0, 0, 1_000));
        assert!(!alignment.waits(0, i64::MIN, 1_000));
        alignment.publish(0, 0, i64::MAX - 1);
        assert!(!alignment.waits(0, i64::MAX, i64::MAX));
        assert!(!alignment.waits(7, 0, 0), "an unknown service waits for nothing");
    }
}
