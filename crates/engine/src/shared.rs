//! What the workers and the committer share: the epoch being asked for, the stop and
//! failure flags, the gate every worker passes at the end of an epoch, the progress the
//! committer publishes for metrics, and the sink record blocks the committer emptied, which
//! the workers fill again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::Error;
use crate::Options;
use crate::alignment::Alignment;
use crate::committer::RunSummary;
use crate::sink_records::Blocks;
use crate::worker::RecordBatches;

#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The epoch the committer asks the workers to close; workers close each in turn.
    pub(crate) requested_epoch: AtomicU64,
    /// Set (before the last epoch is requested) when the workers exit after that epoch.
    pub(crate) stopping: AtomicBool,
    /// Set by `Handle::shutdown` (Ctrl-C): the committer closes one last epoch and stops.
    pub(crate) shutdown: AtomicBool,
    /// The run stops once idle: workers tell the committer when they are drained.
    pub(crate) until_idle: bool,
    /// Where each worker's partitions stand in event time, for `max-drift`.
    pub(crate) alignment: Alignment,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
    gate: Mutex<Gate>,
    gate_opened: Condvar,
    /// What the run has committed so far, published by the committer after each epoch.
    progress: Mutex<RunSummary>,
    /// Sink record blocks of committed epochs, emptied, for the workers to fill again.
    pub(crate) sink_blocks: Blocks,
    /// Batches of records sent between workers, emptied by the receiver, for the senders
    /// to fill again.
    pub(crate) record_batches: RecordBatches,
    /// When the run started: how long a restart took to its first records is measured
    /// from here.
    pub(crate) started: Started,
    /// The keys of keyed state each worker keeps in memory per service.
    pub(crate) state_cache_keys: usize,
}

/// The moment a run started; `Default` is now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Started(pub(crate) Instant);

impl Default for Started {
    fn default() -> Started {
        Started(Instant::now())
    }
}

#[derive(Debug, Default)]
struct Gate {
    arrived: usize,
    generation: u64,
}

impl Shared {
    /// The state of a run of `services` on `workers` with `options`, started at `started`,
    /// that stops once idle (`until_idle`) or when told.
    pub(crate) fn new(options: &Options, services: usize, workers: usize, started: Instant) -> Shared {
        Shared {
            until_idle: options.until_idle,
            alignment: Alignment::new(services, workers),
            started: Started(started),
            state_cache_keys: options.state_cache_keys.max(1),
            ..Shared::default()
        }
    }

    /// Publishes what the run has committed so far.
    pub(crate) fn publish_progress(&self, summary: RunSummary) {
        *lock(&self.progress) = summary;
    }

    /// What the run had committed at the last epoch.
    pub(crate) fn progress(&self) -> RunSummary {
        *lock(&self.progress)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Records the first failure; every thread sees `failed()` and stops.
    pub(crate) fn fail(&self, error: &Error) {
        let mut failure = lock(&self.failure);
        if failure.is_none() {
            *failure = Some(error.to_string());
        }
        self.failed.store(true, Ordering::Release);
        self.gate_opened.notify_all();
    }

    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// Waits until all `workers` have arrived. No worker starts reading its sources for
    /// the next epoch before every worker has taken its snapshot of this one, so no record
    /// of the next epoch reaches a task that is still closing this one.
    ///
    /// # Errors
    /// [`Error::Stopped`] if another thread failed meanwhile.
    pub(crate) fn pass_gate(&self, workers: usize) -> Result<(), Error> {
        let mut gate = lock(&self.gate);
        gate.arrived += 1;
        if gate.arrived == workers {
            gate.arrived = 0;
            gate.generation += 1;
            self.gate_opened.notify_all();
            return Ok(());
        }
        let generation = gate.generation;
        while gate.generation == generation {
            if self.failed() {
                return Err(Error::Stopped);
            }
            gate = self
                .gate_opened
                .wait_timeout(gate, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Ok(())
    }
}
