//! The committer: the one thread that closes epochs and the only writer of the log while
//! a dataflow runs.
//!
//! Every `commit-interval` it asks the workers to close the next epoch, gathers their
//! snapshots and commits them in two phases:
//!
//! ```text
//!  1. write every sink record of the epoch, a batch at a time, and `flush` each touched
//!     partition (written and fsynced, still invisible to readers)
//!  2. one atomic, synced state-store batch: epoch number, state changes, source
//!     positions (topic offsets; events made, for generator partitions), and the end of every touched sink partition
//!  3. `publish_to(end)`: readers see the epoch's records
//! ```
//!
//! A crash before 2 leaves flushed records past the recorded ends; a restart truncates
//! them (see `recovery`) and replays the epoch from the recorded source positions. A crash
//! after 2 loses nothing: 3 happens again on restart, because recovery keeps what the
//! store recorded. Records produced from outside while the dataflow runs (`Handle::produce`)
//! also go through this thread, so the log never holds an outside record between an
//! epoch's flushed records and their publication.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use eddy_log::{Log, Partition};
use eddy_state::{CommitBatch, StateStore};
use eddy_types::{Offset, Record};

use crate::shared::Shared;
use crate::topology::Topology;
use crate::worker::Snapshot;
use crate::{Error, Result};

/// Records appended as one batch, at most.
const APPEND_CHUNK: usize = 4096;

/// Requests to the committer.
#[derive(Debug)]
pub(crate) enum ToCommitter {
    /// A worker's part of the epoch being closed.
    Snapshot(Box<Snapshot>),
    /// Records from outside, to append and make durable and visible now.
    Produce { topic: String, partition: u32, records: Vec<Record>, reply: SyncSender<Result<Range<Offset>>> },
    /// With `--until-idle`: a worker has read everything its sources hold and has nothing
    /// else to do in `epoch` (the one not yet requested), so the epoch need not wait for
    /// its interval to end.
    Drained { epoch: u64 },
}

/// What a run did, for the summary `eddy run` prints.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunSummary {
    /// Epochs committed.
    pub epochs: u64,
    /// Records read from sources.
    pub records_read: u64,
    /// Records written to sink topics (dead letters not included).
    pub records_written: u64,
    /// Records sent to the dead-letter topic.
    pub dead_letters: u64,
    /// Wall time from start to the last commit.
    pub elapsed: Duration,
    /// Time the workers spent closing epochs (aligning, snapshotting, waiting for each
    /// other), summed over workers: `closing / (elapsed * workers)` is the share of
    /// processing time that epochs cost.
    pub closing: Duration,
}

pub(crate) struct Committer {
    pub(crate) topology: Arc<Topology>,
    pub(crate) log: Arc<Log>,
    pub(crate) store: Arc<StateStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) inbox: Receiver<ToCommitter>,
    pub(crate) workers: usize,
    pub(crate) interval: Duration,
    pub(crate) until_idle: bool,
    /// With [`until_idle`](Self::until_idle), how long an epoch runs at least before every
    /// worker being drained closes it early: the longest `idleness` of the dataflow's
    /// windows, so that idle partitions have let their watermarks go.
    pub(crate) settle: Duration,
    /// The epoch the workers close; counts from 0 in every run.
    pub(crate) epoch: u64,
    /// The number of the last store commit (epochs and produce requests alike); the store
    /// requires it to grow with every commit.
    pub(crate) commit_number: u64,
    pub(crate) summary: RunSummary,
}

/// The outcome of one epoch's commit.
struct Committed {
    read: u64,
    caught_up: bool,
}

impl Committer {
    pub(crate) fn run(mut self) -> Result<RunSummary> {
        let started = Instant::now();
        let result = self.run_epochs();
        self.summary.elapsed = started.elapsed();
        if let Err(error) = &result {
            self.shared.fail(error);
        }
        result.map(|()| self.summary)
    }

