//! Generator sources (`type: nexmark`): Nexmark events made on the fly, split into source
//! partitions that read like topic partitions.
//!
//! Partition `p` of `P` makes the events numbered `p, p + P, p + 2P, …` (below `events`, when
//! bounded). Its position, committed with every epoch like a topic offset, is how many events
//! it has made; since event `n` depends only on the generator's settings and `n`, a restart
//! makes exactly the events after the committed position again. A record's value is the
//! event as JSON (built directly, see `eddy_nexmark::Event::to_value`), it has no key, and
//! its timestamp is the event time. Dead letters name the source `nexmark:<id>` and give the
//! event number as offset.
//!
//! A committed position means "the first `n` events of partition `p` of `P`" only under the
//! same `partitions` and `generator` settings, so the first run records them (internal state
//! `~generator-settings`) and a later run with other ones is refused at start
//! (`Error::SourceChanged`; a new `id` starts the source over). `events` and `rate` may
//! change: a smaller `events` ends the partitions already past it.
//!
//! `rate` paces wall-clock emission: each partition makes `rate / P` events per second, its
//! `i`-th event of the run no earlier than `i × P / rate` seconds after the run started
//! ([`events_due`]); a restart starts pacing again from the resumed position.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_dataflow::NexmarkPlan;
use eddy_nexmark::Generator;

/// Events made by one partition per poll, at most: few enough that a worker notices an
/// epoch request within a few milliseconds.
pub(crate) const GENERATE_CHUNK: u64 = 256;

/// A generator source, shared by its partitions.
#[derive(Debug)]
pub(crate) struct GeneratorSpec {
    pub(crate) generator: Generator,
    pub(crate) events: Option<u64>,
    pub(crate) rate: Option<u64>,
    pub(crate) partitions: u32,
}

impl GeneratorSpec {
    pub(crate) fn new(plan: &NexmarkPlan) -> GeneratorSpec {
        GeneratorSpec {
            generator: Generator::new(plan.config.clone()),
            events: plan.events,
            rate: plan.rate,
            partitions: plan.partitions.max(1),
        }
    }
}

/// One partition of a generator source, as a worker reads it.
#[derive(Debug)]
pub(crate) struct GeneratorPartition {
    pub(crate) spec: Arc<GeneratorSpec>,
    pub(crate) partition: u32,
    /// How many events it makes in all (positions `0..end`).
    end: u64,
    /// When this run started reading it, and from which position: pacing counts from there.
    started: Instant,
    resumed: u64,
}

impl GeneratorPartition {
    pub(crate) fn new(spec: Arc<GeneratorSpec>, partition: u32, resumed: u64) -> Self {
        let end = partition_events(spec.events, partition, spec.partitions);
        GeneratorPartition { spec, partition, end, started: Instant::now(), resumed }
    }

    /// The position after its last event: reached only by a bounded source.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// The event number at `position` (below [`end`](Self::end), so it does not overflow).
    pub(crate) fn number(&self, position: u64) -> u64 {
        position * u64::from(self.spec.partitions) + u64::from(self.partition)
    }

    /// The positions `next..limit` to make now: at most [`GENERATE_CHUNK`], none past the
    /// end, and (with a rate) none before its time.
    pub(crate) fn due(&self, next: u64) -> u64 {
        self.due_after(next, self.started.elapsed())
    }

    /// [`due`](Self::due), `elapsed` after this run started reading the partition.
    fn due_after(&self, next: u64, elapsed: Duration) -> u64 {
        let mut limit = self.end.min(next.saturating_add(GENERATE_CHUNK));
        if let Some(rate) = self.spec.rate {
            let due = events_due(elapsed, rate, self.spec.partitions);
            limit = limit.min(self.resumed.saturating_add(due));
        }
        limit.max(next)
    }
}

/// How many events partition `partition` of `partitions` makes when the source makes
/// `events` in all (`None`: no end, as many as event numbers go).
pub(crate) fn partition_events(events: Option<u64>, partition: u32, partitions: u32) -> u64 {
    let partitions = u64::from(partitions.max(1));
    let events = events.unwrap_or(u64::MAX);
    events.saturating_sub(u64::from(partition)).div_ceil(partitions)
}