    fn run_epochs(&mut self) -> Result<()> {
        let mut idle = false;
        loop {
            let started = Instant::now();
            // Workers with nothing left to read, of the epoch about to be requested.
            let mut drained = 0;
            // Serve produce requests until the epoch is due.
            while !idle && !self.shared.shutdown.load(Ordering::Acquire) {
                let left = self.interval.saturating_sub(started.elapsed());
                if left.is_zero() {
                    break;
                }
                // Once every source is drained, whether anything is left to do is found
                // out at once, not at the end of the interval.
                let settled = self.settle.saturating_sub(started.elapsed());
                if self.until_idle && drained == self.workers && settled.is_zero() {
                    break;
                }
                let wait = if drained == self.workers { settled.min(left) } else { left };
                match self.inbox.recv_timeout(wait.min(Duration::from_millis(50))) {
                    Ok(ToCommitter::Produce { topic, partition, records, reply }) => {
                        let _ = reply.send(self.produce(&topic, partition, &records));
                    }
                    Ok(ToCommitter::Drained { epoch }) => drained += usize::from(epoch == self.epoch + 1),
                    Ok(ToCommitter::Snapshot(_)) => {
                        return Err(Error::Internal("a snapshot nobody asked for".into()));
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return Err(Error::Stopped),
                }
                if self.shared.failed() {
                    return Err(Error::Stopped);
                }
            }
            let last = idle || self.shared.shutdown.load(Ordering::Acquire);
            if last {
                self.shared.stopping.store(true, Ordering::Release);
            }
            self.epoch += 1;
            self.shared.requested_epoch.store(self.epoch, Ordering::Release);
            let snapshots = self.gather()?;
            let committed = self.commit(snapshots)?;
            if last {
                // A clean stop leaves no journal to replay: the next start is quick.
                self.store.flush_journal()?;
                return Ok(());
            }
            idle = self.until_idle && committed.read == 0 && committed.caught_up;
        }
    }

    fn gather(&mut self) -> Result<Vec<Snapshot>> {
        let mut snapshots = Vec::with_capacity(self.workers);
        while snapshots.len() < self.workers {
            match self.inbox.recv_timeout(Duration::from_millis(50)) {
                Ok(ToCommitter::Snapshot(snapshot)) => {
                    if snapshot.epoch != self.epoch {
                        return Err(Error::Internal(format!(
                            "snapshot of epoch {} while closing epoch {}",
                            snapshot.epoch, self.epoch
                        )));
                    }
                    snapshots.push(*snapshot);
                }
                Ok(ToCommitter::Produce { topic, partition, records, reply }) => {
                    let _ = reply.send(self.produce(&topic, partition, &records));
                }
                // Of the epoch being closed: it is requested already.
                Ok(ToCommitter::Drained { .. }) => {}
                Err(RecvTimeoutError::Timeout) => {
                    if self.shared.failed() {
                        return Err(Error::Stopped);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Err(Error::Stopped),
            }
        }
        Ok(snapshots)
    }

    fn commit(&mut self, mut snapshots: Vec<Snapshot>) -> Result<Committed> {
        let topology = Arc::clone(&self.topology);
        let mut batch = CommitBatch::new(self.commit_number + 1);
        let mut touched: Vec<(Arc<Partition>, Offset)> = Vec::new();
        for &topic_index in &topology.sinks {
            let info = topology.topic(topic_index);
            for partition_id in 0..info.partitions {
                let mut partition = None;
                for snapshot in &mut snapshots {
                    let records =
                        std::mem::take(&mut snapshot.sinks[topic_index as usize][partition_id as usize]);
                    if records.is_empty() {
                        continue;
                    }
                    if topic_index != topology.dead_letter {
                        self.summary.records_written += records.len() as u64;
                    }
                    let p = match &partition {
                        Some(p) => p,
                        None => partition.insert(info.topic.partition(partition_id)?),
                    };
                    // Written a block (one batch) at a time: the partition's write buffer
                    // stays one batch large instead of growing to the epoch's size.
                    for block in records.into_blocks() {
                        p.write(block.iter().map(Record::as_ref))?;
                        self.shared.sink_blocks.give_back(block);
                    }
                }
                if let Some(p) = partition {
                    let end = p.flush()?;
                    batch.set_sink_end(info.name.as_str(), partition_id, end);
                    touched.push((p, end));
                }
            }
        }
        let mut read = 0;
        let mut caught_up = true;
        for snapshot in &snapshots {
            read += snapshot.read;
            caught_up &= snapshot.caught_up;
            self.summary.dead_letters += snapshot.dead_letters;
            self.summary.closing += snapshot.closing;
            for (service, key, value) in &snapshot.states {
                let service = &topology.services[*service as usize];
                if let Some(state) = service.state_name() {
                    batch.put_state(&service.name, state, key, value);
                }
            }
            for (service, key) in &snapshot.deletes {
                let service = &topology.services[*service as usize];
                if let Some(state) = service.state_name() {
                    batch.delete_state(&service.name, state, key);
                }
            }
            for &(service, source, partition, next) in &snapshot.sources {
                let service = &topology.services[service as usize];
                let source = &service.sources[source as usize];
                batch.set_source_offset(&service.name, &source.name, partition, next);
            }
        }
        self.store.commit(batch)?;
        self.commit_number += 1;
        for (partition, end) in touched {
            partition.publish_to(end);
        }
        if read > 0 && self.summary.records_read == 0 {
            let after = self.shared.started.0.elapsed();
            tracing::info!(?after, "the first records read in this run are committed");
        }
        self.summary.epochs += 1;
        self.summary.records_read += read;
        self.shared.publish_progress(self.summary);
        Ok(Committed { read, caught_up })
    }

    /// Appends records from outside and makes them durable and visible. A partition the
    /// dataflow writes also gets its new end recorded in the store first, so a restart does
    /// not take the records back.
    fn produce(&mut self, topic: &str, partition: u32, records: &[Record]) -> Result<Range<Offset>> {
        let p = self.log.topic(topic)?.partition(partition)?;
        let start = p.committed_end();
        for chunk in records.chunks(APPEND_CHUNK) {
            p.append(chunk.iter().map(Record::as_ref))?;
        }
        let end = p.flush()?;
        let is_sink = self.topology.sinks.iter().any(|&t| self.topology.topic(t).name.as_str() == topic);
        if is_sink {
            let mut batch = CommitBatch::new(self.commit_number + 1);
            batch.set_sink_end(topic, partition, end);
            self.store.commit(batch)?;
            self.commit_number += 1;
        }
        p.publish_to(end);
        Ok(start..end)
    }
}