/// How many events one partition of a source paced at `rate` events per second over
/// `partitions` partitions may have made `elapsed` after it started: its events are due at
/// `0, P / rate, 2P / rate, …` seconds, so `⌊elapsed × rate / P⌋ + 1`.
pub(crate) fn events_due(elapsed: Duration, rate: u64, partitions: u32) -> u64 {
    let partitions = u128::from(partitions.max(1));
    let due = elapsed.as_nanos().saturating_mul(u128::from(rate)) / (partitions * 1_000_000_000);
    u64::try_from(due).unwrap_or(u64::MAX).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(events: Option<u64>, rate: Option<u64>, partitions: u32) -> Arc<GeneratorSpec> {
        Arc::new(GeneratorSpec::new(&NexmarkPlan {
            config: eddy_nexmark::Config::default(),
            events,
            rate,
            partitions,
        }))
    }

    #[test]
    fn partitions_split_the_event_numbers_between_them() {
        assert_eq!(partition_events(Some(10), 0, 3), 4); // 0 3 6 9
        assert_eq!(partition_events(Some(10), 1, 3), 3); // 1 4 7
        assert_eq!(partition_events(Some(10), 2, 3), 3); // 2 5 8
        assert_eq!(partition_events(Some(2), 2, 3), 0);
        assert_eq!(partition_events(Some(20_000), 1, 2), 10_000);
        assert_eq!(partition_events(None, 0, 1), u64::MAX);
        let partition = GeneratorPartition::new(spec(Some(10), None, 3), 1, 0);
        let numbers: Vec<u64> = (0..partition.end()).map(|position| partition.number(position)).collect();
        assert_eq!(numbers, [1, 4, 7]);
        let endless = GeneratorPartition::new(spec(None, None, 3), 2, 0);
        assert!(endless.number(endless.end() - 1) >= u64::MAX - 3);
    }

    #[test]
    fn an_unpaced_partition_makes_a_chunk_at_a_time_up_to_its_end() {
        let partition = GeneratorPartition::new(spec(Some(1000), None, 2), 0, 0);
        assert_eq!(partition.due(0), GENERATE_CHUNK);
        assert_eq!(partition.due(400), 500);
        assert_eq!(partition.due(500), 500);
    }

    #[test]
    fn pacing_lets_one_event_out_per_partition_and_interval() {
        let ms = Duration::from_millis;
        // 1,000 events/s over 1 partition: one event every ms, the first at once.
        assert_eq!(events_due(ms(0), 1000, 1), 1);
        assert_eq!(events_due(Duration::from_micros(999), 1000, 1), 1);
        assert_eq!(events_due(ms(1), 1000, 1), 2);
        assert_eq!(events_due(ms(1500), 1000, 1), 1501);
        // Over 4 partitions, each gets a quarter: one every 4 ms.
        assert_eq!(events_due(ms(3), 1000, 4), 1);
        assert_eq!(events_due(ms(4), 1000, 4), 2);
        assert_eq!(events_due(ms(1000), 1000, 4), 251);
        // One event per second: the next only after a whole second.
        assert_eq!(events_due(ms(999), 1, 1), 1);
        assert_eq!(events_due(ms(1000), 1, 1), 2);
        // Huge rates and long runs do not overflow.
        assert_eq!(events_due(Duration::from_secs(u64::MAX), u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn a_paced_partition_never_runs_ahead_of_its_schedule() {
        // Resumed at position 500: pacing starts again from there; within the first second
        // only the first event is due, then one more per second, up to a chunk at a time.
        let partition = GeneratorPartition::new(spec(None, Some(1), 1), 0, 500);
        let secs = Duration::from_secs;
        assert_eq!(partition.due_after(500, secs(0)), 501);
        assert_eq!(partition.due_after(501, Duration::from_millis(999)), 501, "nothing more is due yet");
        assert_eq!(partition.due_after(501, secs(1)), 502);
        assert_eq!(partition.due_after(501, secs(10)), 511);
        assert_eq!(partition.due_after(501, secs(10_000)), 501 + GENERATE_CHUNK);
        // A bounded paced source stops at its end however late it is.
        let bounded = GeneratorPartition::new(spec(Some(10), Some(1000), 2), 1, 0);
        assert_eq!(bounded.due_after(0, secs(60)), 5);
    }
}
